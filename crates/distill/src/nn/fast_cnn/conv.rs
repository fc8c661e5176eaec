//! Convolutions on channels-last samples: im2col + one `gemm` per group of samples for the
//! forward pass and both gradients (col2im folds the input gradient back), and the
//! depthwise convolution written out directly (a few MACs per value, no product to batch).
//!
//! Layouts: activations `[H, W, C]` per sample; a conv's weights packed `[O, KH·KW·C]`
//! (column `(ky·KW + kx)·C + c`, the order of an unfolded row), a depthwise conv's
//! `[KH·KW, C]`. [`pack`] and [`unpack`] convert from and to PyTorch's OIHW.
use super::Geom;
use crate::nn::fast_mlp::gemm::{View, product};

/// The kernel columns `lo..hi` of a window starting at column `x0` that fall inside a row of
/// `w` positions.
fn taps(x0: isize, k: usize, w: usize) -> (usize, usize) {
    let lo = (-x0).clamp(0, k as isize) as usize;
    let hi = (w as isize - x0).clamp(0, k as isize) as usize;
    (lo, hi.max(lo))
}

/// Visits every window row of one sample: `f(out_pixel, ky, lo, hi, src)` where the kernel
/// columns `lo..hi` of row `ky` read the input run starting at `src` (values `(hi − lo)·C`);
/// `None` when that kernel row lies outside the image.
fn windows(g: &Geom, mut f: impl FnMut(usize, usize, usize, usize, Option<usize>)) {
    for oy in 0..g.oh {
        for ox in 0..g.ow {
            let x0 = (ox * g.stride) as isize - g.pw as isize;
            let (lo, hi) = taps(x0, g.kw, g.w);
            for ky in 0..g.kh {
                let iy = (oy * g.stride + ky) as isize - g.ph as isize;
                let src = (iy >= 0 && (iy as usize) < g.h && lo < hi)
                    .then(|| (iy as usize * g.w + (x0 + lo as isize) as usize) * g.c);
                f(oy * g.ow + ox, ky, lo, hi, src);
            }
        }
    }
}

/// `x` (one sample) unfolded into `cols` (`[OH·OW, KH·KW·C + 1]`), zeros outside the image;
/// the last column is all ones, so that the bias rides in the products (its forward add and
/// its gradient's sum over rows cost a pass each over the output otherwise). Windows inside
/// the image (all but a border) copy one run of KW·C values per kernel row.
pub(super) fn im2col(g: &Geom, x: &[f32], cols: &mut [f32]) {
    let (c, kw, run) = (g.c, g.kw, g.kw * g.c);
    let row = width(g);
    for oy in 0..g.oh {
        for ky in 0..g.kh {
            let iy = (oy * g.stride + ky) as isize - g.ph as isize;
            let inside = iy >= 0 && (iy as usize) < g.h;
            for ox in 0..g.ow {
                let dst = &mut cols[(oy * g.ow + ox) * row + ky * run..][..run];
                let x0 = (ox * g.stride) as isize - g.pw as isize;
                let (lo, hi) = taps(x0, kw, g.w);
                if !inside || lo == hi {
                    dst.fill(0.0);
                    continue;
                }
                let src = ((iy as usize * g.w) as isize + x0 + lo as isize) as usize * c;
                let src = &x[src..src + (hi - lo) * c];
                if lo == 0 && hi == kw {
                    copy(dst, src);
                } else {
                    dst[..lo * c].fill(0.0);
                    dst[hi * c..].fill(0.0);
                    copy(&mut dst[lo * c..hi * c], src);
                }
            }
        }
    }
    for ones in cols[row - 1..g.oh * g.ow * row].iter_mut().step_by(row) {
        *ones = 1.0;
    }
}

/// `dst = src`. Short runs (a 1-channel image's kernel row: 3 values) are fixed-size moves:
/// a slice copy of variable length is a `memcpy` call, costlier than those few values.
#[inline(always)]
fn copy(dst: &mut [f32], src: &[f32]) {
    macro_rules! fixed {
        ($($n:literal)*) => {
            match dst.len() {
                $($n => {
                    let d: &mut [f32; $n] = dst.try_into().expect("length matched");
                    *d = src.try_into().expect("same length");
                })*
                _ => dst.copy_from_slice(src),
            }
        };
    }
    fixed!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16);
}

/// The adjoint of [`im2col`]: `dx` (one sample) = each column entry summed back onto the
/// position it was read from.
pub(super) fn col2im(g: &Geom, cols: &[f32], dx: &mut [f32]) {
    let (c, kw) = (g.c, g.kw);
    let row = g.kh * kw * c;
    dx.fill(0.0);
    windows(g, |p, ky, lo, hi, src| {
        if let Some(src) = src {
            let from = &cols[p * row + (ky * kw + lo) * c..][..(hi - lo) * c];
            let to = &mut dx[src..src + (hi - lo) * c];
            to.iter_mut().zip(from).for_each(|(d, v)| *d += v);
        }
    });
}

