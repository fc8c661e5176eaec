//! The whole check of one exported model on a test set: tract (the oracle) on the ONNX twin,
//! runtime-nostd on the artifact, and the explanation of every difference.
//!
//! What export claims, and what [`Agreement::problems`] verifies:
//! 1. the two engines stay within issue 4's bounds ([`Comparison::violations`]);
//! 2. given the same quantized input, the int8 logits are bit-identical: runtime-nostd run
//!    on tract's own `x_q` must reproduce tract's logits and classes exactly;
//! 3. so every difference comes from input quantization, and each differing input value must
//!    be one step apart and lie within [`MAX_ULPS_FROM_HALF`] f32 ULPs of a rounding tie
//!    (tract multiplies by reciprocals where the runtime divides: [`crate::input_rounding`]).

use crate::compare::Comparison;
use crate::error::Result;
use crate::input_rounding::{InputQuant, RoundingCase};
use crate::outputs::Outputs;
use crate::testset::TestSet;
use crate::tract_run::TractModel;

/// How close to a half-integer an input value must be for a reciprocal-vs-division rounding
/// difference to explain it. Each engine makes 2–3 f32 roundings of relative size ≤ ½ ULP.
pub const MAX_ULPS_FROM_HALF: f64 = 4.0;

/// Both engines' outputs and how they compare.
#[derive(Debug, Clone)]
pub struct Agreement {
    pub runtime: Outputs,
    pub tract: Outputs,
    /// runtime-nostd against tract on the raw inputs.
    pub raw: Comparison,
    /// runtime-nostd fed tract's `x_q`, against tract: must show no difference at all.
    pub same_input: Comparison,
    /// Every differing quantized input value.
    pub rounding: Vec<RoundingCase>,
}

impl Agreement {
    /// Runs both engines over every input of `data`.
    pub fn measure(artifact: &[u8], onnx: &[u8], data: &TestSet) -> Result<Self> {
        let model = crate::runtime_run::load(artifact, "artifact")?;
        let runtime = crate::runtime_run::run_raw(&model, &data.x)?;
        let tract = TractModel::new(onnx, data.rows(), data.features)?.run(&data.x)?;
        let raw = Comparison::new(&runtime, &tract)?;
        let on_tract_x_q = crate::runtime_run::run_quantized(&model, tract.x_q.clone())?;
        let same_input = Comparison::new(&on_tract_x_q, &tract)?;
        let rounding = InputQuant::from_artifact(artifact)?.cases(
            &data.x,
            &runtime.x_q,
            &tract.x_q,
            data.features,
        );
        Ok(Self {
            runtime,
            tract,
            raw,
            same_input,
            rounding,
        })
    }

    /// Broken claims, in words; empty when all three hold.
    pub fn problems(&self) -> Vec<String> {
        let mut p = self.raw.violations();
        let s = &self.same_input;
        let leaves = &s.leaf_samples;
        if !s.logit_samples.is_empty() || !s.class_samples.is_empty() || !leaves.is_empty() {
            p.push(format!(
                "not bit-exact on the same x_q: logits differ on inputs {:?} (max |Δ| {}), \
                 classes on {:?}, leaves on {leaves:?}",
                s.logit_samples, s.max_logit_diff, s.class_samples
            ));
        }
        for c in &self.rounding {
            let step = (i32::from(c.runtime) - i32::from(c.tract)).abs();
            if step != 1 || c.ulps_from_half > MAX_ULPS_FROM_HALF {
                p.push(format!("unexplained x_q difference: {c:?}"));
            }
        }
        p
    }

    /// One line per differing input value, for the test log.
    pub fn explain(&self) -> String {
        let worst = self
            .rounding
            .iter()
            .map(|c| c.ulps_from_half)
            .fold(0.0, f64::max);
        let mut s = format!(
            "{} quantized input values differ; given tract's x_q, runtime-nostd's logits differ \
             on {} inputs; the differing values lie at most {worst:.2} f32 ULPs from a rounding tie",
            self.rounding.len(),
            self.same_input.logit_samples.len()
        );
        for c in &self.rounding {
            s.push_str(&format!(
                "\n  input {} feature {}: (x-mean)/std/s_in = {:.9} ({:.2} ULPs from .5): \
                 runtime {} tract {}",
                c.sample, c.feature, c.exact, c.ulps_from_half, c.runtime, c.tract
            ));
        }
        s
    }

    /// Top-1 accuracy of each engine on `data`, in percent: (runtime-nostd, tract).
    pub fn accuracy(&self, data: &TestSet) -> (f64, f64) {
        (
            data.accuracy(&self.runtime.class),
            data.accuracy(&self.tract.class),
        )
    }
}
