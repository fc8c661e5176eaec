//! Random test cases and a naive oracle for the window kernel families ("conv", "pool"),
//! used by `conv_tests!` and `pool_tests!` (`windows.rs`). The oracle is written
//! independently of the reference: signed coordinates, i64 sums, channel-outermost loops,
//! and FORMAT.md's requantization in i128.

use crate::format::cnn::Shape;
use crate::kernels::{ChannelQuant, Window};
use crate::quant::OutputQuant;

/// A random conv case: geometry, input, weights, padding value and per-channel parameters.
#[derive(Debug, Clone)]
pub struct ConvCase {
    pub window: Window,
    pub input: Vec<i8>,
    pub weights: Vec<i8>,
    pub pad: i8,
    pub bias: Vec<[u8; 4]>,
    pub multiplier: Vec<[u8; 4]>,
    pub shift: Vec<[u8; 4]>,
    pub out: OutputQuant,
}

impl ConvCase {
    pub fn quant(&self) -> ChannelQuant<'_> {
        ChannelQuant {
            bias: &self.bias,
            multiplier: &self.multiplier,
            shift: &self.shift,
            out: self.out,
        }
    }
}

/// xorshift64 from a seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next() % (hi - lo + 1) as u64) as usize
    }
    /// True with probability 1/n.
    pub fn one_in(&mut self, n: u64) -> bool {
        self.next().is_multiple_of(n)
    }
    pub fn i8(&mut self) -> i8 {
        self.next() as i8
    }
    pub fn i32(&mut self, lo: i32, hi: i32) -> i32 {
        lo + (self.next() % (hi - lo + 1) as u64) as i32
    }
}

/// Random geometry: a `kh × kw` window (1 × kw on a sequence, h = 1) with padding up to
/// `k − 1` on the top/left when `padded`, strides 1..=3, sides 1..=7, channels 1..=5.
pub fn random_window(rng: &mut Rng, padded: bool, c_out: Option<usize>) -> Window {
    let c = rng.range(1, 5);
    let h = if rng.one_in(4) { 1 } else { rng.range(1, 7) };
    let w = rng.range(1, 7);
    let kh = rng.range(1, h.min(4));
    let kw = rng.range(1, w.min(4));
    let pad = |rng: &mut Rng, k: usize| if padded { rng.range(0, k - 1) } else { 0 };
    let (pad_top, pad_left) = (pad(rng, kh), pad(rng, kw));
    let stride = rng.range(1, 3);
    Window {
        input: Shape { c, h, w },
        output: Shape {
            c: c_out.unwrap_or(c),
            h: (h + 2 * pad_top - kh) / stride + 1,
            w: (w + 2 * pad_left - kw) / stride + 1,
        },
        kh,
        kw,
        stride,
        pad_top,
        pad_left,
    }
}

/// A random conv (or depthwise, `depthwise`) case with valid requantization parameters.
pub fn conv_case(seed: u64, depthwise: bool) -> ConvCase {
    let mut rng = Rng::new(seed);
    let c_out = rng.range(1, 6);
    let window = random_window(&mut rng, true, (!depthwise).then_some(c_out));
    let rows = window.output.c;
    let row = window.kh * window.kw * if depthwise { 1 } else { window.input.c };
    let words = |rng: &mut Rng, lo: i32, hi: i32| -> Vec<[u8; 4]> {
        (0..rows).map(|_| rng.i32(lo, hi).to_le_bytes()).collect()
    };
    let z = rng.i32(-20, 20);
    ConvCase {
        input: (0..window.input.len()).map(|_| rng.i8()).collect(),
        weights: (0..rows * row).map(|_| rng.i8().max(-127)).collect(),
        pad: rng.i8(),
        bias: words(&mut rng, -3000, 3000),
        multiplier: (0..rows)
            .map(|_| match rng.next() % 8 {
                0 => 0,
                _ => rng.i32(1 << 30, i32::MAX),
            })
            .map(i32::to_le_bytes)
            .collect(),
        shift: words(&mut rng, 26, 38),
        out: OutputQuant {
            zero_point: z,
            act_min: if rng.one_in(2) { z } else { -128 },
            act_max: if rng.one_in(4) { 100 } else { 127 },
        },
        window,
    }
}

