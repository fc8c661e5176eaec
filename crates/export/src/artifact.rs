//! Writing the `*.int8.safetensors` artifact (format: runtime-nostd's FORMAT.md).

use std::collections::BTreeMap;

use safetensors::Dtype;

use crate::error::{ExportError, Result};
use crate::quantized::{QuantBody, QuantDense, QuantModel};
use crate::st_write::{Owned, serialize};
use runtime_nostd::format::{self as n, LayerTensor as L, layer_name, meta as mk};

/// Producer recorded in the artifact's metadata (ignored by the runtime).
const PRODUCER: &str = concat!("microdistill-export ", env!("CARGO_PKG_VERSION"));

/// Serializes the model; the same model gives the same bytes.
pub fn artifact_bytes(m: &QuantModel) -> Result<Vec<u8>> {
    let (tensors, meta) = artifact_parts(m)?;
    serialize(&tensors, &meta)
}

/// The tensors and metadata of the artifact, before serialization.
pub(crate) fn artifact_parts(m: &QuantModel) -> Result<(Vec<Owned>, BTreeMap<String, String>)> {
    let mut meta = BTreeMap::new();
    for c in &m.classes {
        storable(c)?;
    }
    limits(m)?;
    let classes = m.classes.join(&n::CLASS_SEPARATOR.to_string());
    let dims: Vec<String> = m.input_shape.iter().map(usize::to_string).collect();
    meta.insert(mk::FORMAT.into(), n::FORMAT_NAME.into());
    meta.insert(mk::FORMAT_VERSION.into(), n::FORMAT_VERSION.into());
    meta.insert(
        mk::INPUT_SHAPE.into(),
        dims.join(&n::SHAPE_SEPARATOR.to_string()),
    );
    meta.insert(mk::CLASSES.into(), classes);
    meta.insert(mk::SOURCE_SHA256.into(), hex(&m.source_sha256));
    meta.insert("producer".into(), PRODUCER.into());
    let mut t = vec![
        f32s(n::INPUT_MEAN, vec![m.mean.len()], &m.mean),
        f32s(n::INPUT_STD, vec![m.std.len()], &m.std),
        f32s(n::INPUT_QUANT, vec![1], &[m.input.scale]),
        i32s(n::INPUT_ZERO_POINT, vec![1], &[m.input.zero_point]),
    ];
    match &m.body {
        QuantBody::Mlp(layers) => {
            meta.insert(mk::KIND.into(), n::KIND_MLP.into());
            meta.insert(mk::NUM_LAYERS.into(), layers.len().to_string());
            for (k, l) in layers.iter().enumerate() {
                layer_tensors(&mut t, k, l, vec![l.out_features, l.in_features]);
            }
        }
        QuantBody::Cnn(c) => {
            let plan = m.cnn_plan().ok_or_else(|| {
                ExportError::Shape(format!(
                    "the CNN's layers do not fit input {:?} and {} classes",
                    m.input_shape,
                    m.classes.len()
                ))
            })?;
            meta.insert(mk::KIND.into(), n::KIND_CNN.into());
            meta.insert(mk::LAYERS.into(), plan.to_string());
            for (k, ((layer, i, _), q)) in plan.iter().zip(&c.weighted).enumerate() {
                match (layer.has_weights(), q) {
                    (true, Some(q)) => {
                        let shape = crate::cnn_layout::artifact_shape(layer, i, plan.is_sequence());
                        layer_tensors(&mut t, k, q, shape);
                    }
                    (false, None) => {}
                    _ => {
                        return Err(ExportError::Shape(format!(
                            "layers.{k} ({layer}): weights do not match the layer kind"
                        )));
                    }
                }
            }
        }
        QuantBody::Tree(tr) => {
            meta.insert(mk::KIND.into(), n::KIND_TREE.into());
            meta.insert(mk::DEPTH.into(), tr.depth.to_string());
            let inner = tr.bias.len();
            let f = tr.weight.len() / inner;
            t.push(i8s(n::TREE_WEIGHT, vec![inner, f], &tr.weight));
            t.push(f32s(n::TREE_WEIGHT_SCALE, vec![inner], &tr.weight_scale));
            t.push(i32s(n::TREE_BIAS, vec![inner], &tr.bias));
            t.push(Owned::new(
                n::TREE_LEAF_PROBS,
                Dtype::U8,
                vec![inner + 1, m.classes.len()],
                tr.leaf_probs.clone(),
            ));
            t.push(Owned::new(
                n::TREE_LEAF_CLASS,
                Dtype::U8,
                vec![inner + 1],
                tr.leaf_class.clone(),
            ));
        }
    }
    Ok((t, meta))
}