/// A 1×1 stride-1 convolution reads its input as the unfolded matrix itself.
fn pointwise(g: &Geom) -> bool {
    g.kh == 1 && g.kw == 1 && g.stride == 1 && g.ph == 0 && g.pw == 0
}

/// Values per unfolded row and per packed weight row: KH·KW·C, and the bias column unless
/// the conv is pointwise (its input is not copied, so it has no column of ones).
pub(super) fn width(g: &Geom) -> usize {
    g.kh * g.kw * g.c + !pointwise(g) as usize
}

/// `y = ReLU(conv(x) + bias)` for `n` samples, or without the ReLU when `raw` (the max pool
/// after it applies it); `cols` holds `n·OH·OW·width` values, `w` is packed (bias column
/// included, see [`pack`]).
#[allow(clippy::too_many_arguments)]
pub(super) fn forward(
    g: &Geom,
    (w, b): (&[f32], &[f32]),
    x: &[f32],
    y: &mut [f32],
    cols: &mut [f32],
    n: usize,
    raw: bool,
) {
    let (k, rows) = (width(g), n * g.oh * g.ow);
    let a = unfold(g, x, cols, n);
    let y = &mut y[..rows * g.oc];
    product(
        y,
        View::rows(a, rows, k),
        View::rows(w, g.oc, k).t(),
        false,
        1,
    );
    match (pointwise(g), raw) {
        (false, true) => {}
        (false, false) => y.iter_mut().for_each(|v| *v = v.max(0.0)),
        (true, _) => {
            let floor = if raw { f32::NEG_INFINITY } else { 0.0 };
            for row in y.chunks_exact_mut(g.oc) {
                row.iter_mut()
                    .zip(b)
                    .for_each(|(v, bb)| *v = (*v + bb).max(floor));
            }
        }
    }
}

/// The unfolded input of `n` samples: `x` itself for a pointwise conv, else `cols` filled.
fn unfold<'a>(g: &Geom, x: &'a [f32], cols: &'a mut [f32], n: usize) -> &'a [f32] {
    let (ohw, k) = (g.oh * g.ow, width(g));
    if pointwise(g) {
        return &x[..n * ohw * k];
    }
    for i in 0..n {
        im2col(
            g,
            &x[i * g.in_len()..],
            &mut cols[i * ohw * k..(i + 1) * ohw * k],
        );
    }
    &cols[..n * ohw * k]
}

/// Backward of [`forward`] for `n` samples: `dy` (d loss / d y) becomes d loss / d pre-ReLU
/// in place (`raw`: it already is, the max pool applied the ReLU's mask); adds the weight
/// gradient to `dw` (packed: its bias column is the bias gradient) and, for a pointwise
/// conv, the bias gradient to `db`; writes d loss / d x to `dx` when asked. `cols` is
/// scratch as in `forward`.
#[allow(clippy::too_many_arguments)]
pub(super) fn backward(
    g: &Geom,
    w: &[f32],
    (x, y): (&[f32], &[f32]),
    dy: &mut [f32],
    dx: Option<&mut [f32]>,
    (dw, db): (&mut [f32], &mut [f32]),
    cols: &mut [f32],
    n: usize,
    raw: bool,
) {
    let (k, kkc, rows, oc) = (width(g), g.kh * g.kw * g.c, n * g.oh * g.ow, g.oc);
    let dz = &mut dy[..rows * oc];
    if !raw {
        relu_grad(dz, y);
    }
    if pointwise(g) {
        for row in dz.chunks_exact(oc) {
            db.iter_mut().zip(row).for_each(|(s, d)| *s += d);
        }
    }
    let dz = &*dz;
    let a = unfold(g, x, cols, n);
    product(
        dw,
        View::rows(dz, rows, oc).t(),
        View::rows(a, rows, k),
        true,
        1,
    );
    let Some(dx) = dx else { return };
    // The weights without their bias column.
    let wv = View {
        cols: kkc,
        ..View::rows(w, oc, k)
    };
    if pointwise(g) {
        product(dx, View::rows(dz, rows, oc), wv, false, 1);
        return;
    }
    product(cols, View::rows(dz, rows, oc), wv, false, 1);
    let in_len = g.in_len();
    for i in 0..n {
        col2im(
            g,
            &cols[i * g.oh * g.ow * kkc..],
            &mut dx[i * in_len..(i + 1) * in_len],
        );
    }
}

/// d loss / d pre-activation from d loss / d ReLU output `y`, in place.
pub(super) fn relu_grad(d: &mut [f32], y: &[f32]) {
    // A product, not a select: the compiler turns `if v > 0 { d } else { 0 }` stored back
    // into one conditional store per lane, where this vectorizes.
    d.iter_mut()
        .zip(y)
        .for_each(|(d, v)| *d *= (*v > 0.0) as u32 as f32);
}

