//! The float student `export` starts from, held in memory, and its checks.
//!
//! The file form (`student.safetensors`) is read and written by `crate::float_load`
//! ([`FloatModel::load`], [`FloatModel::save`]); this module is the in-memory contract that
//! the loader fills and that `distill` builds from a trained student to save it.

use runtime_nostd::format::cnn::{Layer, Plan};

use crate::error::{ExportError, Result};

/// One dense layer `y = W x + b`, `W` row-major `[out, in]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Dense {
    pub out_features: usize,
    pub in_features: usize,
    /// `[out_features * in_features]`, row-major.
    pub weight: Vec<f32>,
    /// `[out_features]`.
    pub bias: Vec<f32>,
}

/// A soft decision tree of depth `depth` (FORMAT.md, "Soft decision tree").
#[derive(Debug, Clone, PartialEq)]
pub struct SoftTree {
    pub depth: u32,
    /// `[(2^depth − 1) * F]`, row-major, one filter per inner node in heap order.
    pub inner_weight: Vec<f32>,
    /// `[2^depth − 1]`.
    pub inner_bias: Vec<f32>,
    /// `[2^depth * C]`: leaf logits φ.
    pub leaves: Vec<f32>,
    /// Inverse temperature; scales the sigmoid only, so it does not change the hard path.
    pub beta: f32,
}

/// One layer of a float CNN: its kind and shape (the runtime's grammar) and, for `conv`,
/// `dwconv` and `dense`, its parameters in PyTorch's layouts (FORMAT.md, the float model):
/// `[O, C, KH, KW]`, `[C, 1, KH, KW]` or `[O, I]` with I in CHW flatten order; empty for pools.
#[derive(Debug, Clone, PartialEq)]
pub struct CnnLayer {
    pub layer: Layer,
    pub weight: Vec<f32>,
    pub bias: Vec<f32>,
}

/// What kind of student, with its parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum FloatBody {
    /// Dense layers with ReLU between them and none after the last.
    Mlp(Vec<Dense>),
    /// Soft decision tree, run on device along its maximum-probability path.
    Tree(SoftTree),
    /// Convolutions, pools and dense layers (FORMAT.md, "CNN").
    Cnn(Vec<CnnLayer>),
}

/// A float student plus everything the artifact needs besides weights.
#[derive(Debug, Clone, PartialEq)]
pub struct FloatModel {
    /// Shape of one input, e.g. `[1, 28, 28]`; its product is the feature count F.
    pub input_shape: Vec<usize>,
    /// Class names, one per output; stored in the artifact joined by `|`.
    pub classes: Vec<String>,
    /// Normalization mean, `[F]` or `[1]` (broadcast).
    pub mean: Vec<f32>,
    /// Normalization standard deviation, same length as `mean`, all > 0.
    pub std: Vec<f32>,
    pub body: FloatBody,
    /// SHA-256 of the float model file; [`crate::FloatModel::from_safetensors_bytes`] sets it,
    /// a caller building the model in memory sets the hash of the file it saved (or any
    /// stable identity it chooses). Written to the artifact's `source_sha256`.
    pub source_sha256: [u8; 32],
    /// The resolved experiment config (TOML) that trained it, stored as the file's `config`
    /// metadata for provenance; `distill` sets it. Nothing in `export` reads it.
    pub config: Option<String>,
}

impl FloatModel {
    /// Input features F (product of `input_shape`).
    pub fn features(&self) -> usize {
        self.input_shape.iter().product()
    }

    /// Number of classes C.
    pub fn num_classes(&self) -> usize {
        self.classes.len()
    }

    /// Checks shapes against each other and against `input_shape`/`classes`, and that every
    /// parameter is finite and every `std` positive.
    pub fn validate(&self) -> Result<()> {
        let f = self.features();
        let c = self.num_classes();
        if f == 0 || self.input_shape.is_empty() {
            return Err(ExportError::Shape(format!(
                "input_shape {:?} is empty",
                self.input_shape
            )));
        }
        if !(2..=256).contains(&c) {
            // Classes travel as U8 indices (leaf classes, test vectors).
            return Err(ExportError::Shape(format!("{c} classes: need 2 to 256")));
        }
        let norm_ok =
            self.mean.len() == self.std.len() && (self.mean.len() == 1 || self.mean.len() == f);
        if !norm_ok {
            return Err(ExportError::Shape(format!(
                "input.mean has {} values and input.std {}: both must be 1 or F = {f}",
                self.mean.len(),
                self.std.len()
            )));
        }
        finite("input.mean", &self.mean)?;
        finite("input.std", &self.std)?;
        if let Some(i) = self.std.iter().position(|&s| s <= 0.0) {
            return Err(ExportError::Data {
                what: "input.std".into(),
                reason: format!("value {} at index {i} is not positive", self.std[i]),
            });
        }
        match &self.body {
            FloatBody::Mlp(layers) => validate_mlp(layers, f, c),
            FloatBody::Tree(t) => validate_tree(t, f, c),
            FloatBody::Cnn(layers) => validate_cnn(layers, &self.input_shape, c).map(|_| ()),
        }
    }

