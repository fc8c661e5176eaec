//! The int8 model in memory, exactly the numbers the artifact stores, and how it is built
//! from a float model and its calibration ranges.

use runtime_nostd::format::cnn::{Layer, Plan};

use crate::error::{ExportError, Result};
use crate::float_model::{CnnLayer, Dense, FloatBody, FloatModel, SoftTree};
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

/// The int8 CNN (FORMAT.md, "CNN").
#[derive(Debug, Clone, PartialEq)]
pub struct QuantCnn {
    pub layers: Vec<Layer>,
    /// One entry per layer: `Some` for conv, dwconv and dense, whose `weight` rows are in the
    /// artifact's layout (`[O, KH·KW·C]` OHWI, `[C, KH·KW]`, or `[O, I]` with I in HWC order:
    /// `crate::cnn_layout`) and `in_features` is that row length; `None` for pools.
    pub weighted: Vec<Option<QuantDense>>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum QuantBody {
    Mlp(Vec<QuantDense>),
    Tree(QuantTree),
    Cnn(QuantCnn),
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
            FloatBody::Cnn(layers) => {
                let plan = model
                    .cnn_plan()
                    .transpose()?
                    .ok_or_else(|| ExportError::Shape("a CNN body without a layer plan".into()))?;
                QuantBody::Cnn(cnn(layers, &plan, input, &ranges[1..])?)
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

    /// Multiply-accumulates per inference (MLP: Σ in·out; tree: depth · F; CNN: its plan's).
    pub fn macs(&self) -> usize {
        match &self.body {
            QuantBody::Mlp(ls) => ls.iter().map(|l| l.in_features * l.out_features).sum(),
            QuantBody::Tree(t) => t.depth as usize * self.input_shape.iter().product::<usize>(),
            QuantBody::Cnn(_) => self.cnn_plan().map_or(0, |p| p.macs()),
        }
    }

    /// A CNN's layer plan on this model's input (`None` for other kinds or a broken plan).
    pub fn cnn_plan(&self) -> Option<Plan> {
        match &self.body {
            QuantBody::Cnn(c) => Plan::new(&c.layers, &self.input_shape, self.classes.len()).ok(),
            _ => None,
        }
    }
}

fn mlp(layers: &[Dense], input: ActQuant, ranges: &[(f32, f32)]) -> Result<Vec<QuantDense>> {
    let mut s_in = input;
    let mut out = Vec::with_capacity(layers.len());
    for (k, (l, &(lo, hi))) in layers.iter().zip(ranges).enumerate() {
        let s_out = act_quant(lo, hi)?;
        let last = k + 1 == layers.len();
        out.push(layer(
            k,
            &l.weight,
            &l.bias,
            l.in_features,
            s_in,
            s_out,
            last,
        )?);
        s_in = s_out;
    }
    Ok(out)
}

/// One weighted layer (dense, or a convolution as rows of `cols` weights per output
/// channel): per-channel symmetric weights, folded bias, M and S; ReLU unless `last`.
fn layer(
    k: usize,
    weight: &[f32],
    bias: &[f32],
    cols: usize,
    s_in: ActQuant,
    s_out: ActQuant,
    last: bool,
) -> Result<QuantDense> {
    let (weight, weight_scale) = quantize_rows(weight, cols);
    let outputs = bias.len();
    let mut folded = Vec::with_capacity(outputs);
    let mut multiplier = Vec::with_capacity(outputs);
    let mut shift = Vec::with_capacity(outputs);
    for (j, row) in weight.chunks_exact(cols).enumerate() {
        let name = format!("layers.{k} channel {j}");
        folded.push(folded_bias(
            &name,
            bias[j],
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
    Ok(QuantDense {
        out_features: outputs,
        in_features: cols,
        weight,
        weight_scale,
        bias: folded,
        multiplier,
        shift,
        z_out: s_out.zero_point,
        act_min: if last { -128 } else { s_out.zero_point },
        act_max: 127,
        output_scale: s_out.scale,
    })
}

/// Quantizes each weighted layer with the range of its output (`ranges`, in order); a pool
/// keeps its input's quantization. Weights are quantized per output channel in the float
/// layout, then reordered to the artifact's (the scale of a row does not depend on order).
fn cnn(
    layers: &[CnnLayer],
    plan: &Plan,
    input: ActQuant,
    ranges: &[(f32, f32)],
) -> Result<QuantCnn> {
    let mut s_in = input;
    let mut ranges = ranges.iter();
    let mut weighted = Vec::with_capacity(layers.len());
    for (k, ((kind, i, o), l)) in plan.iter().zip(layers).enumerate() {
        if !kind.has_weights() {
            weighted.push(None);
            continue;
        }
        let &(lo, hi) = ranges
            .next()
            .ok_or_else(|| ExportError::Shape(format!("no calibration range for layers.{k}")))?;
        let s_out = act_quant(lo, hi)?;
        let cols = l.weight.len() / o.c.max(1);
        let mut q = layer(
            k,
            &l.weight,
            &l.bias,
            cols,
            s_in,
            s_out,
            k + 1 == layers.len(),
        )?;
        q.weight = crate::cnn_layout::to_artifact(kind, i, plan.is_sequence(), &q.weight);
        weighted.push(Some(q));
        s_in = s_out;
    }
    Ok(QuantCnn {
        layers: plan.layers().to_vec(),
        weighted,
    })
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
