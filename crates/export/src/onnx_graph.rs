//! The `*.int8.onnx` twin of the artifact: the same integers as a standard-ops ONNX graph.
//!
//! Inputs and outputs (names and order: `runtime_nostd::format::onnx`): `x` float `[N, F]` raw
//! samples in; `x_q` int8 `[N, F]` (the quantized input), and for an MLP `logits` int8 `[N, C]`
//! and `class` int64 `[N]` out, for a tree `class`, `leaf_probs` uint8 `[N, C]` and `leaf` int64
//! `[N]` (see `onnx_tree`).
//!
//! How each part computes, and where it can differ from runtime-nostd:
//! * Input: `Sub(mean) → Div(std) → Div(s_in) → Round → Add(z_in) → Clip(−128, 127) → Cast(int8)`,
//!   the artifact's float rule written out. ONNX `Round` is half-to-even like the rule. tract
//!   rewrites a float `Div` as multiplication by the reciprocal, which is off by at most an ULP
//!   or two; when `x_n / s_in` lies that close to a half-integer, tract's `x_q` can be one step
//!   away from the runtime's. This is the only place the two can differ; `x_q` is an output so
//!   callers can see it.
//! * Layers: `MatMulInteger(x_q, Wᵀ)` (int8 × int8 → int32, no zero points: they are folded
//!   into the bias) `→ Add(bias)`, then the device's requantization
//!   `(acc·M + 2^(S−1)) >> S` computed exactly in float64 (see `requant_constants`:
//!   the multiplier is split in two halves so every product fits 53 bits), `+ z_out → Clip →
//!   Cast(int8)`. Given the same `x_q`, the int8 logits are bit-identical to the runtime's.
//!   (Not int64: tract-onnx turns `Cast(to = INT64)` into its symbolic `TDim` type, whose
//!   division truncates the divisor to i32.)

use prost::Message;
use runtime_nostd::format::{meta, onnx as names};
use tract_onnx::pb::ValueInfoProto;
use tract_onnx::pb::tensor_proto::DataType;

use crate::error::{ExportError, Result};
use crate::onnx_pb::*;
use crate::quantized::{QuantBody, QuantDense, QuantModel};

/// Builds and encodes the ONNX model. Same model ⇒ same bytes (prost encodes in field order).
pub fn onnx_bytes(m: &QuantModel) -> Result<Vec<u8>> {
    let f = m.input_shape.iter().product::<usize>();
    let c = m.classes.len();
    let mut g = Graph::default();
    let x_q = input_quant(&mut g, m, f);
    let outputs: &[&str] = match &m.body {
        QuantBody::Mlp(layers) => {
            let mut a = x_q;
            for (k, l) in layers.iter().enumerate() {
                a = dense(&mut g, k, l, &a, k + 1 == layers.len())?;
            }
            g.node(
                "ArgMax",
                &[&a],
                names::CLASS,
                vec![
                    attr_int("axis", 1),
                    attr_int("keepdims", 0),
                    attr_int("select_last_index", 0),
                ],
            );
            &names::MLP_OUTPUTS
        }
        QuantBody::Tree(t) => {
            crate::onnx_tree::tree(&mut g, t, &x_q, f, c);
            &names::TREE_OUTPUTS
        }
        QuantBody::Cnn(cnn) => {
            let a = crate::onnx_cnn::cnn(&mut g, m, cnn, &x_q)?;
            g.node(
                "ArgMax",
                &[&a],
                names::CLASS,
                vec![
                    attr_int("axis", 1),
                    attr_int("keepdims", 0),
                    attr_int("select_last_index", 0),
                ],
            );
            &names::MLP_OUTPUTS
        }
    };
    let outputs = outputs
        .iter()
        .map(|name| output_info(name, f, c))
        .collect::<Result<Vec<_>>>()?;
    let meta = vec![
        (
            meta::CLASSES.to_string(),
            m.classes
                .join(&runtime_nostd::format::CLASS_SEPARATOR.to_string()),
        ),
        (
            meta::SOURCE_SHA256.to_string(),
            crate::artifact::hex(&m.source_sha256),
        ),
    ];
    let inputs = vec![value_info(names::INPUT, DataType::Float, &[None, Some(f)])];
    Ok(g.finish("microdistill_int8", inputs, outputs, &meta)
        .encode_to_vec())
}