/// The seven `layers.{k}.*` tensors of a dense or convolution layer (FORMAT.md, "MLP").
fn layer_tensors(t: &mut Vec<Owned>, k: usize, l: &QuantDense, weight_shape: Vec<usize>) {
    let o = l.out_features;
    t.push(i8s(
        &layer_name(k, L::Weight).to_string(),
        weight_shape,
        &l.weight,
    ));
    t.push(f32s(
        &layer_name(k, L::WeightScale).to_string(),
        vec![o],
        &l.weight_scale,
    ));
    t.push(i32s(&layer_name(k, L::Bias).to_string(), vec![o], &l.bias));
    t.push(i32s(
        &layer_name(k, L::Multiplier).to_string(),
        vec![o],
        &l.multiplier,
    ));
    t.push(i32s(
        &layer_name(k, L::Shift).to_string(),
        vec![o],
        &l.shift,
    ));
    t.push(i32s(
        &layer_name(k, L::Output).to_string(),
        vec![3],
        &[l.z_out, l.act_min, l.act_max],
    ));
    t.push(f32s(
        &layer_name(k, L::OutputScale).to_string(),
        vec![1],
        &[l.output_scale],
    ));
}

/// The reader's fixed limits (runtime-nostd `format`), checked before writing.
fn limits(m: &QuantModel) -> Result<()> {
    let over = |what: &str, v: usize, max: usize| {
        Err(ExportError::Shape(format!(
            "{what} = {v} exceeds the artifact format's limit of {max}"
        )))
    };
    if m.input_shape.len() > n::MAX_DIMS {
        return over("input rank", m.input_shape.len(), n::MAX_DIMS);
    }
    if m.classes.len() > n::MAX_CLASSES {
        return over("classes", m.classes.len(), n::MAX_CLASSES);
    }
    if let QuantBody::Mlp(layers) = &m.body
        && layers.len() > n::MAX_LAYERS
    {
        return over("MLP layers", layers.len(), n::MAX_LAYERS);
    }
    if let QuantBody::Cnn(c) = &m.body {
        let weighted = c.weighted.iter().flatten().count();
        if weighted > n::MAX_LAYERS {
            return over("CNN layers with weights", weighted, n::MAX_LAYERS);
        }
        if c.layers.len() > n::cnn::MAX_OPS {
            return over("CNN layers", c.layers.len(), n::cnn::MAX_OPS);
        }
    }
    Ok(())
}

/// The runtime reads strings without unescaping and splits classes on `|`: refuse anything
/// JSON would escape, and the separator.
fn storable(s: &str) -> Result<()> {
    if s.is_empty()
        || s.chars()
            .any(|c| c == '"' || c == '\\' || c == '|' || c.is_control())
    {
        return Err(ExportError::UnstorableString(s.into()));
    }
    Ok(())
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn f32s(name: &str, shape: Vec<usize>, v: &[f32]) -> Owned {
    Owned::new(
        name,
        Dtype::F32,
        shape,
        v.iter().flat_map(|x| x.to_le_bytes()).collect(),
    )
}

pub(crate) fn i32s(name: &str, shape: Vec<usize>, v: &[i32]) -> Owned {
    Owned::new(
        name,
        Dtype::I32,
        shape,
        v.iter().flat_map(|x| x.to_le_bytes()).collect(),
    )
}

pub(crate) fn i8s(name: &str, shape: Vec<usize>, v: &[i8]) -> Owned {
    Owned::new(name, Dtype::I8, shape, v.iter().map(|&x| x as u8).collect())
}
