//! Plain reference convolutions on channels-last (HWC) int8 activations: the definitions an
//! optimized twin (`kernels/<arch>/conv.rs`, same signatures) is tested against with
//! `conv_tests!`. Written for clarity, with `get` instead of indexing: no panicking path.

use crate::kernels::{ChannelQuant, Window};

/// The slice lengths both convolutions need, checked before anything is written:
/// `input` ≥ `window.input`, `output` ≥ `window.output`, `weights` ≥ `rows × row` and
/// `quant` has `rows` channels.
fn lengths_ok(
    input: &[i8],
    weights: &[i8],
    w: &Window,
    row: usize,
    rows: usize,
    quant: &ChannelQuant<'_>,
    output: &[i8],
) -> bool {
    let (Some(inputs), Some(outputs), Some(weight_len)) = (
        w.input.checked_len(),
        w.output.checked_len(),
        rows.checked_mul(row),
    ) else {
        return false;
    };
    input.len() >= inputs
        && output.len() >= outputs
        && weights.len() >= weight_len
        && quant.channels() >= rows
}

/// Standard 2-D convolution (`conv O`), FORMAT.md's rule:
///
/// `output[y, x, o] = quant.apply(o, Σ_{ky, kx, c} W[o, ky, kx, c] · q(y·S + ky − pad_top,
/// x·S + kx − pad_left, c))`
///
/// with `weights` OHWI `[O, kh, kw, C]` (O = `window.output.c`, C = `window.input.c`),
/// `input` and `output` HWC of `window.input` and `window.output`, and `q` reading `pad`
/// (the input's zero point) at a position outside the input. The sums wrap in i32 (the
/// loader's accumulator bound proves they never do for a valid artifact). Returns `false`,
/// writing nothing, when a slice is shorter than its shape or `quant` has fewer than O
/// channels.
///
/// In HWC a filter row `ky` (`kw × C` weights) meets a contiguous run of the input row, so
/// each row is one dot product over the columns inside the input, plus `pad` times the
/// weights of the columns outside it.
pub fn conv2d(
    input: &[i8],
    weights: &[i8],
    window: &Window,
    pad: i8,
    quant: &ChannelQuant<'_>,
    output: &mut [i8],
) -> bool {
    let w = window;
    let (c_in, c_out) = (w.input.c, w.output.c);
    let Some(row) = w.kh.checked_mul(w.kw).and_then(|k| k.checked_mul(c_in)) else {
        return false;
    };
    if !lengths_ok(input, weights, w, row, c_out, quant, output) {
        return false;
    }
    // One filter row: kw taps of C channels (`max(1)`: `chunks` needs a non-zero size).
    let taps = (w.kw * c_in).max(1);
    for y in 0..w.output.h {
        for x in 0..w.output.w {
            let (kx0, kx1, ix0) = Window::span(x, w.kw, w.stride, w.pad_left, w.input.w);
            let (lo, hi) = (kx0 * c_in, kx1 * c_in);
            let px = (y * w.output.w + x) * c_out;
            let out = output.get_mut(px..px + c_out).unwrap_or(&mut []);
            for (o, dst) in out.iter_mut().enumerate() {
                let filter = weights.get(o * row..(o + 1) * row).unwrap_or(&[]);
                let mut acc = 0i32;
                for (ky, f) in filter.chunks(taps).enumerate() {
                    let Some(iy) = Window::source(y, ky, w.stride, w.pad_top, w.input.h) else {
                        acc = acc.wrapping_add(padded(f, pad));
                        continue;
                    };
                    let at = (iy * w.input.w + ix0) * c_in;
                    let pixels = input.get(at..at + (hi - lo)).unwrap_or(&[]);
                    let (left, f) = f.split_at(lo.min(f.len()));
                    let (inside, right) = f.split_at((hi - lo).min(f.len()));
                    acc = acc
                        .wrapping_add(dot(inside, pixels))
                        .wrapping_add(padded(left, pad))
                        .wrapping_add(padded(right, pad));
                }
                *dst = quant.apply(o, acc).unwrap_or(0);
            }
        }
    }
    true
}

