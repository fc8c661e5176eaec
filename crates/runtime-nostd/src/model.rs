//! `Model`: the artifact parsed in place, its metadata, and `infer`.

use crate::Error;
use crate::cnn::Cnn;
use crate::container::{Container, Tables, Tensor};
use crate::format::cnn::Plan;
use crate::format::{
    self, Dtype, MAX_CLASSES, MAX_DIMS, MAX_LAYERS, meta, parse_decimal, split_ascii,
};
use crate::mlp::Mlp;
use crate::quant::{F32s, I32s, quantize_value};
use crate::tree::{Tree, TreePath};

/// Which student an artifact holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Kind {
    Mlp,
    Tree,
    Cnn,
}

impl Kind {
    /// The `kind` metadata value: `format::KIND_MLP`, `KIND_TREE` or `KIND_CNN`.
    pub const fn name(self) -> &'static str {
        match self {
            Kind::Mlp => format::KIND_MLP,
            Kind::Tree => format::KIND_TREE,
            Kind::Cnn => format::KIND_CNN,
        }
    }
}

/// What `infer` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Prediction {
    /// Predicted class: the first maximum of the logits (MLP, CNN) or the reached leaf's
    /// stored class (tree).
    pub class: usize,
    /// Tree only: the reached leaf and the path to it.
    pub path: Option<TreePath>,
}

