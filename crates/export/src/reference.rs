//! A second, deliberately plain integer forward pass over the in-memory [`QuantModel`], using
//! runtime-nostd's `requantize` (the one requantization rule). The round trip compares
//! runtime-nostd's outputs, computed from the tensors it parsed, with these, computed from the
//! tensors export meant to write: any misread tensor shows up as a difference.

use runtime_nostd::{OutputQuant, requantize};

use runtime_nostd::format::cnn::{Layer, Padding, Plan};

use crate::quantized::{QuantBody, QuantCnn, QuantDense, QuantModel};

/// Int8 logits (MLP) or the reached leaf index as the single element (tree), and the class.
pub fn forward(m: &QuantModel, x_q: &[i8]) -> (Vec<i8>, usize) {
    match &m.body {
        QuantBody::Mlp(layers) => {
            let mut a = x_q.to_vec();
            for l in layers {
                let out = OutputQuant {
                    zero_point: l.z_out,
                    act_min: l.act_min,
                    act_max: l.act_max,
                };
                a = l
                    .weight
                    .chunks_exact(l.in_features)
                    .enumerate()
                    .map(|(j, row)| {
                        let acc = row
                            .iter()
                            .zip(&a)
                            .fold(l.bias[j], |s, (&w, &q)| s + i32::from(w) * i32::from(q));
                        requantize(acc, l.multiplier[j], l.shift[j], out)
                    })
                    .collect();
            }
            let class = crate::float_forward::argmax(&a);
            (a, class)
        }
        QuantBody::Tree(t) => {
            let f = x_q.len();
            let mut node = 0usize;
            for _ in 0..t.depth {
                let row = &t.weight[node * f..(node + 1) * f];
                let acc = row
                    .iter()
                    .zip(x_q)
                    .fold(t.bias[node], |s, (&w, &q)| s + i32::from(w) * i32::from(q));
                node = 2 * node + if acc > 0 { 2 } else { 1 };
            }
            let leaf = node - t.bias.len();
            (vec![leaf as i8], usize::from(t.leaf_class[leaf]))
        }
        QuantBody::Cnn(c) => match m.cnn_plan() {
            Some(plan) => {
                let a = cnn(c, &plan, x_q, m.input.zero_point);
                let class = crate::float_forward::argmax(&a);
                (a, class)
            }
            None => (Vec::new(), 0),
        },
    }
}

/// The CNN rules of FORMAT.md over the artifact-layout weights, one value at a time in HWC
/// (the input arrives CHW); pools pass the zero point through.
fn cnn(c: &QuantCnn, plan: &Plan, x_q: &[i8], z_in: i32) -> Vec<i8> {
    let first = plan
        .input_of(0)
        .unwrap_or(runtime_nostd::format::cnn::Shape { c: 0, h: 0, w: 0 });
    let (h, w) = (first.h, first.w);
    // CHW → HWC.
    let mut a: Vec<i32> = (0..x_q.len())
        .map(|hwc| {
            let (pos, ch) = (hwc / first.c, hwc % first.c);
            i32::from(x_q[ch * h * w + pos])
        })
        .collect();
    let mut z = z_in;
    let seq = plan.is_sequence();
    for ((layer, i, o), q) in plan.iter().zip(&c.weighted) {
        let (kh, kw) = layer.window(seq);
        let at = |a: &[i32], y: usize, x: usize, ch: usize| a[(y * i.w + x) * i.c + ch];
        let mut out = vec![0i32; o.len()];
        match (layer, q) {
            (
                Layer::Conv {
                    stride, padding, ..
                }
                | Layer::DwConv {
                    stride, padding, ..
                },
                Some(q),
            ) => {
                let dw = matches!(layer, Layer::DwConv { .. });
                let (ph, pw) = match padding {
                    Padding::Same => ((kh - 1) / 2, (kw - 1) / 2),
                    Padding::Valid => (0, 0),
                };
                for oy in 0..o.h {
                    for ox in 0..o.w {
                        for oc in 0..o.c {
                            let mut acc = q.bias[oc];
                            for ky in 0..kh {
                                for kx in 0..kw {
                                    let (y, x) = (
                                        (oy * stride + ky) as isize - ph as isize,
                                        (ox * stride + kx) as isize - pw as isize,
                                    );
                                    let inside = y >= 0
                                        && x >= 0
                                        && (y as usize) < i.h
                                        && (x as usize) < i.w;
                                    let chans = if dw { oc..oc + 1 } else { 0..i.c };
                                    for ch in chans {
                                        let v = if inside {
                                            at(&a, y as usize, x as usize, ch)
                                        } else {
                                            z
                                        };
                                        let wi = if dw {
                                            (oc * kh + ky) * kw + kx
                                        } else {
                                            ((oc * kh + ky) * kw + kx) * i.c + ch
                                        };
                                        acc += i32::from(q.weight[wi]) * v;
                                    }
                                }
                            }
                            out[(oy * o.w + ox) * o.c + oc] = requant(q, oc, acc);
                        }
                    }
                }
            }
            (Layer::Dense(_), Some(q)) => {
                for (j, row) in q.weight.chunks_exact(q.in_features).enumerate() {
                    let acc = row
                        .iter()
                        .zip(&a)
                        .fold(q.bias[j], |s, (&w, &v)| s + i32::from(w) * v);
                    out[j] = requant(q, j, acc);
                }
            }
            (Layer::MaxPool(_) | Layer::AvgPool(_) | Layer::Gap, None) => {
                let (kh, kw) = if matches!(layer, Layer::Gap) {
                    (i.h, i.w)
                } else {
                    (kh, kw)
                };
                for oy in 0..o.h {
                    for ox in 0..o.w {
                        for ch in 0..o.c {
                            let vals = (0..kh * kw)
                                .map(|t| at(&a, oy * kh + t / kw, ox * kw + t % kw, ch));
                            out[(oy * o.w + ox) * o.c + ch] = match layer {
                                Layer::MaxPool(_) => vals.max().unwrap_or(0),
                                _ => {
                                    let (s, n) = (vals.sum::<i32>(), (kh * kw) as i32);
                                    if s >= 0 {
                                        (s + n / 2) / n
                                    } else {
                                        (s - n / 2) / n
                                    }
                                }
                            };
                        }
                    }
                }
            }
            // `Plan` and the writer keep weights on weighted layers only.
            _ => return Vec::new(),
        }
        if let Some(q) = q {
            z = q.z_out;
        }
        a = out;
    }
    a.into_iter().map(|v| v as i8).collect()
}

fn requant(q: &QuantDense, j: usize, acc: i32) -> i32 {
    let out = OutputQuant {
        zero_point: q.z_out,
        act_min: q.act_min,
        act_max: q.act_max,
    };
    i32::from(requantize(acc, q.multiplier[j], q.shift[j], out))
}
