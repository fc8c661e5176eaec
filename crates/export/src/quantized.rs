//! The int8 model in memory, exactly the numbers the artifact stores, and how it is built
//! from a float model and its calibration ranges.

use crate::error::Result;
use crate::float_model::{Dense, FloatBody, FloatModel, SoftTree};
use crate::quant_rule::{ActQuant, act_quant, folded_bias, multiplier_shift, quantize_rows};

/// One int8 dense layer (FORMAT.md, "MLP").
#[derive(Debug, Clone, PartialEq)]
pub struct QuantDense {
    pub out_features: usize,
    pub in_features: usize,
    /// `[out, in]` row-major, in [−127, 127].
    pub weight: Vec<i8>,
    pub weight_scale: Vec<f32>,
    /// Zero-point-folded bias.
    pub bias: Vec<i32>,
    pub multiplier: Vec<i32>,
    pub shift: Vec<i32>,
    /// Output zero point and clamp; ReLU ⇒ `act_min == z_out`.
    pub z_out: i32,
    pub act_min: i32,
    pub act_max: i32,
    pub output_scale: f32,
}

/// The int8 soft decision tree (FORMAT.md, "Soft decision tree").
#[derive(Debug, Clone, PartialEq)]
pub struct QuantTree {
    pub depth: u32,
    /// `[2^d − 1, F]`.
    pub weight: Vec<i8>,
    pub weight_scale: Vec<f32>,
    pub bias: Vec<i32>,
    /// `[2^d, C]`: `round(255 · softmax(φ_ℓ))`.
    pub leaf_probs: Vec<u8>,
    /// `[2^d]`: first argmax of each leaf's distribution.
    pub leaf_class: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum QuantBody {
    Mlp(Vec<QuantDense>),
    Tree(QuantTree),
}

/// Everything the artifact holds.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantModel {
    pub input_shape: Vec<usize>,
    pub classes: Vec<String>,
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
    pub input: ActQuant,
    pub body: QuantBody,
    pub source_sha256: [u8; 32],
}

impl QuantModel {
    /// Quantizes a validated float model with the calibration `ranges` of
    /// [`crate::calibrate::calibrate`] (input first, then each MLP layer output).
    pub fn build(model: &FloatModel, ranges: &[(f32, f32)]) -> Result<Self> {
        model.validate()?;
        let (lo, hi) = ranges[0];
        let input = act_quant(lo, hi)?;
        let body = match &model.body {
            FloatBody::Mlp(layers) => QuantBody::Mlp(mlp(layers, input, &ranges[1..])?),
            FloatBody::Tree(t) => {
                QuantBody::Tree(tree(t, input, model.features(), model.num_classes())?)
            }
        };
        Ok(Self {
            input_shape: model.input_shape.clone(),
            classes: model.classes.clone(),
            mean: model.mean.clone(),
            std: model.std.clone(),
            input,
            body,
            source_sha256: model.source_sha256,
        })
    }

    /// Multiply-accumulates per inference (MLP: Σ in·out; tree: depth · F).
    pub fn macs(&self) -> usize {
        match &self.body {
            QuantBody::Mlp(ls) => ls.iter().map(|l| l.in_features * l.out_features).sum(),
            QuantBody::Tree(t) => t.depth as usize * self.input_shape.iter().product::<usize>(),
        }
    }
}

fn mlp(layers: &[Dense], input: ActQuant, ranges: &[(f32, f32)]) -> Result<Vec<QuantDense>> {
    let mut s_in = input;
    let mut out = Vec::with_capacity(layers.len());
    for (k, (l, &(lo, hi))) in layers.iter().zip(ranges).enumerate() {
        let last = k + 1 == layers.len();
        let s_out = act_quant(lo, hi)?;
        let (weight, weight_scale) = quantize_rows(&l.weight, l.in_features);
        let mut bias = Vec::with_capacity(l.out_features);
        let mut multiplier = Vec::with_capacity(l.out_features);
        let mut shift = Vec::with_capacity(l.out_features);
        for (j, row) in weight.chunks_exact(l.in_features).enumerate() {
            let name = format!("layers.{k} channel {j}");
            bias.push(folded_bias(
                &name,
                l.bias[j],
                s_in.scale,
                weight_scale[j],
                s_in.zero_point,
                row,
            )?);
            let m = f64::from(s_in.scale) * f64::from(weight_scale[j]) / f64::from(s_out.scale);
            let (mm, s) = multiplier_shift(&name, m)?;
            multiplier.push(mm);
            shift.push(s);
        }
        let act_min = if last { -128 } else { s_out.zero_point };
        out.push(QuantDense {
            out_features: l.out_features,
            in_features: l.in_features,
            weight,
            weight_scale,
            bias,
            multiplier,
            shift,
            z_out: s_out.zero_point,
            act_min,
            act_max: 127,
            output_scale: s_out.scale,
        });
        s_in = s_out;
    }
    Ok(out)
}

fn tree(t: &SoftTree, input: ActQuant, f: usize, c: usize) -> Result<QuantTree> {
    let (weight, weight_scale) = quantize_rows(&t.inner_weight, f);
    let bias = weight
        .chunks_exact(f)
        .enumerate()
        .map(|(n, row)| {
            folded_bias(
                &format!("tree node {n}"),
                t.inner_bias[n],
                input.scale,
                weight_scale[n],
                input.zero_point,
                row,
            )
        })
        .collect::<Result<Vec<_>>>()?;
    let mut leaf_probs = Vec::with_capacity(t.leaves.len());
    let mut leaf_class = Vec::with_capacity(t.leaves.len() / c);
    for phi in t.leaves.chunks_exact(c) {
        let top = phi.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        let e: Vec<f64> = phi.iter().map(|&v| f64::from(v - top).exp()).collect();
        let z: f64 = e.iter().sum();
        leaf_probs.extend(e.iter().map(|p| (255.0 * p / z).round() as u8));
        leaf_class.push(crate::float_forward::argmax(phi) as u8);
    }
    Ok(QuantTree {
        depth: t.depth,
        weight,
        weight_scale,
        bias,
        leaf_probs,
        leaf_class,
    })
}