// No heap, so no Box: the MLP's and the CNN's fixed layer tables stay inline.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Copy)]
enum Body<'a> {
    Mlp(Mlp<'a>),
    Tree(Tree<'a>),
    Cnn(Cnn<'a>),
}

/// A validated artifact borrowing its bytes: weights are read in place (from flash on a
/// device). Every check happens in `from_bytes`; `infer` can only fail on the caller's
/// buffer lengths.
#[derive(Debug, Clone, Copy)]
pub struct Model<'a> {
    input_shape: [usize; MAX_DIMS],
    input_rank: usize,
    features: usize,
    classes: &'a str,
    num_classes: usize,
    source_sha256: &'a str,
    mean: F32s<'a>,
    std: F32s<'a>,
    input_scale: f32,
    input_zero_point: i32,
    body: Body<'a>,
}

impl<'a> Model<'a> {
    /// Parses and validates a `*.int8.safetensors` artifact (FORMAT.md) without copying.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Model<'a>, Error> {
        // The header's tables are the largest thing on the stack while loading (~1.3 KB on
        // a 32-bit target): zeroed in place here and only borrowed below.
        let mut tables = Tables::EMPTY;
        let c = Container::parse(bytes, &mut tables)?;
        Self::load(&c)
    }

    #[inline(never)]
    fn load(c: &Container<'a, '_>) -> Result<Model<'a>, Error> {
        let meta = |key: &str| c.meta(key).ok_or(Error::MissingMetadata);
        if meta(meta::FORMAT)? != format::FORMAT_NAME {
            return Err(Error::WrongFormat);
        }
        if meta(meta::FORMAT_VERSION)? != format::FORMAT_VERSION {
            return Err(Error::UnsupportedVersion);
        }
        let kind = meta(meta::KIND)?;
        let (input_shape, input_rank, features) = parse_shape(meta(meta::INPUT_SHAPE)?)?;
        let classes = meta(meta::CLASSES)?;
        let num_classes = parse_classes(classes)?;
        let source_sha256 = meta(meta::SOURCE_SHA256)?;

        let f32s = |name: &str| -> Result<F32s<'a>, Error> {
            let t = c.tensor(name).ok_or(Error::MissingTensor)?;
            let n = if t.shape() == [1] { 1 } else { features };
            Ok(F32s(tensor(t, Dtype::F32, &[n])?))
        };
        let mean = f32s(format::INPUT_MEAN)?;
        let std = f32s(format::INPUT_STD)?;
        if mean.iter().any(|m| !m.is_finite()) || std.iter().any(|s| !s.is_finite() || s == 0.0) {
            return Err(Error::InvalidNormalization);
        }
        let scalar =
            |name: &str, dtype| tensor(c.tensor(name).ok_or(Error::MissingTensor)?, dtype, &[1]);
        let input_scale = F32s(scalar(format::INPUT_QUANT, Dtype::F32)?).get(0);
        if !(input_scale.is_finite() && input_scale > 0.0) {
            return Err(Error::InvalidInputScale);
        }
        let input_zero_point = I32s(scalar(format::INPUT_ZERO_POINT, Dtype::I32)?).get(0);
        if !(-128..=127).contains(&input_zero_point) {
            return Err(Error::ZeroPointRange);
        }

        let mut model = Model {
            input_shape,
            input_rank,
            features,
            classes,
            num_classes,
            source_sha256,
            mean,
            std,
            input_scale,
            input_zero_point,
            // Zeros (no layer yet): filled in place below, never copied.
            body: Body::Mlp(Mlp::EMPTY),
        };
        let expected_tensors = match (kind, &mut model.body) {
            (format::KIND_MLP, Body::Mlp(mlp)) => {
                let n = parse_decimal(meta(meta::NUM_LAYERS)?)
                    .filter(|n| (1..=MAX_LAYERS).contains(n))
                    .ok_or(Error::InvalidNumLayers)?;
                mlp.load(c, n, features, num_classes)?;
                4 + 7 * n
            }
            (format::KIND_TREE, body) => {
                let d = parse_decimal(meta(meta::DEPTH)?).ok_or(Error::InvalidDepth)?;
                *body = Body::Tree(Tree::load(c, d, features, num_classes)?);
                4 + 5
            }
            (format::KIND_CNN, body) => {
                // `[C, H, W]` or `[C, T]`.
                let dims = input_shape
                    .get(..input_rank)
                    .filter(|d| (2..=3).contains(&d.len()))
                    .ok_or(Error::InvalidInputShape)?;
                // Filled in place, like the MLP's table.
                *body = Body::Cnn(Cnn::EMPTY);
                let Body::Cnn(cnn) = body else {
                    return Err(Error::UnknownKind);
                };
                let layers = meta(meta::LAYERS)?;
                cnn.load(c, layers, dims, num_classes, input_zero_point)?;
                4 + 7 * cnn.weighted()
            }
            _ => return Err(Error::UnknownKind),
        };
        // Every expected name was found and names are unique, so any extra is unknown.
        if c.num_tensors() != expected_tensors {
            return Err(Error::UnknownTensor);
        }
        Ok(model)
    }

    pub fn kind(&self) -> Kind {
        match self.body {
            Body::Mlp(_) => Kind::Mlp,
            Body::Tree(_) => Kind::Tree,
            Body::Cnn(_) => Kind::Cnn,
        }
    }

    /// Number of int8 inputs (product of `input_shape`).
    pub fn input_len(&self) -> usize {
        self.features
    }

    /// The shape of one input, e.g. `[1, 28, 28]`.
    pub fn input_shape(&self) -> &[usize] {
        self.input_shape.get(..self.input_rank).unwrap_or(&[])
    }

    pub fn num_classes(&self) -> usize {
        self.num_classes
    }

    /// Name of class `i`, borrowed from the artifact.
    pub fn class_name(&self, i: usize) -> Option<&'a str> {
        split_ascii(self.classes, format::CLASS_SEPARATOR as u8).nth(i)
    }

    /// Hex SHA-256 of the float model the artifact was made from.
    pub fn source_sha256(&self) -> &'a str {
        self.source_sha256
    }

    /// MLP: number of dense layers; tree: its depth; CNN: number of layers, pools included
    /// (layer k's tensors are `layers.{k}.*`).
    pub fn num_layers_or_depth(&self) -> usize {
        match &self.body {
            Body::Mlp(m) => m.num_layers(),
            Body::Tree(t) => t.depth as usize,
            Body::Cnn(n) => n.num_layers(self.input_shape(), self.num_classes),
        }
    }

    /// Multiply-accumulates one inference performs.
    pub fn macs(&self) -> usize {
        match &self.body {
            Body::Mlp(m) => m.layers().map(|l| l.inputs * l.outputs).sum(),
            Body::Tree(t) => t.depth as usize * t.features,
            Body::Cnn(n) => n.macs(self.input_shape(), self.num_classes),
        }
    }

    /// Bytes of caller scratch `infer` needs (see `mlp_scratch_len` / `tree_scratch_len` /
    /// `cnn_scratch_len`).
    pub fn scratch_len(&self) -> usize {
        match &self.body {
            Body::Mlp(m) => m.scratch_len(),
            Body::Tree(t) => crate::scratch::tree_scratch_len(t.features),
            Body::Cnn(n) => n.scratch_len(),
        }
    }

    /// CNN only: the checked layer list, with each layer's input shape, MACs and parameters
    /// (`Display` writes the canonical `layers` metadata). Parsed from the artifact's text
    /// on each call (the model keeps the text, not the 468-byte plan).
    pub fn cnn_plan(&self) -> Option<Plan> {
        match &self.body {
            Body::Cnn(n) => self.plan_of(n).ok(),
            Body::Mlp(_) | Body::Tree(_) => None,
        }
    }

    fn plan_of(&self, cnn: &Cnn<'_>) -> Result<Plan, Error> {
        cnn.plan(self.input_shape(), self.num_classes)
    }

    /// Tree only: the stored distribution of `leaf`, `round(255 · softmax(φ))` per class.
    pub fn leaf_probs(&self, leaf: usize) -> Option<&'a [u8]> {
        match &self.body {
            Body::Tree(t) => t.leaf_probs(leaf),
            Body::Mlp(_) | Body::Cnn(_) => None,
        }
    }

    /// Quantizes one raw input with the stored normalization and input quantization
    /// (`quant::quantize_value`, round half to even).
    pub fn quantize_input(&self, x: &[f32], out: &mut [i8]) -> Result<(), Error> {
        if x.len() != self.features || out.len() != self.features {
            return Err(Error::InputLength);
        }
        let pick = |v: F32s<'_>, i: usize| if v.len() == 1 { v.get(0) } else { v.get(i) };
        for (i, (&x, q)) in x.iter().zip(out.iter_mut()).enumerate() {
            *q = quantize_value(
                x,
                pick(self.mean, i),
                pick(self.std, i),
                self.input_scale,
                self.input_zero_point,
            );
        }
        Ok(())
    }

    /// Runs one quantized input (a CNN's in the data's order, CHW). `scratch` needs
    /// `scratch_len()` bytes (any alignment); `logits` exactly `num_classes()` entries.
    /// MLP, CNN: `logits` gets the int8 logits. Tree:
    /// `logits` gets the reached leaf's distribution as `p − 128` (p in 0..=255; the exact
    /// u8 values are `leaf_probs(path.leaf)`), and `Prediction::path` the path.
    pub fn infer(
        &self,
        input: &[i8],
        scratch: &mut [u8],
        logits: &mut [i8],
    ) -> Result<Prediction, Error> {
        if input.len() != self.features {
            return Err(Error::InputLength);
        }
        if logits.len() != self.num_classes {
            return Err(Error::LogitsLength);
        }
        if scratch.len() < self.scratch_len() {
            return Err(Error::ScratchTooSmall);
        }
        match &self.body {
            Body::Mlp(m) => {
                m.run(input, scratch, logits)?;
                Ok(Prediction {
                    class: argmax(logits),
                    path: None,
                })
            }
            Body::Cnn(n) => {
                n.run(self.input_shape(), input, scratch, logits)?;
                Ok(Prediction {
                    class: argmax(logits),
                    path: None,
                })
            }
            Body::Tree(t) => {
                let (class, path) = t.run(input, scratch, logits)?;
                Ok(Prediction {
                    class,
                    path: Some(path),
                })
            }
        }
    }
}