    /// A CNN's checked layer plan (shapes, MACs); `None` for other kinds.
    pub fn cnn_plan(&self) -> Option<Result<Plan>> {
        match &self.body {
            FloatBody::Cnn(layers) => {
                Some(validate_cnn(layers, &self.input_shape, self.num_classes()))
            }
            _ => None,
        }
    }
}

/// The plan of `layers` on `input`, after checking every parameter's length and value.
pub(crate) fn validate_cnn(layers: &[CnnLayer], input: &[usize], c: usize) -> Result<Plan> {
    let kinds: Vec<Layer> = layers.iter().map(|l| l.layer).collect();
    let plan = Plan::new(&kinds, input, c)
        .map_err(|e| ExportError::Shape(format!("CNN on input {input:?} with {c} classes: {e}")))?;
    for (k, ((layer, i, o), l)) in plan.iter().zip(layers).enumerate() {
        let (w, b) = match layer.has_weights() {
            true => (layer.weights(i, plan.is_sequence()), o.c),
            false => (0, 0),
        };
        if l.weight.len() != w || l.bias.len() != b {
            return Err(ExportError::Shape(format!(
                "layers.{k} ({layer}): weight has {} values and bias {}, expected {w} and {b}",
                l.weight.len(),
                l.bias.len()
            )));
        }
        finite(&format!("layers.{k}.weight"), &l.weight)?;
        finite(&format!("layers.{k}.bias"), &l.bias)?;
    }
    Ok(plan)
}

fn validate_mlp(layers: &[Dense], f: usize, c: usize) -> Result<()> {
    if layers.is_empty() {
        return Err(ExportError::Shape("MLP with no layers".into()));
    }
    let mut width = f;
    for (k, l) in layers.iter().enumerate() {
        if l.in_features != width || l.out_features == 0 {
            return Err(ExportError::Shape(format!(
                "layers.{k} is [{}, {}] but its input has {width} features",
                l.out_features, l.in_features
            )));
        }
        if l.weight.len() != l.out_features * l.in_features || l.bias.len() != l.out_features {
            return Err(ExportError::Shape(format!(
                "layers.{k}: weight has {} values and bias {}, expected {} and {}",
                l.weight.len(),
                l.bias.len(),
                l.out_features * l.in_features,
                l.out_features
            )));
        }
        finite(&format!("layers.{k}.weight"), &l.weight)?;
        finite(&format!("layers.{k}.bias"), &l.bias)?;
        width = l.out_features;
    }
    if width != c {
        return Err(ExportError::Shape(format!(
            "last layer has {width} outputs but there are {c} classes"
        )));
    }
    Ok(())
}

fn validate_tree(t: &SoftTree, f: usize, c: usize) -> Result<()> {
    if !(1..=10).contains(&t.depth) {
        return Err(ExportError::Shape(format!(
            "tree depth {} outside 1..=10",
            t.depth
        )));
    }
    let inner = (1usize << t.depth) - 1;
    let leaves = 1usize << t.depth;
    if t.inner_weight.len() != inner * f
        || t.inner_bias.len() != inner
        || t.leaves.len() != leaves * c
    {
        return Err(ExportError::Shape(format!(
            "tree of depth {} over {f} features and {c} classes needs inner weight {}, bias {}, \
             leaves {}; found {}, {}, {}",
            t.depth,
            inner * f,
            inner,
            leaves * c,
            t.inner_weight.len(),
            t.inner_bias.len(),
            t.leaves.len()
        )));
    }
    finite("tree.inner.weight", &t.inner_weight)?;
    finite("tree.inner.bias", &t.inner_bias)?;
    finite("tree.leaves", &t.leaves)?;
    finite("tree.beta", &[t.beta])
}

/// Fails on the first NaN or infinity in `v`.
pub(crate) fn finite(tensor: &str, v: &[f32]) -> Result<()> {
    match v.iter().position(|x| !x.is_finite()) {
        Some(index) => Err(ExportError::NonFinite {
            tensor: tensor.into(),
            index,
        }),
        None => Ok(()),
    }
}
