//! The CNN as standard ONNX operators, computing runtime-nostd's integers (FORMAT.md, "CNN"):
//!
//! * `x_q` `[N, F]` is reshaped to `[N, C, H, W]` (`[N, C, 1, T]` for a sequence): ONNX is
//!   channels-first, so the weights are written back in the float layouts (`cnn_layout`).
//! * conv / dwconv: `ConvInteger` on uint8 (onnxruntime implements it for uint8 only): the
//!   activation shifted by +128 with zero point `z_in + 128`, the weights by +128 with zero
//!   point 128, so it computes `Σ W·(q − z_in)` exactly, padding included (a padded position
//!   is the zero point: it adds 0). `+ b_q` (the bias before zero-point folding: the folded
//!   one plus `z_in·ΣW`), then the dense layers' exact float64 requantization.
//! * maxpool: `MaxPool` on the values as floats (exact).
//! * avgpool / gap: the window sum `s` as `Round(AveragePool · n)` (exact: |s| ≤ 128·n is far
//!   below float's 2^24 and the error of the average far below 1/2n), then in int32
//!   `sign(s) · ((|s| + n/2) / n)`, truncating division: the runtime's half-away-from-zero rule.
//! * dense: `Flatten` (CHW order), then the MLP's `MatMulInteger` layer.
use runtime_nostd::format::cnn::{Layer, Padding, Plan};
use tract_onnx::pb::tensor_proto::DataType;

use crate::cnn_layout::to_float;
use crate::error::{ExportError, Result};
use crate::onnx_graph::{dense, requantize};
use crate::onnx_pb::*;
use crate::quantized::{QuantCnn, QuantDense, QuantModel};

/// Wires the CNN after `x_q`; returns the int8 logits' name (`names::LOGITS`).
pub fn cnn(g: &mut Graph, m: &QuantModel, c: &QuantCnn, x_q: &str) -> Result<String> {
    let plan = m
        .cnn_plan()
        .ok_or_else(|| ExportError::Onnx("the CNN's layers do not fit its input".into()))?;
    let first = plan
        .input_of(0)
        .unwrap_or(runtime_nostd::format::cnn::Shape { c: 0, h: 0, w: 0 });
    let shape = g.init(i64_tensor(
        "cnn.input_shape",
        &[4],
        &[-1, first.c as i64, first.h as i64, first.w as i64],
    ));
    let mut a = g.node("Reshape", &[x_q, &shape], "cnn.x_q_nchw", vec![]);
    let mut z = m.input.zero_point;
    let last = plan.layers().len().saturating_sub(1);
    for (k, ((layer, i, o), q)) in plan.iter().zip(&c.weighted).enumerate() {
        a = match (layer, q) {
            (Layer::Conv { .. } | Layer::DwConv { .. }, Some(q)) => {
                conv(g, k, &plan, layer, i, o.c, q, &a, z)?
            }
            (Layer::Dense(_), Some(q)) => {
                // A no-op after another dense layer's [N, O].
                let flat = g.node(
                    "Flatten",
                    &[&a],
                    &format!("layers.{k}.flat"),
                    vec![attr_int("axis", 1)],
                );
                let float = QuantDense {
                    weight: to_float(layer, i, plan.is_sequence(), &q.weight),
                    ..q.clone()
                };
                dense(g, k, &float, &flat, k == last)?
            }
            (Layer::MaxPool(_), None) => {
                let (kh, kw) = layer.window(plan.is_sequence());
                let f = to_f32(g, k, &a);
                let v = g.node(
                    "MaxPool",
                    &[&f],
                    &format!("layers.{k}.max"),
                    vec![
                        attr_ints("kernel_shape", &[kh as i64, kw as i64]),
                        attr_ints("strides", &[kh as i64, kw as i64]),
                    ],
                );
                g.node(
                    "Cast",
                    &[&v],
                    &format!("layers.{k}.out"),
                    vec![cast_to(DataType::Int8)],
                )
            }
            (Layer::AvgPool(_) | Layer::Gap, None) => {
                let (kh, kw) = match layer {
                    Layer::Gap => (i.h, i.w),
                    _ => layer.window(plan.is_sequence()),
                };
                average(g, k, &a, kh, kw)
            }
            _ => {
                return Err(ExportError::Onnx(format!(
                    "layers.{k} ({layer}): weights do not match the layer kind"
                )));
            }
        };
        if let Some(q) = q {
            z = q.z_out;
        }
    }
    Ok(a)
}

