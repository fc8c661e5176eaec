//! Pools on channels-last samples (`[H, W, C]`): max and average over KH×KW windows of
//! stride KH×KW (a partial window at the edge is dropped), and the global average. Each
//! output pixel reads whole channel runs, so the inner loops run over contiguous channels.
//! A max pool after a conv is the fused ReLU + max-pool of the teacher: the conv's output is
//! already ReLU'd, and its backward applies the ReLU mask.
use super::Geom;

/// The input offset of window position (wy, wx) of output pixel (oy, ox), channel 0.
fn at(g: &Geom, oy: usize, ox: usize, wy: usize, wx: usize) -> usize {
    ((oy * g.kh + wy) * g.w + ox * g.kw + wx) * g.c
}

/// `y` = each window's maximum for `n` samples, with `relu`: ReLU(maximum), the previous
/// conv's ReLU, which commutes with the maximum, applied to a quarter of the values.
pub(super) fn max_forward(g: &Geom, x: &[f32], y: &mut [f32], n: usize, relu: bool) {
    let (c, il, ol) = (g.c, g.in_len(), g.out_len());
    for i in 0..n {
        let x = &x[i * il..(i + 1) * il];
        let y = &mut y[i * ol..(i + 1) * ol];
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                let out = &mut y[(oy * g.ow + ox) * c..][..c];
                window_max(g, x, oy, ox, out);
                if relu {
                    out.iter_mut().for_each(|v| *v = v.max(0.0));
                }
            }
        }
    }
}

/// `out` = the maximum of window (oy, ox) per channel. Plain slices and unconditional
/// stores throughout, so that the loops vectorize (a select stored back where it was read
/// from compiles to one conditional store per lane).
fn window_max(g: &Geom, x: &[f32], oy: usize, ox: usize, out: &mut [f32]) {
    let c = g.c;
    let first = at(g, oy, ox, 0, 0);
    out.copy_from_slice(&x[first..first + c]);
    for pos in 1..g.kh * g.kw {
        let s = at(g, oy, ox, pos / g.kw, pos % g.kw);
        out.iter_mut()
            .zip(&x[s..s + c])
            .for_each(|(o, v)| *o = o.max(*v));
    }
}

/// Backward of [`max_forward`]: each output gradient goes to the first maximum of its
/// window, found again from the input `x` (with the fused ReLU, given the outputs `y`: only
/// where the output is positive). `scratch` holds 2·C values.
#[allow(clippy::too_many_arguments)]
pub(super) fn max_backward(
    g: &Geom,
    x: &[f32],
    dy: &[f32],
    dx: &mut [f32],
    n: usize,
    relu: Option<&[f32]>,
    scratch: &mut [f32],
) {
    let (c, il, ol) = (g.c, g.in_len(), g.out_len());
    let covers = g.oh * g.kh == g.h && g.ow * g.kw == g.w;
    let (m, rest) = scratch[..2 * c].split_at_mut(c);
    for i in 0..n {
        let x = &x[i * il..(i + 1) * il];
        let dx = &mut dx[i * il..(i + 1) * il];
        if !covers {
            dx.fill(0.0);
        }
        let dy = &dy[i * ol..(i + 1) * ol];
        let y = relu.map(|y| &y[i * ol..(i + 1) * ol]);
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                let p = (oy * g.ow + ox) * c;
                window_max(g, x, oy, ox, m);
                // What is left to route: the gradient, until its window's first maximum.
                rest.copy_from_slice(&dy[p..p + c]);
                if let Some(y) = y {
                    rest.iter_mut()
                        .zip(&y[p..p + c])
                        .for_each(|(r, v)| *r *= (*v > 0.0) as u32 as f32);
                }
                for pos in 0..g.kh * g.kw {
                    let s = at(g, oy, ox, pos / g.kw, pos % g.kw);
                    let lanes = dx[s..s + c].iter_mut().zip(&x[s..s + c]);
                    for ((t, v), (r, top)) in lanes.zip(rest.iter_mut().zip(m.iter())) {
                        let hit = (*v == *top) as u32 as f32;
                        *t = *r * hit;
                        *r -= *t;
                    }
                }
            }
        }
    }
}

/// `y` = each window's mean for `n` samples.
pub(super) fn avg_forward(g: &Geom, x: &[f32], y: &mut [f32], n: usize) {
    let (c, il, ol) = (g.c, g.in_len(), g.out_len());
    let scale = 1.0 / (g.kh * g.kw) as f32;
    for i in 0..n {
        let x = &x[i * il..(i + 1) * il];
        let y = &mut y[i * ol..(i + 1) * ol];
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                let out = &mut y[(oy * g.ow + ox) * c..][..c];
                out.fill(0.0);
                for wy in 0..g.kh {
                    for wx in 0..g.kw {
                        let s = at(g, oy, ox, wy, wx);
                        out.iter_mut().zip(&x[s..s + c]).for_each(|(o, v)| *o += v);
                    }
                }
                out.iter_mut().for_each(|o| *o *= scale);
            }
        }
    }
}

/// Backward of [`avg_forward`]: each output gradient spread evenly over its window.
pub(super) fn avg_backward(g: &Geom, dy: &[f32], dx: &mut [f32], n: usize) {
    let (c, il, ol) = (g.c, g.in_len(), g.out_len());
    let scale = 1.0 / (g.kh * g.kw) as f32;
    for i in 0..n {
        let dx = &mut dx[i * il..(i + 1) * il];
        let dy = &dy[i * ol..(i + 1) * ol];
        dx.fill(0.0);
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                let d = &dy[(oy * g.ow + ox) * c..][..c];
                for wy in 0..g.kh {
                    for wx in 0..g.kw {
                        let s = at(g, oy, ox, wy, wx);
                        dx[s..s + c]
                            .iter_mut()
                            .zip(d)
                            .for_each(|(t, v)| *t = v * scale);
                    }
                }
            }
        }
    }
}

/// `y` (`[C]` per sample) = each channel's mean over all positions.
pub(super) fn gap_forward(g: &Geom, x: &[f32], y: &mut [f32], n: usize) {
    let (c, il) = (g.c, g.in_len());
    let scale = 1.0 / (g.h * g.w) as f32;
    for i in 0..n {
        let out = &mut y[i * c..(i + 1) * c];
        out.fill(0.0);
        for px in x[i * il..(i + 1) * il].chunks_exact(c) {
            out.iter_mut().zip(px).for_each(|(o, v)| *o += v);
        }
        out.iter_mut().for_each(|o| *o *= scale);
    }
}

/// Backward of [`gap_forward`].
pub(super) fn gap_backward(g: &Geom, dy: &[f32], dx: &mut [f32], n: usize) {
    let (c, il) = (g.c, g.in_len());
    let scale = 1.0 / (g.h * g.w) as f32;
    for i in 0..n {
        let d = &dy[i * c..(i + 1) * c];
        for px in dx[i * il..(i + 1) * il].chunks_exact_mut(c) {
            px.iter_mut().zip(d).for_each(|(t, v)| *t = v * scale);
        }
    }
}