/// The declared element type and shape of each output the contract names.
fn output_info(name: &str, f: usize, c: usize) -> Result<ValueInfoProto> {
    let (dt, dims): (DataType, &[Option<usize>]) = match name {
        names::X_Q => (DataType::Int8, &[None, Some(f)]),
        names::LOGITS => (DataType::Int8, &[None, Some(c)]),
        names::CLASS | names::LEAF => (DataType::Int64, &[None]),
        names::LEAF_PROBS => (DataType::Uint8, &[None, Some(c)]),
        _ => {
            return Err(ExportError::Onnx(format!(
                "output {name:?} has no declared type"
            )));
        }
    };
    Ok(value_info(name, dt, dims))
}

fn input_quant(g: &mut Graph, m: &QuantModel, f: usize) -> String {
    let _ = f;
    let mean = g.init(f32_tensor("input.mean", &[m.mean.len()], &m.mean));
    let std = g.init(f32_tensor("input.std", &[m.std.len()], &m.std));
    let s = g.init(f32_tensor("input.scale", &[], &[m.input.scale]));
    let z = g.init(f32_tensor(
        "input.zero_point",
        &[],
        &[m.input.zero_point as f32],
    ));
    let lo = g.init(f32_tensor("int8.min_f", &[], &[-128.0]));
    let hi = g.init(f32_tensor("int8.max_f", &[], &[127.0]));
    let v = g.node("Sub", &[names::INPUT, &mean], "x.centered", vec![]);
    let v = g.node("Div", &[&v, &std], "x.normalized", vec![]);
    let v = g.node("Div", &[&v, &s], "x.scaled", vec![]);
    let v = g.node("Round", &[&v], "x.rounded", vec![]);
    let v = g.node("Add", &[&v, &z], "x.shifted", vec![]);
    let v = g.node("Clip", &[&v, &lo, &hi], "x.clipped", vec![]);
    g.node("Cast", &[&v], names::X_Q, vec![cast_to(DataType::Int8)])
}

pub(crate) fn dense(
    g: &mut Graph,
    k: usize,
    l: &QuantDense,
    input: &str,
    last: bool,
) -> Result<String> {
    let (o, i) = (l.out_features, l.in_features);
    let mut wt = vec![0i8; o * i];
    for (r, row) in l.weight.chunks_exact(i).enumerate() {
        for (col, &w) in row.iter().enumerate() {
            wt[col * o + r] = w;
        }
    }
    let p = format!("layers.{k}");
    let w = g.init(i8_tensor(&format!("{p}.weight_t"), &[i, o], &wt));
    let b = g.init(i32_tensor(&format!("{p}.bias"), &[o], &l.bias));
    let v = g.node(
        "MatMulInteger",
        &[input, &w],
        &format!("{p}.acc_nobias"),
        vec![],
    );
    let v = g.node("Add", &[&v, &b], &format!("{p}.acc"), vec![]);
    let out = if last {
        names::LOGITS.to_string()
    } else {
        format!("{p}.out")
    };
    requantize(g, k, l, &v, &[o], &out)
}