/// A convolution (full or depthwise) with its requantization; `a` is int8 NCHW.
#[allow(clippy::too_many_arguments)]
fn conv(
    g: &mut Graph,
    k: usize,
    plan: &Plan,
    layer: Layer,
    i: runtime_nostd::format::cnn::Shape,
    out_c: usize,
    q: &QuantDense,
    a: &str,
    z_in: i32,
) -> Result<String> {
    let p = format!("layers.{k}");
    let (kh, kw) = layer.window(plan.is_sequence());
    let (stride, padding, group) = match layer {
        Layer::Conv {
            stride, padding, ..
        } => (stride, padding, 1),
        Layer::DwConv {
            stride, padding, ..
        } => (stride, padding, i.c),
        _ => return Err(ExportError::Onnx(format!("{p}: not a convolution"))),
    };
    let (ph, pw) = match padding {
        Padding::Same => ((kh - 1) / 2, (kw - 1) / 2),
        Padding::Valid => (0, 0),
    };
    let w_float = to_float(layer, i, plan.is_sequence(), &q.weight);
    let w_u8: Vec<u8> = w_float
        .iter()
        .map(|&w| (i16::from(w) + 128) as u8)
        .collect();
    let per_out = w_u8.len() / out_c.max(1);
    let w = g.init(u8_tensor(
        &format!("{p}.weight_u8"),
        &[out_c, i.c / group, kh, kw],
        &w_u8,
    ));
    // The bias before folding: b_q = folded + z_in·ΣW (FORMAT.md), in i32 like the runtime's.
    let mut b_q = Vec::with_capacity(out_c);
    for (j, row) in q.weight.chunks_exact(per_out).enumerate() {
        let sum: i64 = row.iter().map(|&w| i64::from(w)).sum();
        let b = i64::from(q.bias[j]) + i64::from(z_in) * sum;
        b_q.push(i32::try_from(b).map_err(|_| {
            ExportError::Onnx(format!(
                "{p} channel {j}: unfolded bias {b} does not fit i32"
            ))
        })?);
    }
    let b = g.init(i32_tensor(
        &format!("{p}.bias_unfolded"),
        &[out_c, 1, 1],
        &b_q,
    ));
    let zx = g.init(u8_tensor(
        &format!("{p}.x_zero_point_u8"),
        &[],
        &[(z_in + 128) as u8],
    ));
    let zw = g.init(u8_tensor(&format!("{p}.w_zero_point_u8"), &[], &[128]));
    let x_u8 = to_u8(g, k, a);
    let v = g.node(
        "ConvInteger",
        &[&x_u8, &w, &zx, &zw],
        &format!("{p}.acc_nobias"),
        vec![
            attr_ints("kernel_shape", &[kh as i64, kw as i64]),
            attr_ints("strides", &[stride as i64, stride as i64]),
            attr_ints("pads", &[ph as i64, pw as i64, ph as i64, pw as i64]),
            attr_int("group", group as i64),
        ],
    );
    let v = g.node("Add", &[&v, &b], &format!("{p}.acc"), vec![]);
    requantize(g, k, q, &v, &[out_c, 1, 1], &format!("{p}.out"))
}

/// Average pooling (or global, with the window the whole input) under the runtime's rule.
fn average(g: &mut Graph, k: usize, a: &str, kh: usize, kw: usize) -> String {
    let p = format!("layers.{k}");
    let n = (kh * kw) as i32;
    let f = to_f32(g, k, a);
    let nf = g.init(f32_tensor(&format!("{p}.window_f"), &[], &[n as f32]));
    let ni = g.init(i32_tensor(&format!("{p}.window"), &[], &[n]));
    let half = g.init(i32_tensor(&format!("{p}.half_window"), &[], &[n / 2]));
    let avg = g.node(
        "AveragePool",
        &[&f],
        &format!("{p}.avg"),
        vec![
            attr_ints("kernel_shape", &[kh as i64, kw as i64]),
            attr_ints("strides", &[kh as i64, kw as i64]),
        ],
    );
    let s = g.node("Mul", &[&avg, &nf], &format!("{p}.sum_f"), vec![]);
    let s = g.node("Round", &[&s], &format!("{p}.sum_rounded"), vec![]);
    let s = g.node(
        "Cast",
        &[&s],
        &format!("{p}.sum"),
        vec![cast_to(DataType::Int32)],
    );
    let mag = g.node("Abs", &[&s], &format!("{p}.sum_abs"), vec![]);
    let mag = g.node("Add", &[&mag, &half], &format!("{p}.sum_abs_half"), vec![]);
    let mag = g.node("Div", &[&mag, &ni], &format!("{p}.mean_abs"), vec![]);
    let sign = g.node("Sign", &[&s], &format!("{p}.sign"), vec![]);
    let v = g.node("Mul", &[&mag, &sign], &format!("{p}.mean"), vec![]);
    g.node(
        "Cast",
        &[&v],
        &format!("{p}.out"),
        vec![cast_to(DataType::Int8)],
    )
}

fn to_f32(g: &mut Graph, k: usize, a: &str) -> String {
    g.node(
        "Cast",
        &[a],
        &format!("layers.{k}.in_f32"),
        vec![cast_to(DataType::Float)],
    )
}