/// FORMAT.md's conv/dwconv rule, naively: signed coordinates, i64 sums, i128 rounding.
pub fn conv(case: &ConvCase, depthwise: bool) -> Vec<i8> {
    let w = case.window;
    let (i, o) = (w.input, w.output);
    let word = |v: &[[u8; 4]], k: usize| i128::from(i32::from_le_bytes(v[k]));
    let mut out = vec![0i8; o.len()];
    for oc in 0..o.c {
        for y in 0..o.h {
            for x in 0..o.w {
                let mut acc = 0i64;
                let channels: Vec<usize> = if depthwise {
                    vec![oc]
                } else {
                    (0..i.c).collect()
                };
                for (ci, &c) in channels.iter().enumerate() {
                    for ky in 0..w.kh {
                        for kx in 0..w.kw {
                            let iy = (y * w.stride + ky) as isize - w.pad_top as isize;
                            let ix = (x * w.stride + kx) as isize - w.pad_left as isize;
                            let inside =
                                (0..i.h as isize).contains(&iy) && (0..i.w as isize).contains(&ix);
                            let q = if inside {
                                case.input[(iy as usize * i.w + ix as usize) * i.c + c]
                            } else {
                                case.pad
                            };
                            let taps = channels.len();
                            let wt = case.weights[((oc * w.kh + ky) * w.kw + kx) * taps + ci];
                            acc += i64::from(wt) * i64::from(q);
                        }
                    }
                }
                let acc = i128::from(acc) + word(&case.bias, oc);
                let (m, s) = (word(&case.multiplier, oc), word(&case.shift, oc));
                let y_q = ((acc * m + (1i128 << (s - 1))) >> s) + i128::from(case.out.zero_point);
                let q = y_q
                    .clamp(case.out.act_min.into(), case.out.act_max.into())
                    .clamp(-128, 127);
                out[(y * o.w + x) * o.c + oc] = q as i8;
            }
        }
    }
    out
}

/// A random pool case: geometry without padding (windows inside) and an input.
pub fn pool_case(seed: u64) -> (Window, Vec<i8>) {
    let mut rng = Rng::new(seed);
    let mut window = random_window(&mut rng, false, None);
    if rng.one_in(4) {
        // gap: one window over the whole input
        let i = window.input;
        (window.kh, window.kw, window.output) = (i.h, i.w, Shape { c: i.c, h: 1, w: 1 });
    }
    let input = (0..window.input.len()).map(|_| rng.i8()).collect();
    (window, input)
}

/// Max (`max`) or average pool, naively; the mean rounded half away from zero as
/// `sign(s) · floor((2|s| + n) / 2n)`.
pub fn pool(window: &Window, input: &[i8], max: bool) -> Vec<i8> {
    let (i, o) = (window.input, window.output);
    let mut out = vec![0i8; o.len()];
    for c in 0..o.c {
        for y in 0..o.h {
            for x in 0..o.w {
                let vals: Vec<i64> = (0..window.kh * window.kw)
                    .map(|t| {
                        let iy = y * window.stride + t / window.kw;
                        let ix = x * window.stride + t % window.kw;
                        i64::from(input[(iy * i.w + ix) * i.c + c])
                    })
                    .collect();
                let n = vals.len() as i64;
                let s: i64 = vals.iter().sum();
                let v = if max {
                    *vals.iter().max().unwrap()
                } else {
                    s.signum() * ((2 * s.abs() + n) / (2 * n))
                };
                out[(y * o.w + x) * o.c + c] = v as i8;
            }
        }
    }
    out
}

/// The first differing output as "(y, x, c): actual a expected e", or `None`.
pub fn mismatch(shape: Shape, got: &[i8], want: &[i8]) -> Option<String> {
    let at = got.iter().zip(want).position(|(g, w)| g != w)?;
    let (px, c) = (at / shape.c, at % shape.c);
    Some(format!(
        "({}, {}, {c}) of {shape:?}: actual {} expected {}",
        px / shape.w,
        px % shape.w,
        got[at],
        want[at]
    ))
}