/// The device's requantization of the int32 accumulator `acc` (channel along the first of
/// `dims`, the constants' shape: `[O]` for a dense output `[N, O]`, `[O, 1, 1]` for a conv
/// output `[N, O, H, W]`), computed exactly in float64 (see `requant_constants`), then
/// `+ z_out → Clip → Cast(int8)` into `out`.
pub(crate) fn requantize(
    g: &mut Graph,
    k: usize,
    l: &QuantDense,
    acc: &str,
    dims: &[usize],
    out: &str,
) -> Result<String> {
    let p = format!("layers.{k}");
    let c = requant_constants(k, l)?;
    let m_hi = g.init(f64_tensor(&format!("{p}.multiplier_hi"), dims, &c.m_hi));
    let m_lo = g.init(f64_tensor(&format!("{p}.multiplier_lo"), dims, &c.m_lo));
    let inv16 = g.init(f64_tensor(
        &format!("{p}.two_pow_minus_16"),
        &[],
        &[LO_SCALE],
    ));
    let half = g.init(f64_tensor(&format!("{p}.half"), dims, &c.half));
    let inv = g.init(f64_tensor(
        &format!("{p}.two_pow_minus_shift"),
        dims,
        &c.inv,
    ));
    let z = g.init(f64_tensor(
        &format!("{p}.zero_point"),
        &[],
        &[f64::from(l.z_out)],
    ));
    let lo = g.init(f64_tensor(
        &format!("{p}.act_min"),
        &[],
        &[f64::from(l.act_min)],
    ));
    let hi = g.init(f64_tensor(
        &format!("{p}.act_max"),
        &[],
        &[f64::from(l.act_max)],
    ));
    let a = g.node(
        "Cast",
        &[acc],
        &format!("{p}.acc_f64"),
        vec![cast_to(DataType::Double)],
    );
    let p1 = g.node("Mul", &[&a, &m_hi], &format!("{p}.p_hi"), vec![]);
    let p0 = g.node("Mul", &[&a, &m_lo], &format!("{p}.p_lo"), vec![]);
    let q0 = g.node("Mul", &[&p0, &inv16], &format!("{p}.p_lo_scaled"), vec![]);
    let q0 = g.node("Floor", &[&q0], &format!("{p}.p_lo_floor"), vec![]);
    let t = g.node("Add", &[&p1, &q0], &format!("{p}.p_sum"), vec![]);
    let t = g.node("Add", &[&t, &half], &format!("{p}.p_rounded"), vec![]);
    let t = g.node("Mul", &[&t, &inv], &format!("{p}.p_shifted"), vec![]);
    let t = g.node("Floor", &[&t], &format!("{p}.p_floor"), vec![]);
    let t = g.node("Add", &[&t, &z], &format!("{p}.requant"), vec![]);
    let t = g.node("Clip", &[&t, &lo, &hi], &format!("{p}.clamped"), vec![]);
    Ok(g.node("Cast", &[&t], out, vec![cast_to(DataType::Int8)]))
}

/// 2^−16: the weight of the multiplier's low half.
const LO_SCALE: f64 = 1.0 / 65536.0;

/// Per-channel constants of the exact float64 requantization (all exactly representable).
struct Requant {
    /// M >> 16 (< 2^15).
    m_hi: Vec<f64>,
    /// M & 0xFFFF.
    m_lo: Vec<f64>,
    /// 2^(S−17): the rounding term 2^(S−1) after the first 16 bits are shifted out.
    half: Vec<f64>,
    /// 2^−(S−16).
    inv: Vec<f64>,
}

/// With `M = M_hi·2^16 + M_lo`, `P_hi = acc·M_hi`, `P_lo = acc·M_lo` (each exact in f64:
/// < 2^47), `(acc·M + 2^(S−1)) >> S = floor((P_hi + floor(P_lo / 2^16) + 2^(S−17)) / 2^(S−16))`
/// for S ≥ 17: dropping the fraction of `P_lo / 2^16` cannot change the floor because the rest
/// is an integer and the divisor a whole power of two. Every intermediate is an integer below
/// 2^53 or an exact power-of-two scaling, so float64 computes it exactly.
fn requant_constants(k: usize, l: &QuantDense) -> Result<Requant> {
    let mut c = Requant {
        m_hi: Vec::new(),
        m_lo: Vec::new(),
        half: Vec::new(),
        inv: Vec::new(),
    };
    for (j, (&m, &s)) in l.multiplier.iter().zip(&l.shift).enumerate() {
        if !(17..=62).contains(&s) || m < 0 {
            return Err(ExportError::Onnx(format!(
                "layers.{k} channel {j}: shift {s} < 17 (real multiplier ≥ 2^14) has no exact float64 form"
            )));
        }
        c.m_hi.push(f64::from(m >> 16));
        c.m_lo.push(f64::from(m & 0xFFFF));
        c.half.push(2f64.powi(s - 17));
        c.inv.push(2f64.powi(16 - s));
    }
    Ok(c)
}