/// int8 → uint8 by +128 (through int32: a Cast alone would wrap, not shift).
fn to_u8(g: &mut Graph, k: usize, a: &str) -> String {
    let p = format!("layers.{k}");
    let shift = g.init(i32_tensor(&format!("{p}.u8_shift"), &[], &[128]));
    let v = g.node(
        "Cast",
        &[a],
        &format!("{p}.in_i32"),
        vec![cast_to(DataType::Int32)],
    );
    let v = g.node("Add", &[&v, &shift], &format!("{p}.in_shifted"), vec![]);
    g.node(
        "Cast",
        &[&v],
        &format!("{p}.in_u8"),
        vec![cast_to(DataType::Uint8)],
    )
}

#[cfg(test)]
mod tests {
    use runtime_nostd::format::cnn::{Layer, Plan};

    use crate::calibrate::{Clipping, calibrate};
    use crate::dataset::Dataset;
    use crate::float_model::{CnnLayer, FloatBody, FloatModel};
    use crate::quantized::QuantModel;

    /// Deterministic values in [−1, 1) (a small LCG: no RNG dependency in export).
    fn values(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    /// A random float CNN of `layers` on `input` with `classes` outputs.
    fn model(layers: &str, input: &[usize], classes: usize) -> FloatModel {
        let plan = Plan::parse(layers, input, classes).unwrap();
        let cnn = plan
            .iter()
            .enumerate()
            .map(|(k, (layer, i, o))| {
                let (w, b) = match layer.has_weights() {
                    true => (layer.weights(i, plan.is_sequence()), o.c),
                    false => (0, 0),
                };
                let scale = 1.0 / ((w / b.max(1)).max(1) as f32).sqrt();
                CnnLayer {
                    layer,
                    weight: values(w, k as u64)
                        .iter()
                        .map(|v| v * scale * 1.5)
                        .collect(),
                    bias: values(b, 100 + k as u64).iter().map(|v| v * 0.2).collect(),
                }
            })
            .collect();
        FloatModel {
            input_shape: input.to_vec(),
            classes: (0..classes).map(|c| format!("c{c}")).collect(),
            mean: vec![0.0],
            std: vec![1.0],
            body: FloatBody::Cnn(cnn),
            source_sha256: [7; 32],
            config: None,
        }
    }

    /// tract's run of the ONNX twin and runtime-nostd's of the artifact both give exactly the
    /// integer reference's logits for every row, from the same `x_q`: every layer kind,
    /// padding (which must read the zero point), strides, depthwise, both poolings' rounding,
    /// a sequence input with several channels.
    fn check(layers: &str, input: &[usize], classes: usize) {
        let m = model(layers, input, classes);
        let f = m.features();
        let rows = 40;
        let data = Dataset::new(
            values(rows * f, 9).iter().map(|v| v * 2.0).collect(),
            f,
            None,
        )
        .unwrap();
        let ranges = calibrate(&m, &data, rows, Clipping::MinMax).unwrap();
        let qm = QuantModel::build(&m, &ranges).unwrap();
        let onnx = crate::onnx_graph::onnx_bytes(&qm).unwrap();
        let tr = crate::tract_eval::run_onnx(&onnx, &data.x, f, true).unwrap();
        let c = classes;
        let bytes = crate::artifact::artifact_bytes(&qm).unwrap();
        let device = runtime_nostd::Model::from_bytes(&bytes).unwrap();
        let mut scratch = vec![0u8; device.scratch_len()];
        let mut on_device = vec![0i8; c];
        let mut varied = std::collections::BTreeSet::new();
        for r in 0..rows {
            let x_q = &tr.x_q[r * f..(r + 1) * f];
            let (logits, class) = crate::reference::forward(&qm, x_q);
            assert_eq!(logits, &tr.logits[r * c..(r + 1) * c], "{layers}: row {r}");
            assert_eq!(class, tr.class[r], "{layers}: row {r}");
            let p = device.infer(x_q, &mut scratch, &mut on_device).unwrap();
            assert_eq!(
                (logits.as_slice(), class),
                (&on_device[..], p.class),
                "{layers}: row {r}"
            );
            varied.insert(logits);
        }
        // Not a degenerate network that says the same thing for every input.
        assert!(
            varied.len() > rows / 2,
            "{layers}: only {} distinct outputs",
            varied.len()
        );
    }

    #[test]
    fn twin_and_artifact_compute_the_reference_integers_on_images() {
        check(
            "conv 6 k3 s1 same;maxpool 2;dwconv k3 s2 same;conv 8 k1 s1 valid;avgpool 2;dense 12;dense 5",
            &[2, 12, 12],
            5,
        );
        check("conv 4 k5 s2 valid;gap;dense 3", &[1, 11, 11], 3);
    }

    #[test]
    fn twin_and_artifact_compute_the_reference_integers_on_sequences() {
        check(
            "conv 8 k5 s1 same;maxpool 2;dwconv k3;gap;dense 4",
            &[3, 20],
            4,
        );
    }

    #[test]
    fn layers_that_do_not_fit_are_refused_before_writing() {
        let mut m = model("conv 4;gap;dense 3", &[1, 6, 6], 3);
        if let FloatBody::Cnn(l) = &mut m.body {
            l[0].layer = Layer::parse("conv 4 k5 s1 same").unwrap();
        }
        assert!(m.validate().is_err());
    }
}
