//! The oracle: the `*.int8.onnx` twin run by tract, independently of `export`'s own check.

use runtime_nostd::format::onnx::{
    CLASS, LEAF, LEAF_PROBS, LOGITS, MLP_OUTPUTS, TREE_OUTPUTS, X_Q, output_index,
};
use tract_onnx::prelude::*;

use crate::error::{Error, Result};
use crate::outputs::Outputs;

type Plan = std::sync::Arc<TypedSimplePlan>;

/// Output positions, from the contract's order (`format::onnx`); a missing output fails the build.
const fn at(outputs: &[&str], name: &str) -> usize {
    match output_index(outputs, name) {
        Some(i) => i,
        None => panic!("the ONNX contract lost an output"),
    }
}
const MLP_X_Q: usize = at(&MLP_OUTPUTS, X_Q);
const MLP_LOGITS: usize = at(&MLP_OUTPUTS, LOGITS);
const MLP_CLASS: usize = at(&MLP_OUTPUTS, CLASS);
const TREE_X_Q: usize = at(&TREE_OUTPUTS, X_Q);
const TREE_CLASS: usize = at(&TREE_OUTPUTS, CLASS);
const TREE_LEAF_PROBS: usize = at(&TREE_OUTPUTS, LEAF_PROBS);
const TREE_LEAF: usize = at(&TREE_OUTPUTS, LEAF);

/// Whether `out` came from a tree's graph (told apart by the number of outputs).
fn is_tree(out: &TVec<TValue>) -> bool {
    out.len() == TREE_OUTPUTS.len()
}

/// An ONNX graph (`x` f32 `[N, F]` in; an MLP's `x_q`, `logits`, `class` or a tree's `x_q`,
/// `class`, `leaf_probs`, `leaf` out: `format::onnx`) optimized by tract for a fixed batch size.
pub struct TractModel {
    plan: Plan,
    batch: usize,
    features: usize,
}

fn tract_err(e: impl std::fmt::Display) -> Error {
    Error::Tract(format!("{e:#}"))
}

impl TractModel {
    /// Loads `onnx` with the batch fixed to `batch` rows of `features` values, and optimizes it.
    pub fn new(onnx: &[u8], batch: usize, features: usize) -> Result<Self> {
        let plan = tract_onnx::onnx()
            .model_for_read(&mut &onnx[..])
            .and_then(|m| m.with_input_fact(0, f32::fact([batch, features]).into()))
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .map_err(tract_err)?;
        Ok(Self {
            plan,
            batch,
            features,
        })
    }

    /// Runs `x` (`[batch * features]`) once.
    pub fn run(&self, x: &[f32]) -> Result<Outputs> {
        let input = self.input(x)?;
        let out = self.plan.run(tvec!(input.into())).map_err(tract_err)?;
        // A tree's graph has no logits: its "logits" are its leaf distribution as p − 128,
        // which is what runtime-nostd writes.
        let (x_q, logits, class, leaf) = if is_tree(&out) {
            let probs = plain::<u8>(&out, TREE_LEAF_PROBS)?;
            let logits = probs.iter().map(|&p| (i16::from(p) - 128) as i8).collect();
            (
                plain::<i8>(&out, TREE_X_Q)?,
                logits,
                indices(&out, TREE_CLASS)?,
                indices(&out, TREE_LEAF)?,
            )
        } else {
            (
                plain::<i8>(&out, MLP_X_Q)?,
                plain::<i8>(&out, MLP_LOGITS)?,
                indices(&out, MLP_CLASS)?,
                Vec::new(),
            )
        };
        if x_q.len() != x.len() || class.len() != self.batch {
            return Err(Error::Tract(format!(
                "outputs of unexpected sizes: x_q {}, class {} for {} rows",
                x_q.len(),
                class.len(),
                self.batch
            )));
        }
        Ok(Outputs {
            x_q,
            logits,
            class,
            leaf,
        })
    }

    /// `x` as the graph's input tensor (for timing the run alone).
    pub fn input(&self, x: &[f32]) -> Result<Tensor> {
        let a = tract_ndarray::Array2::from_shape_vec((self.batch, self.features), x.to_vec())
            .map_err(tract_err)?;
        Ok(Tensor::from(a))
    }

    /// Runs a prepared input and returns the class of the first row (for the benchmark).
    pub fn run_tensor(&self, input: Tensor) -> Result<usize> {
        let out = self.plan.run(tvec!(input.into())).map_err(tract_err)?;
        let class = indices(&out, if is_tree(&out) { TREE_CLASS } else { MLP_CLASS })?;
        class
            .first()
            .copied()
            .ok_or_else(|| Error::Tract("no class output".into()))
    }
}

/// An int64 output of indices (classes, leaves) as `usize`.
fn indices(out: &TVec<TValue>, i: usize) -> Result<Vec<usize>> {
    plain::<i64>(out, i)?
        .into_iter()
        .map(|c| usize::try_from(c).map_err(tract_err))
        .collect()
}

fn plain<T: Datum + Copy>(out: &TVec<TValue>, i: usize) -> Result<Vec<T>> {
    let v = out
        .get(i)
        .ok_or_else(|| Error::Tract(format!("the graph has no output {i}")))?;
    // tract-onnx holds ONNX int64 as its symbolic TDim type: cast back.
    let v = v.cast_to::<T>().map_err(tract_err)?;
    Ok(v.to_plain_array_view::<T>()
        .map_err(tract_err)?
        .iter()
        .copied()
        .collect())
}