/// `y = ReLU(depthwise conv(x) + bias)` for `n` samples, weights `[KH·KW, C]`.
pub(super) fn dw_forward(g: &Geom, (w, b): (&[f32], &[f32]), x: &[f32], y: &mut [f32], n: usize) {
    let c = g.c;
    for i in 0..n {
        let x = &x[i * g.in_len()..(i + 1) * g.in_len()];
        let y = &mut y[i * g.out_len()..(i + 1) * g.out_len()];
        for p in 0..g.oh * g.ow {
            y[p * c..(p + 1) * c].copy_from_slice(b);
        }
        windows(g, |p, ky, lo, hi, src| {
            let Some(src) = src else { return };
            let out = &mut y[p * c..(p + 1) * c];
            for kx in lo..hi {
                let xs = &x[src + (kx - lo) * c..][..c];
                let ws = &w[(ky * g.kw + kx) * c..][..c];
                for ((o, a), k) in out.iter_mut().zip(xs).zip(ws) {
                    *o += a * k;
                }
            }
        });
        y.iter_mut().for_each(|v| *v = v.max(0.0));
    }
}

/// Backward of [`dw_forward`], with the arguments of [`backward`].
#[allow(clippy::too_many_arguments)]
pub(super) fn dw_backward(
    g: &Geom,
    w: &[f32],
    (x, y): (&[f32], &[f32]),
    dy: &mut [f32],
    mut dx: Option<&mut [f32]>,
    (dw, db): (&mut [f32], &mut [f32]),
    n: usize,
) {
    let c = g.c;
    let (il, ol) = (g.in_len(), g.out_len());
    relu_grad(&mut dy[..n * ol], &y[..n * ol]);
    for i in 0..n {
        let x = &x[i * il..(i + 1) * il];
        let dz = &dy[i * ol..(i + 1) * ol];
        for row in dz.chunks_exact(c) {
            db.iter_mut().zip(row).for_each(|(s, d)| *s += d);
        }
        let mut dx = dx.as_deref_mut().map(|d| &mut d[i * il..(i + 1) * il]);
        if let Some(d) = dx.as_deref_mut() {
            d.fill(0.0);
        }
        windows(g, |p, ky, lo, hi, src| {
            let Some(src) = src else { return };
            let d = &dz[p * c..(p + 1) * c];
            for kx in lo..hi {
                let at = src + (kx - lo) * c;
                let wk = (ky * g.kw + kx) * c;
                let (gw, xs) = (&mut dw[wk..wk + c], &x[at..at + c]);
                for ((s, a), e) in gw.iter_mut().zip(xs).zip(d) {
                    *s += a * e;
                }
                if let Some(dx) = dx.as_deref_mut() {
                    let (t, ws) = (&mut dx[at..at + c], &w[wk..wk + c]);
                    for ((t, k), e) in t.iter_mut().zip(ws).zip(d) {
                        *t += k * e;
                    }
                }
            }
        });
    }
}

/// Every weight's (OIHW index, packed index): OIHW is `[O, C, KH, KW]` (a depthwise conv's
/// `[C, 1, KH, KW]`), packed `[O, width]` with column `(ky·KW + kx)·C + c` (depthwise:
/// `[KH, KW, C]`).
fn weight_pairs(g: &Geom, depthwise: bool, mut f: impl FnMut(usize, usize)) {
    let (c, kk, row) = (g.c, g.kh * g.kw, width(g));
    let (outs, per_out) = if depthwise { (c, 1) } else { (g.oc, c) };
    for o in 0..outs {
        for ci in 0..per_out {
            for k in 0..kk {
                let packed = if depthwise {
                    k * c + o
                } else {
                    o * row + k * c + ci
                };
                f((o * per_out + ci) * kk + k, packed);
            }
        }
    }
}

/// Weights per packed layer: a conv's `[O, width]` (bias column included), a depthwise
/// conv's KH·KW·C.
pub(super) fn packed_len(g: &Geom, depthwise: bool) -> usize {
    if depthwise {
        g.kh * g.kw * g.c
    } else {
        g.oc * width(g)
    }
}

/// Whether a conv's packed weights hold its bias (and their gradient its bias gradient).
pub(super) fn bias_column(g: &Geom, depthwise: bool) -> bool {
    !depthwise && !pointwise(g)
}

/// OIHW weights and the bias into the packed layout.
pub(super) fn pack(g: &Geom, depthwise: bool, (oihw, bias): (&[f32], &[f32]), packed: &mut [f32]) {
    weight_pairs(g, depthwise, |i, p| packed[p] = oihw[i]);
    if bias_column(g, depthwise) {
        let row = width(g);
        for (o, b) in bias.iter().enumerate() {
            packed[o * row + row - 1] = *b;
        }
    }
}

/// Packed weight gradients back into OIHW, and their bias column (when there is one) into
/// `bias`.
pub(super) fn unpack(
    g: &Geom,
    depthwise: bool,
    packed: &[f32],
    (oihw, bias): (&mut [f32], &mut [f32]),
) {
    weight_pairs(g, depthwise, |i, p| oihw[i] = packed[p]);
    if bias_column(g, depthwise) {
        let row = width(g);
        for (o, b) in bias.iter_mut().enumerate() {
            *b = packed[o * row + row - 1];
        }
    }
}