/// Index of the first maximum (0 for an empty slice).
pub fn argmax(logits: &[i8]) -> usize {
    let mut best = 0;
    let mut max = i8::MIN;
    for (i, &v) in logits.iter().enumerate() {
        // Strictly greater, or the first value: the first maximum wins.
        if v > max || i == 0 {
            (best, max) = (i, v);
        }
    }
    best
}

/// The tensor's bytes if it has this dtype and shape.
pub(crate) fn tensor<'a>(t: Tensor<'a>, dtype: Dtype, shape: &[usize]) -> Result<&'a [u8], Error> {
    if t.dtype != dtype {
        return Err(Error::WrongDtype);
    }
    if t.shape() != shape {
        return Err(Error::WrongShape);
    }
    Ok(t.data)
}

/// Weights in [−127, 127] and, per row, |bias| + 128·Σ|W| < 2^31, so that no partial sum of
/// any kernel, in any order, can leave i32.
pub(crate) fn check_rows(weight: &[i8], cols: usize, bias: I32s<'_>) -> Result<(), Error> {
    if weight.contains(&i8::MIN) {
        return Err(Error::WeightRange);
    }
    for (j, b) in bias.iter().enumerate() {
        let row = weight
            .get(j * cols..(j + 1) * cols)
            .ok_or(Error::WrongShape)?;
        let l1: i64 = row.iter().map(|&w| i64::from(w.unsigned_abs())).sum();
        if i64::from(b).abs() + 128 * l1 > i64::from(i32::MAX) {
            return Err(Error::AccumulatorRange);
        }
    }
    Ok(())
}

/// `1x28x28` → ([1, 28, 28, 0], 3, 784). Every dimension >= 1.
fn parse_shape(s: &str) -> Result<([usize; MAX_DIMS], usize, usize), Error> {
    let mut dims = [0usize; MAX_DIMS];
    let mut rank = 0;
    let mut product = 1usize;
    for part in split_ascii(s, format::SHAPE_SEPARATOR as u8) {
        let d = parse_decimal(part)
            .filter(|&d| d > 0)
            .ok_or(Error::InvalidInputShape)?;
        *dims.get_mut(rank).ok_or(Error::InvalidInputShape)? = d;
        rank += 1;
        product = product.checked_mul(d).ok_or(Error::InvalidInputShape)?;
    }
    Ok((dims, rank, product))
}

/// Number of `|`-separated non-empty class names, at most `MAX_CLASSES`.
fn parse_classes(s: &str) -> Result<usize, Error> {
    let mut n = 0;
    for name in split_ascii(s, format::CLASS_SEPARATOR as u8) {
        if name.is_empty() || n == MAX_CLASSES {
            return Err(Error::InvalidClasses);
        }
        n += 1;
    }
    Ok(n)
}