/// Depthwise 2-D convolution (`dwconv`), one filter per channel, FORMAT.md's rule:
///
/// `output[y, x, c] = quant.apply(c, Σ_{ky, kx} W[c, ky, kx, 0] · q(y·S + ky − pad_top,
/// x·S + kx − pad_left, c))`
///
/// with `weights` `[C, kh, kw, 1]`, `window.output.c == window.input.c` = C, and the rest
/// as [`conv2d`] (padding reads `pad`, wrapping sums). Returns `false`, writing nothing, when
/// the channel counts differ, a slice is shorter than its shape or `quant` has fewer than C
/// channels.
pub fn depthwise_conv2d(
    input: &[i8],
    weights: &[i8],
    window: &Window,
    pad: i8,
    quant: &ChannelQuant<'_>,
    output: &mut [i8],
) -> bool {
    let w = window;
    let c = w.input.c;
    let Some(row) = w.kh.checked_mul(w.kw) else {
        return false;
    };
    if w.output.c != c || !lengths_ok(input, weights, w, row, c, quant, output) {
        return false;
    }
    for y in 0..w.output.h {
        for x in 0..w.output.w {
            let (kx0, kx1, ix0) = Window::span(x, w.kw, w.stride, w.pad_left, w.input.w);
            let px = (y * w.output.w + x) * c;
            let out = output.get_mut(px..px + c).unwrap_or(&mut []);
            for (ch, dst) in out.iter_mut().enumerate() {
                let filter = weights.get(ch * row..(ch + 1) * row).unwrap_or(&[]);
                let mut acc = 0i32;
                for (ky, f) in filter.chunks(w.kw.max(1)).enumerate() {
                    let Some(iy) = Window::source(y, ky, w.stride, w.pad_top, w.input.h) else {
                        acc = acc.wrapping_add(padded(f, pad));
                        continue;
                    };
                    // This channel of the row's pixels inside the input: every C-th value.
                    let at = (iy * w.input.w + ix0) * c + ch;
                    let pixels = input.get(at..).unwrap_or(&[]).iter().step_by(c.max(1));
                    let (left, f) = f.split_at(kx0.min(f.len()));
                    let (inside, right) = f.split_at((kx1 - kx0).min(f.len()));
                    let sum = inside.iter().zip(pixels).fold(0i32, |s, (&t, &q)| {
                        s.wrapping_add(i32::from(t) * i32::from(q))
                    });
                    acc = acc
                        .wrapping_add(sum)
                        .wrapping_add(padded(left, pad))
                        .wrapping_add(padded(right, pad));
                }
                *dst = quant.apply(ch, acc).unwrap_or(0);
            }
        }
    }
    true
}

/// `Σ a[i]·b[i]`, wrapping.
fn dot(a: &[i8], b: &[i8]) -> i32 {
    a.iter().zip(b).fold(0i32, |s, (&a, &b)| {
        s.wrapping_add(i32::from(a) * i32::from(b))
    })
}

/// `pad · Σ taps`: the taps outside the input, wrapping.
fn padded(taps: &[i8], pad: i8) -> i32 {
    let sum = taps.iter().fold(0i32, |s, &t| s.wrapping_add(i32::from(t)));
    sum.wrapping_mul(i32::from(pad))
}

#[cfg(test)]
mod tests {
    conv_tests!(crate::kernels::reference::conv);

    #[test]
    fn hand_computed() {
        use crate::format::cnn::Shape;
        use crate::kernels::{ChannelQuant, Window};
        // One channel, 1×3 input [1, 2, 3], 1×3 filter of ones, `same` (pad 1) reading 10.
        let w = Window {
            input: Shape { c: 1, h: 1, w: 3 },
            output: Shape { c: 1, h: 1, w: 3 },
            kh: 1,
            kw: 3,
            stride: 1,
            pad_top: 0,
            pad_left: 1,
        };
        let q = ChannelQuant {
            bias: &[1i32.to_le_bytes()],
            multiplier: &[(1i32 << 30).to_le_bytes()],
            shift: &[30i32.to_le_bytes()],
            out: crate::OutputQuant {
                zero_point: -1,
                act_min: -128,
                act_max: 127,
            },
        };
        let mut out = [0i8; 3];
        assert!(variant::conv2d(
            &[1, 2, 3],
            &[1, 1, 1],
            &w,
            10,
            &q,
            &mut out
        ));
        // 10+1+2, 1+2+3, 2+3+10, then + bias 1, × 1, + z_out −1
        assert_eq!(out, [13, 6, 15]);
        assert!(variant::depthwise_conv2d(
            &[1, 2, 3],
            &[1, 1, 1],
            &w,
            10,
            &q,
            &mut out
        ));
        assert_eq!(out, [13, 6, 15]);
    }
}
