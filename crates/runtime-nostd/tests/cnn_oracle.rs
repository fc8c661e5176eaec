//! Random CNNs through the runtime against a naive evaluation of FORMAT.md's CNN rules written
//! here, independently of the crate: activations channels-first (CHW) in i64, loops over
//! output channels outermost, padding by coordinates, requantization in i128, and the HWC
//! flatten order of `dense` applied as an explicit index map.

mod common;
use common::{Artifact, Rng};
use runtime_nostd::Model;
use runtime_nostd::format::cnn::{Layer, Padding, Plan};

/// A CHW activation.
#[derive(Clone)]
struct Act {
    c: usize,
    h: usize,
    w: usize,
    v: Vec<i64>,
}

impl Act {
    fn at(&self, c: usize, y: isize, x: isize) -> Option<i64> {
        let inside = (0..self.h as isize).contains(&y) && (0..self.w as isize).contains(&x);
        inside.then(|| self.v[(c * self.h + y as usize) * self.w + x as usize])
    }
}

/// FORMAT.md: `clamp(((acc·M + 2^(S−1)) >> S) + z_out, act_min, act_max)`.
fn requant(acc: i64, m: i64, s: i64, out: &[i64]) -> i64 {
    let y = ((i128::from(acc) * i128::from(m) + (1i128 << (s - 1))) >> s) + i128::from(out[0]);
    y.clamp(out[1].into(), out[2].into()).clamp(-128, 127) as i64
}

/// The whole CNN, naively.
fn naive(a: &Artifact, input: &[usize], layers: &str, q: &[i8]) -> Vec<i8> {
    let (c, h, w) = match *input {
        [c, h, w] => (c, h, w),
        [c, t] => (c, 1, t),
        _ => unreachable!(),
    };
    let mut x = Act {
        c,
        h,
        w,
        v: q.iter().map(|&v| i64::from(v)).collect(),
    };
    let mut z = a.values("input.zero_point")[0];
    let seq = input.len() == 2;
    for (k, text) in layers.split(';').enumerate() {
        let layer = Layer::parse(text).unwrap();
        let t = |s: &str| a.values(&format!("layers.{k}.{s}"));
        let (kh, kw) = layer.window(seq);
        x = match layer {
            Layer::Conv {
                stride, padding, ..
            }
            | Layer::DwConv {
                stride, padding, ..
            } => {
                let (dw, o) = match layer {
                    Layer::Conv { out, .. } => (false, out),
                    _ => (true, x.c),
                };
                let (ph, pw) = match padding {
                    Padding::Same => ((kh as isize - 1) / 2, (kw as isize - 1) / 2),
                    Padding::Valid => (0, 0),
                };
                let oh = (x.h + 2 * ph as usize - kh) / stride + 1;
                let ow = (x.w + 2 * pw as usize - kw) / stride + 1;
                let (wt, b, m, s, out) = (
                    t("weight"),
                    t("bias"),
                    t("multiplier"),
                    t("shift"),
                    t("output"),
                );
                let mut v = vec![0; o * oh * ow];
                for oc in 0..o {
                    for (c, ci) in (0..x.c).filter(|&c| !dw || c == oc).zip(0..) {
                        for oy in 0..oh {
                            for ox in 0..ow {
                                for ky in 0..kh {
                                    for kx in 0..kw {
                                        let y = (oy * stride + ky) as isize - ph;
                                        let xx = (ox * stride + kx) as isize - pw;
                                        let q = x.at(c, y, xx).unwrap_or(z);
                                        let taps = if dw { 1 } else { x.c };
                                        let wi = ((oc * kh + ky) * kw + kx) * taps + ci;
                                        v[(oc * oh + oy) * ow + ox] += wt[wi] * q;
                                    }
                                }
                            }
                        }
                    }
                    for p in 0..oh * ow {
                        let acc = v[oc * oh * ow + p] + b[oc];
                        v[oc * oh * ow + p] = requant(acc, m[oc], s[oc], &out);
                    }
                }
                z = out[0];
                Act {
                    c: o,
                    h: oh,
                    w: ow,
                    v,
                }
            }
            Layer::MaxPool(_) | Layer::AvgPool(_) | Layer::Gap => {
                let (kh, kw) = if layer == Layer::Gap {
                    (x.h, x.w)
                } else {
                    (kh, kw)
                };
                let (oh, ow) = (x.h / kh, x.w / kw);
                let mut v = Vec::new();
                for c in 0..x.c {
                    for oy in 0..oh {
                        for ox in 0..ow {
                            let win: Vec<i64> = (0..kh * kw)
                                .map(|i| {
                                    x.at(
                                        c,
                                        (oy * kh + i / kw) as isize,
                                        (ox * kw + i % kw) as isize,
                                    )
                                    .unwrap()
                                })
                                .collect();
                            let (s, n) = (win.iter().sum::<i64>(), win.len() as i64);
                            v.push(match layer {
                                Layer::MaxPool(_) => *win.iter().max().unwrap(),
                                // Round half away from zero.
                                _ => s.signum() * ((2 * s.abs() + n) / (2 * n)),
                            });
                        }
                    }
                }
                Act {
                    c: x.c,
                    h: oh,
                    w: ow,
                    v,
                }
            }
            Layer::Dense(o) => {
                let (wt, b, m, s, out) = (
                    t("weight"),
                    t("bias"),
                    t("multiplier"),
                    t("shift"),
                    t("output"),
                );
                let n = x.v.len();
                let v = (0..o)
                    .map(|j| {
                        let mut acc = b[j];
                        for c in 0..x.c {
                            for y in 0..x.h {
                                for xx in 0..x.w {
                                    let hwc = (y * x.w + xx) * x.c + c;
                                    acc +=
                                        wt[j * n + hwc] * x.at(c, y as isize, xx as isize).unwrap();
                                }
                            }
                        }
                        requant(acc, m[j], s[j], &out)
                    })
                    .collect();
                z = out[0];
                Act {
                    c: o,
                    h: 1,
                    w: 1,
                    v,
                }
            }
        };
    }
    x.v.iter().map(|&v| v as i8).collect()
}

