//! Running the exported ONNX graph in tract: the independent check of the integer graph.

use runtime_nostd::format::onnx::{self as names, output_index};
use tract_onnx::prelude::*;

use crate::error::{ExportError, Result};

/// What the ONNX graph produced for a batch of raw inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct TractOutputs {
    /// `[N * F]`: the graph's quantized input.
    pub x_q: Vec<i8>,
    /// `[N * C]` int8 logits (MLP only, empty for a tree).
    pub logits: Vec<i8>,
    /// `[N]` predicted classes.
    pub class: Vec<usize>,
}

fn onnx_err(e: impl std::fmt::Display) -> ExportError {
    ExportError::Onnx(format!("{e:#}"))
}

/// Loads `onnx` into tract, fixes the batch to the rows of `x` (`[rows * features]`), optimizes
/// and runs it once.
pub fn run_onnx(onnx: &[u8], x: &[f32], features: usize, is_mlp: bool) -> Result<TractOutputs> {
    let rows = x.len() / features.max(1);
    let model = tract_onnx::onnx()
        .model_for_read(&mut &onnx[..])
        .and_then(|m| m.with_input_fact(0, f32::fact([rows, features]).into()))
        .and_then(|m| m.into_optimized())
        .and_then(|m| m.into_runnable())
        .map_err(onnx_err)?;
    let input =
        tract_ndarray::Array2::from_shape_vec((rows, features), x.to_vec()).map_err(onnx_err)?;
    let out = model
        .run(tvec!(Tensor::from(input).into()))
        .map_err(onnx_err)?;
    // Outputs by position, in the contract's order (`format::onnx`).
    let list: &[&str] = if is_mlp {
        &names::MLP_OUTPUTS
    } else {
        &names::TREE_OUTPUTS
    };
    if out.len() != list.len() {
        return Err(ExportError::Onnx(format!(
            "graph has {} outputs, want {list:?}",
            out.len()
        )));
    }
    let at = |name: &str| {
        output_index(list, name).ok_or_else(|| ExportError::Onnx(format!("no output {name}")))
    };
    let x_q = plain::<i8>(&out, at(names::X_Q)?)?;
    let logits = if is_mlp {
        plain::<i8>(&out, at(names::LOGITS)?)?
    } else {
        Vec::new()
    };
    let class = plain::<i64>(&out, at(names::CLASS)?)?;
    let class = class
        .into_iter()
        .map(|c| usize::try_from(c).map_err(onnx_err))
        .collect::<Result<_>>()?;
    Ok(TractOutputs { x_q, logits, class })
}

fn plain<T: Datum + Copy>(out: &TVec<TValue>, i: usize) -> Result<Vec<T>> {
    let v = out
        .get(i)
        .ok_or_else(|| ExportError::Onnx(format!("graph has no output {i}")))?;
    // tract-onnx represents ONNX int64 as its symbolic `TDim` type: cast back.
    let v = v.cast_to::<T>().map_err(onnx_err)?;
    Ok(v.to_plain_array_view::<T>()
        .map_err(onnx_err)?
        .iter()
        .copied()
        .collect())
}
