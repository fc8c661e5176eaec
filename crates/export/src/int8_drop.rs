//! The guard on int8 accuracy: an export whose int8 model scores more than a threshold below
//! the float model on held-out data is refused, with the figures and the likely cause, instead
//! of being written as if it were fine (a 751-feature table once fell from 76% to 27%).

use crate::dataset::Dataset;
use crate::error::{ExportError, Result};
use crate::float_forward::normalize;
use crate::float_model::{FloatBody, FloatModel};
use crate::quantized::QuantModel;
use crate::report::Accuracy;

/// Int8 steps below which an input feature is as good as constant to the model.
const FEW_STEPS: f32 = 4.0;

/// `Err(Int8Drop)` when int8 (runtime-nostd) is more than `limit` points below float — and
/// more than one sample's worth, so that on a small evaluation set a single input landing on
/// the other side of a decision boundary is not a refusal.
pub(crate) fn check(
    acc: &Accuracy,
    samples: usize,
    limit: Option<f64>,
    model: &FloatModel,
    qm: &QuantModel,
    calib: &Dataset,
    calib_samples: usize,
) -> Result<()> {
    let drop = acc.float - acc.int8_runtime;
    match limit {
        Some(limit) if drop > limit.max(100.0 / samples.max(1) as f64) => {
            Err(ExportError::Int8Drop {
                float: acc.float,
                int8: acc.int8_runtime,
                drop,
                limit,
                samples,
                cause: likely_cause(model, qm, calib, calib_samples),
            })
        }
        _ => Ok(()),
    }
}

/// What most often breaks int8: input features that one shared input scale leaves with only
/// a few steps (features on very different scales, normalized together). Counted on the
/// calibration rows; when the input is not the problem, the layers (a tree's splits) are.
pub(crate) fn likely_cause(
    model: &FloatModel,
    qm: &QuantModel,
    calib: &Dataset,
    calib_samples: usize,
) -> String {
    let f = model.features();
    let rows = calib_samples.min(calib.rows());
    let (mut lo, mut hi) = (vec![f32::INFINITY; f], vec![f32::NEG_INFINITY; f]);
    let mut x_n = Vec::new();
    for i in 0..rows {
        normalize(model, calib.row(i), &mut x_n);
        for (j, &v) in x_n.iter().enumerate() {
            lo[j] = lo[j].min(v);
            hi[j] = hi[j].max(v);
        }
    }
    let scale = qm.input.scale;
    let varying = (0..f).filter(|&j| hi[j] > lo[j]).count();
    let coarse = (0..f)
        .filter(|&j| hi[j] > lo[j] && (hi[j] - lo[j]) / scale < FEW_STEPS)
        .count();
    if coarse * 10 >= varying.max(1) {
        let per_feature = if model.mean.len() == 1 {
            "one mean and std serve every feature: standardize each feature (`[data] normalize = \
             \"per-feature\"`, the default for tables)"
        } else {
            "clip the input range (`--clipping percentile`) or drop the outlying features"
        };
        format!(
            "{coarse} of {varying} varying input features span fewer than {FEW_STEPS} of the 256 \
             int8 input steps (the input scale {scale:.4} is set by the widest ones); {per_feature}"
        )
    } else if let FloatBody::Tree(_) = model.body {
        format!(
            "the input keeps its detail ({coarse} of {varying} varying features span fewer than \
             {FEW_STEPS} int8 steps), so the loss is in the splits: inputs that lie close to a \
             node's boundary change side when its weights are rounded; try more calibration \
             rows or a shallower tree"
        )
    } else {
        format!(
            "the input keeps its detail ({coarse} of {varying} varying features span fewer than \
             {FEW_STEPS} int8 steps), so the loss is in the layers: try `--clipping percentile`, \
             more calibration rows, or a wider student"
        )
    }
}
