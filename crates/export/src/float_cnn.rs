//! The float CNN's forward pass on one normalized input, channels-first (CHW, PyTorch's
//! layout and the float model's): the reference that calibration measures activation ranges
//! on and that the float accuracy comes from. Plain loops: the CNNs here are small, and this
//! runs on a few thousand calibration rows.
use runtime_nostd::format::cnn::{Layer, Padding, Plan, Shape};

use crate::float_model::CnnLayer;

/// Every layer's output for `x_n` (`[C, H, W]` flattened), in order; the last is the logits.
pub fn cnn_activations(plan: &Plan, layers: &[CnnLayer], x_n: &[f32]) -> Vec<Vec<f32>> {
    let seq = plan.is_sequence();
    let mut outs: Vec<Vec<f32>> = Vec::with_capacity(layers.len());
    let last = layers.len().saturating_sub(1);
    for (k, ((layer, i, o), l)) in plan.iter().zip(layers).enumerate() {
        let x = outs.last().map_or(x_n, Vec::as_slice);
        let (kh, kw) = layer.window(seq);
        let y = match layer {
            Layer::Conv {
                stride, padding, ..
            } => conv(x, i, o, l, (kh, kw), stride, padding, 1),
            Layer::DwConv {
                stride, padding, ..
            } => conv(x, i, o, l, (kh, kw), stride, padding, i.c),
            Layer::MaxPool(_) => pool(x, i, o, (kh, kw), f32::max, |m, _| m),
            Layer::AvgPool(_) => pool(x, i, o, (kh, kw), |a, b| a + b, |s, n| s / n as f32),
            Layer::Gap => pool(x, i, o, (i.h, i.w), |a, b| a + b, |s, n| s / n as f32),
            Layer::Dense(out) => {
                let mut y = l.bias.clone();
                for (j, yj) in y.iter_mut().enumerate().take(out) {
                    let row = &l.weight[j * x.len()..(j + 1) * x.len()];
                    *yj += row.iter().zip(x).map(|(w, v)| w * v).sum::<f32>();
                }
                if k < last {
                    y.iter_mut().for_each(|v| *v = v.max(0.0));
                }
                y
            }
        };
        outs.push(y);
    }
    outs
}

/// Convolution with `groups` groups (1: full, `i.c`: depthwise), then ReLU.
#[allow(clippy::too_many_arguments)]
fn conv(
    x: &[f32],
    i: Shape,
    o: Shape,
    l: &CnnLayer,
    (kh, kw): (usize, usize),
    stride: usize,
    padding: Padding,
    groups: usize,
) -> Vec<f32> {
    let (ph, pw) = match padding {
        Padding::Same => ((kh - 1) / 2, (kw - 1) / 2),
        Padding::Valid => (0, 0),
    };
    let cin = i.c / groups;
    let per_group = o.c / groups;
    let mut y = vec![0f32; o.len()];
    for oc in 0..o.c {
        let g = oc / per_group;
        for oy in 0..o.h {
            for ox in 0..o.w {
                let mut acc = l.bias[oc];
                for c in 0..cin {
                    let ic = g * cin + c;
                    for ky in 0..kh {
                        let Some(iy) = (oy * stride + ky).checked_sub(ph).filter(|&v| v < i.h)
                        else {
                            continue;
                        };
                        for kx in 0..kw {
                            let Some(ix) = (ox * stride + kx).checked_sub(pw).filter(|&v| v < i.w)
                            else {
                                continue;
                            };
                            let w = l.weight[((oc * cin + c) * kh + ky) * kw + kx];
                            acc += w * x[(ic * i.h + iy) * i.w + ix];
                        }
                    }
                }
                y[(oc * o.h + oy) * o.w + ox] = acc.max(0.0);
            }
        }
    }
    y
}

/// Non-overlapping `kh × kw` windows (stride = window), folded by `f` and finished by `end`
/// with the window size.
fn pool(
    x: &[f32],
    i: Shape,
    o: Shape,
    (kh, kw): (usize, usize),
    f: impl Fn(f32, f32) -> f32,
    end: impl Fn(f32, usize) -> f32,
) -> Vec<f32> {
    let mut y = vec![0f32; o.len()];
    for c in 0..o.c {
        for oy in 0..o.h {
            for ox in 0..o.w {
                let at = |ky: usize, kx: usize| x[(c * i.h + oy * kh + ky) * i.w + ox * kw + kx];
                let mut acc = at(0, 0);
                for ky in 0..kh {
                    for kx in 0..kw {
                        if ky + kx > 0 {
                            acc = f(acc, at(ky, kx));
                        }
                    }
                }
                y[(c * o.h + oy) * o.w + ox] = end(acc, kh * kw);
            }
        }
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(s: &str, weight: Vec<f32>, bias: Vec<f32>) -> CnnLayer {
        CnnLayer {
            layer: Layer::parse(s).unwrap(),
            weight,
            bias,
        }
    }

    /// A 3×3 input through every layer kind, checked by hand.
    #[test]
    fn each_layer_kind_computes_what_its_rule_says() {
        let x: Vec<f32> = (1..=9).map(|v| v as f32).collect(); // [1, 3, 3]
        let layers = vec![
            // 3×3 same: the centre sees all 9 values (sum 45), a corner sees 4.
            layer("conv 1 k3 s1 same", vec![1.0; 9], vec![-1.0]),
            layer("maxpool 2", vec![], vec![]),
            layer("gap", vec![], vec![]),
            layer("dense 2", vec![2.0, -1.0], vec![0.5, 0.0]),
        ];
        let kinds: Vec<Layer> = layers.iter().map(|l| l.layer).collect();
        let plan = Plan::new(&kinds, &[1, 3, 3], 2).unwrap();
        let acts = cnn_activations(&plan, &layers, &x);
        // Top-left output: 1 + 2 + 4 + 5 − 1 = 11; centre 45 − 1 = 44.
        assert_eq!(acts[0][0], 11.0);
        assert_eq!(acts[0][4], 44.0);
        // The 2×2 max-pool keeps the top-left window {11, 20, 26, 44} (a 1×1 output).
        assert_eq!(acts[1], vec![44.0]);
        assert_eq!(acts[2], vec![44.0]);
        // The last dense has no ReLU.
        assert_eq!(acts[3], vec![88.5, -44.0]);
    }

    #[test]
    fn depthwise_and_average_pool_on_a_sequence() {
        // [2, 4]: two channels over four steps.
        let x = vec![1.0, 2.0, 3.0, 4.0, -1.0, -2.0, -3.0, -4.0];
        let layers = vec![
            layer("dwconv k1 s1 valid", vec![1.0, -1.0], vec![0.0, 0.0]),
            layer("avgpool 2", vec![], vec![]),
            layer(
                "dense 2",
                vec![1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0],
                vec![0.0; 2],
            ),
        ];
        let kinds: Vec<Layer> = layers.iter().map(|l| l.layer).collect();
        let plan = Plan::new(&kinds, &[2, 4], 2).unwrap();
        let acts = cnn_activations(&plan, &layers, &x);
        assert_eq!(acts[0], vec![1.0, 2.0, 3.0, 4.0, 1.0, 2.0, 3.0, 4.0]);
        assert_eq!(acts[1], vec![1.5, 3.5, 1.5, 3.5]);
        assert_eq!(acts[2], vec![1.5, 3.5]);
    }
}
