//! Running the evaluation set through runtime-nostd (checked against the reference forward
//! pass), tract and the float model, and comparing them.

use runtime_nostd::Model;

use crate::dataset::Dataset;
use crate::error::{ExportError, Result};
use crate::float_model::FloatModel;
use crate::quantized::{QuantBody, QuantModel};
use crate::report::{Accuracy, Agreement};
use crate::tract_eval::TractOutputs;

/// runtime-nostd's outputs for every evaluation row.
pub(crate) struct RuntimeRun {
    /// `[N * F]`.
    pub x_q: Vec<i8>,
    /// `[N * C]`, as `infer` writes them.
    pub logits: Vec<i8>,
    pub class: Vec<usize>,
}

/// Quantizes and infers every row with runtime-nostd; each result must equal the reference
/// forward pass over the in-memory model (else the artifact was misread: a round-trip error).
pub(crate) fn runtime(model: &Model, qm: &QuantModel, eval: &Dataset) -> Result<RuntimeRun> {
    let (f, c) = (model.input_len(), model.num_classes());
    let mut scratch = vec![0u8; model.scratch_len()];
    let mut run = RuntimeRun {
        x_q: vec![0; eval.rows() * f],
        logits: vec![0; eval.rows() * c],
        class: Vec::new(),
    };
    let rt = |e: runtime_nostd::Error| ExportError::RoundTrip(format!("runtime-nostd: {e}"));
    for i in 0..eval.rows() {
        let q = &mut run.x_q[i * f..(i + 1) * f];
        model.quantize_input(eval.row(i), q).map_err(rt)?;
        let logits = &mut run.logits[i * c..(i + 1) * c];
        let p = model.infer(q, &mut scratch, logits).map_err(rt)?;
        let (ref_out, ref_class) = crate::reference::forward(qm, q);
        let same = match &qm.body {
            QuantBody::Mlp(_) | QuantBody::Cnn(_) => ref_out == *logits,
            QuantBody::Tree(_) => {
                p.path.map(|path| usize::from(path.leaf)) == Some(ref_out[0] as u8 as usize)
            }
        };
        if !same || ref_class != p.class {
            return Err(ExportError::RoundTrip(format!(
                "sample {i}: runtime-nostd and the written tensors disagree"
            )));
        }
        run.class.push(p.class);
    }
    Ok(run)
}

/// Compares tract's run of the ONNX graph with runtime-nostd's, sample by sample.
pub(crate) fn agreement(
    rt: &RuntimeRun,
    tr: &TractOutputs,
    features: usize,
    is_mlp: bool,
) -> Result<Agreement> {
    let n = rt.class.len();
    let shapes_ok = tr.class.len() == n
        && tr.x_q.len() == rt.x_q.len()
        && (!is_mlp || tr.logits.len() == rt.logits.len());
    if !shapes_ok {
        return Err(ExportError::Onnx(format!(
            "tract returned outputs of unexpected sizes for {n} samples"
        )));
    }
    let x_q_mismatch_samples = rt
        .x_q
        .chunks_exact(features)
        .zip(tr.x_q.chunks_exact(features))
        .filter(|(a, b)| a != b)
        .count();
    let logits_max_abs_diff = if is_mlp {
        rt.logits
            .iter()
            .zip(&tr.logits)
            .map(|(&a, &b)| (i32::from(a) - i32::from(b)).unsigned_abs())
            .max()
            .unwrap_or(0)
    } else {
        0
    };
    let class_mismatch_samples = rt
        .class
        .iter()
        .zip(&tr.class)
        .filter(|(a, b)| a != b)
        .count();
    Ok(Agreement {
        x_q_mismatch_samples,
        logits_max_abs_diff,
        class_mismatch_samples,
    })
}

/// Accuracies in percent, when the evaluation set has labels.
pub(crate) fn accuracy(
    model: &FloatModel,
    eval: &Dataset,
    rt: &RuntimeRun,
    tr: &TractOutputs,
) -> Option<Accuracy> {
    let y = eval.y.as_ref()?;
    let pct = |hits: usize| 100.0 * hits as f64 / y.len() as f64;
    let hits = |pred: &mut dyn Iterator<Item = usize>| {
        pred.zip(y)
            .filter(|(p, y)| *p as u64 == u64::from(**y))
            .count()
    };
    let float =
        hits(&mut (0..eval.rows()).map(|i| crate::float_forward::predict(model, eval.row(i))));
    Some(Accuracy {
        float: pct(float),
        int8_runtime: pct(hits(&mut rt.class.iter().copied())),
        int8_tract: pct(hits(&mut tr.class.iter().copied())),
    })
}