/// A random plan that `Plan::parse` accepts: `[C, H, W]` or `[C, T]`, up to three spatial
/// layers, maybe `gap`, maybe a hidden `dense`, then `dense C`.
fn random_plan(rng: &mut Rng) -> (Vec<usize>, String, usize) {
    loop {
        let c = 1 + rng.below(3);
        let input = match rng.below(3) {
            0 => vec![c, 2 + rng.below(12)],
            _ => vec![c, 1 + rng.below(8), 1 + rng.below(8)],
        };
        let mut layers = Vec::new();
        for _ in 0..rng.below(4) {
            let k = [1, 2, 3, 5][rng.below(4)];
            let pad = if k % 2 == 1 && rng.below(2) == 0 {
                "same"
            } else {
                "valid"
            };
            let s = 1 + rng.below(2);
            layers.push(match rng.below(4) {
                0 => format!("conv {} k{k} s{s} {pad}", 1 + rng.below(4)),
                1 => format!("dwconv k{k} s{s} {pad}"),
                2 => format!("maxpool {}", 1 + rng.below(3)),
                _ => format!("avgpool {}", 1 + rng.below(3)),
            });
        }
        if rng.below(3) == 0 {
            layers.push("gap".into());
        }
        if rng.below(2) == 0 {
            layers.push(format!("dense {}", 1 + rng.below(6)));
        }
        let classes = 1 + rng.below(4);
        layers.push(format!("dense {classes}"));
        let text = layers.join(";");
        if Plan::parse(&text, &input, classes).is_ok() {
            return (input, text, classes);
        }
    }
}

#[test]
fn random_cnns_match_a_naive_chw_evaluation() {
    let mut rng = Rng(0xc0ffee);
    let mut kinds = std::collections::HashSet::new();
    for case in 0..400u64 {
        let (input, layers, classes) = random_plan(&mut rng);
        let a = Artifact::random_cnn(&input, &layers, classes, case + 1);
        let bytes = a.bytes();
        let m = Model::from_bytes(&bytes).unwrap_or_else(|e| panic!("{layers} on {input:?}: {e}"));
        let mut scratch = vec![0u8; m.scratch_len()];
        let mut logits = vec![0i8; classes];
        for _ in 0..4 {
            let q: Vec<i8> = (0..m.input_len()).map(|_| rng.i8()).collect();
            let p = m.infer(&q, &mut scratch, &mut logits).unwrap();
            let want = naive(&a, &input, &layers, &q);
            assert_eq!(logits, want, "{layers} on {input:?}, input {q:?}");
            assert_eq!(p.class, runtime_nostd::argmax(&want));
            kinds.extend(want.iter().map(|&v| v.signum()));
        }
    }
    // The parameters spread the logits: negative, zero and positive all occur.
    assert_eq!(kinds.len(), 3);
}
