//! Plain reference pools on channels-last (HWC) int8 activations: the definitions an
//! optimized twin (`kernels/<arch>/pool.rs`, same signatures) is tested against with
//! `pool_tests!`. Scale and zero point pass through (FORMAT.md, CNN rules).

use crate::kernels::Window;

/// The conditions both pools need, checked before anything is written: the same channels
/// in and out, a non-empty window inside the input everywhere (no padding) and slices at
/// least as long as their shapes.
fn pool_ok(input: &[i8], window: &Window, output: &[i8]) -> bool {
    let w = window;
    let lens = w.input.checked_len().zip(w.output.checked_len());
    w.input.c == w.output.c
        && w.kh > 0
        && w.kw > 0
        && w.inside()
        && lens.is_some_and(|(i, o)| input.len() >= i && output.len() >= o)
}

/// The input value of channel `c` at window offset `(ky, kx)` of output position `(y, x)`
/// (inside the input, which `pool_ok` checked; 0 otherwise).
#[inline]
fn tap(input: &[i8], w: &Window, (y, x): (usize, usize), (ky, kx): (usize, usize), c: usize) -> i8 {
    let (iy, ix) = (y * w.stride + ky, x * w.stride + kx);
    input
        .get((iy * w.input.w + ix) * w.input.c + c)
        .copied()
        .unwrap_or(0)
}

/// Max pool (`maxpool P`: `kh × kw` windows, stride `window.stride`, no padding):
/// `output[y, x, c] = max_{ky, kx} input[y·S + ky, x·S + kx, c]`.
/// Returns `false`, writing nothing, unless `pool_ok`: the same channels in and out, a
/// non-empty window inside the input at every output position (zero padding), and slices at
/// least as long as their shapes.
pub fn max_pool(input: &[i8], window: &Window, output: &mut [i8]) -> bool {
    if !pool_ok(input, window, output) {
        return false;
    }
    let w = window;
    for y in 0..w.output.h {
        for x in 0..w.output.w {
            let px = (y * w.output.w + x) * w.output.c;
            let out = output.get_mut(px..px + w.output.c).unwrap_or(&mut []);
            for (c, dst) in out.iter_mut().enumerate() {
                let mut m = i8::MIN;
                for ky in 0..w.kh {
                    for kx in 0..w.kw {
                        m = m.max(tap(input, w, (y, x), (ky, kx), c));
                    }
                }
                *dst = m;
            }
        }
    }
    true
}

/// Average pool (`avgpool P`, and `gap` as one window over the whole input): with
/// `s = Σ_{ky, kx} input[y·S + ky, x·S + kx, c]` and `n = kh·kw`,
/// `output[y, x, c] = (s + n/2) / n` if `s ≥ 0`, else `(s − n/2) / n`, dividing with
/// truncation toward zero: the mean rounded half away from zero, as TFLite and CMSIS-NN.
/// Sums in i64 (a `gap` window may be large). Returns `false`, writing nothing, on the
/// conditions of [`max_pool`].
pub fn avg_pool(input: &[i8], window: &Window, output: &mut [i8]) -> bool {
    if !pool_ok(input, window, output) {
        return false;
    }
    let w = window;
    // kh·kw ≤ the input's length (the window is inside it), so neither overflows.
    let n = (w.kh * w.kw) as i64;
    for y in 0..w.output.h {
        for x in 0..w.output.w {
            let px = (y * w.output.w + x) * w.output.c;
            let out = output.get_mut(px..px + w.output.c).unwrap_or(&mut []);
            for (c, dst) in out.iter_mut().enumerate() {
                let mut s = 0i64;
                for ky in 0..w.kh {
                    for kx in 0..w.kw {
                        s += i64::from(tap(input, w, (y, x), (ky, kx), c));
                    }
                }
                let mean = if s >= 0 {
                    (s + n / 2) / n
                } else {
                    (s - n / 2) / n
                };
                *dst = mean.clamp(-128, 127) as i8;
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    pool_tests!(crate::kernels::reference::pool);

    #[test]
    fn hand_computed() {
        use crate::format::cnn::Shape;
        let w = crate::kernels::Window {
            input: Shape { c: 1, h: 1, w: 8 },
            output: Shape { c: 1, h: 1, w: 4 },
            kh: 1,
            kw: 2,
            stride: 2,
            pad_top: 0,
            pad_left: 0,
        };
        let input = [1, 2, -1, -2, 0, 1, 0, -1];
        let mut out = [0i8; 4];
        assert!(variant::avg_pool(&input, &w, &mut out));
        // 1.5 → 2, −1.5 → −2, 0.5 → 1, −0.5 → −1: halves away from zero
        assert_eq!(out, [2, -2, 1, -1]);
        assert!(variant::max_pool(&input, &w, &mut out));
        assert_eq!(out, [2, -1, 1, 0]);
    }
}
