//! Reading an `*.int8.safetensors` artifact back into the numbers it stores — the inverse of
//! [`crate::artifact_bytes`], for tools that inspect or re-run an artifact on the host.

use runtime_nostd::format::{self as n, LayerTensor as L, layer_name, meta as mk};
use runtime_nostd::{Kind, Model};

use crate::error::{ExportError, Result};
use crate::quant_rule::ActQuant;
use crate::quantized::{QuantBody, QuantCnn, QuantDense, QuantModel, QuantTree};
use crate::st_read::StFile;

/// Parses `bytes` as the device does (`runtime_nostd::Model::from_bytes`: every check, its
/// error by name) and then reads every tensor. The device's reader decides what is valid;
/// this one only copies the numbers out, so the two cannot disagree on the format.
pub fn read_artifact(bytes: &[u8]) -> Result<(Model<'_>, QuantModel)> {
    let model = Model::from_bytes(bytes).map_err(ExportError::Artifact)?;
    let f = StFile::parse("artifact", bytes)?;
    let classes = (0..model.num_classes())
        .map(|i| model.class_name(i).unwrap_or_default().to_string())
        .collect();
    let body = match model.kind() {
        Kind::Mlp => QuantBody::Mlp(
            (0..model.num_layers_or_depth())
                .map(|k| dense(&f, k))
                .collect::<Result<_>>()?,
        ),
        Kind::Tree => QuantBody::Tree(QuantTree {
            depth: model.num_layers_or_depth() as u32,
            weight: f.i8s(n::TREE_WEIGHT)?.1,
            weight_scale: f.f32s(n::TREE_WEIGHT_SCALE)?.1,
            bias: f.i32s(n::TREE_BIAS)?.1,
            leaf_probs: f.u8s(n::TREE_LEAF_PROBS)?.1,
            leaf_class: f.u8s(n::TREE_LEAF_CLASS)?.1,
        }),
        Kind::Cnn => {
            let plan = model
                .cnn_plan()
                .ok_or_else(|| f.bad_meta(mk::LAYERS, "does not fit the input"))?;
            let weighted = plan
                .layers()
                .iter()
                .enumerate()
                .map(|(k, l)| l.has_weights().then(|| dense(&f, k)).transpose())
                .collect::<Result<_>>()?;
            QuantBody::Cnn(QuantCnn {
                layers: plan.layers().to_vec(),
                weighted,
            })
        }
    };
    let source = f.meta(mk::SOURCE_SHA256)?;
    let source_sha256 = unhex(source).ok_or_else(|| {
        f.bad_meta(
            mk::SOURCE_SHA256,
            format!("`{source}` is not 64 hex digits"),
        )
    })?;
    let scalar = |v: Vec<f32>| v.first().copied().unwrap_or(f32::NAN);
    let qm = QuantModel {
        input_shape: model.input_shape().to_vec(),
        classes,
        mean: f.f32s(n::INPUT_MEAN)?.1,
        std: f.f32s(n::INPUT_STD)?.1,
        input: ActQuant {
            scale: scalar(f.f32s(n::INPUT_QUANT)?.1),
            zero_point: f.i32s(n::INPUT_ZERO_POINT)?.1.first().copied().unwrap_or(0),
        },
        body,
        source_sha256,
    };
    Ok((model, qm))
}

fn dense(f: &StFile, k: usize) -> Result<QuantDense> {
    let name = |t| layer_name(k, t).to_string();
    let (shape, weight) = f.i8s(&name(L::Weight))?;
    // A dense [O, I] or a convolution [O, KH, KW, C] / [C, KH, KW, 1]: rows of the rest.
    let (out_features, in_features) = match shape[..] {
        [o, ref rest @ ..] if !rest.is_empty() => (o, rest.iter().product()),
        _ => {
            return Err(ExportError::Shape(format!(
                "{}: {shape:?}",
                name(L::Weight)
            )));
        }
    };
    let output = f.i32s(&name(L::Output))?.1;
    let [z_out, act_min, act_max] = output[..] else {
        return Err(ExportError::Shape(format!(
            "{}: {output:?}",
            name(L::Output)
        )));
    };
    Ok(QuantDense {
        out_features,
        in_features,
        weight,
        weight_scale: f.f32s(&name(L::WeightScale))?.1,
        bias: f.i32s(&name(L::Bias))?.1,
        multiplier: f.i32s(&name(L::Multiplier))?.1,
        shift: f.i32s(&name(L::Shift))?.1,
        z_out,
        act_min,
        act_max,
        output_scale: f
            .f32s(&name(L::OutputScale))?
            .1
            .first()
            .copied()
            .unwrap_or(f32::NAN),
    })
}

fn unhex(s: &str) -> Option<[u8; 32]> {
    let b = s.as_bytes();
    if b.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (o, pair) in out.iter_mut().zip(b.chunks_exact(2)) {
        *o = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(out)
}
