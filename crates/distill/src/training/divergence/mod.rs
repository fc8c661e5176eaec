//! Stopping a run whose loss explodes, instead of letting it train to the end on noise (a
//! learning rate of 1e6 used to run every epoch and end at chance with no word).
//!
//! The rule: an epoch whose mean training loss is more than [`FACTOR`] times the loss at the
//! start stops the run. The start is measured, not modelled: the loss of the run's first batch,
//! on the weights before any update, so it already holds whatever this loss adds up (a
//! T²-scaled soft term, logit MSE, a tree's balance penalty). It is floored at ln C, the loss
//! of a uniform prediction, so that a run resumed from a good checkpoint (first loss near 0)
//! is not stopped by ordinary noise.
//!
//! Why 10: a run that learns ends below its start, and a run that fails without diverging
//! (a tree that routes everything one way, a student stuck at the class prior) sits near it:
//! its cross-entropy is about the prior's entropy (≤ ln C) and the one term that can grow, the
//! balance penalty, is at most −½·ln(10⁻⁶) ≈ 6.9 per node (α is clamped at 10⁻⁶), under 10×
//! its value for an even split (ln 2). An optimizer that diverges moves every parameter by
//! about the learning rate per step and overshoots that bound by orders of magnitude.
use std::path::Path;

#[cfg(test)]
mod tests;

/// How many times the starting loss an epoch's mean may reach before the run is stopped.
pub const FACTOR: f64 = 10.0;

/// Watches one training job's losses.
#[derive(Debug, Clone)]
pub struct LossGuard {
    floor: f64,
    start: Option<f64>,
}

impl LossGuard {
    /// A guard for a `classes`-way classifier (ln C is the floor of the reference).
    pub fn new(classes: usize) -> Self {
        LossGuard {
            floor: (classes.max(2) as f64).ln(),
            start: None,
        }
    }

    /// Records a step's loss; the first finite one is the start.
    pub fn step(&mut self, loss: f64) {
        if self.start.is_none() && loss.is_finite() {
            self.start = Some(loss);
        }
    }

    /// The loss an epoch is compared with: the start, at least ln C.
    pub fn reference(&self) -> f64 {
        self.start.unwrap_or(0.0).max(self.floor)
    }

    /// `Err` with the figures when the epoch's mean loss has diverged.
    pub fn check_epoch(&self, stage: &str, epoch: usize, mean: f64) -> Result<(), Diverged> {
        let start = self.reference();
        // A NaN mean (which the per-step check should already have caught) stops it too.
        if mean.is_nan() || mean > FACTOR * start {
            return Err(Diverged {
                stage: stage.to_string(),
                epoch,
                loss: mean,
                start,
            });
        }
        Ok(())
    }
}

/// An epoch's mean loss beyond [`FACTOR`] times the start.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "{stage}: the training loss diverged at epoch {epoch} ({} against {} at the start, over \
     {FACTOR}x): lower the learning rate",
    figure(*loss),
    figure(*start)
)]
pub struct Diverged {
    pub stage: String,
    pub epoch: usize,
    pub loss: f64,
    pub start: f64,
}

/// Readable at any magnitude: 41.700, 2.303, 1.234e9.
fn figure(v: f64) -> String {
    if v.abs() >= 1e5 {
        format!("{v:.3e}")
    } else {
        format!("{v:.3}")
    }
}

/// What a stopped run leaves behind: the checkpoint of its last finished epoch, if any.
pub fn kept_note(checkpoint: &Path, epochs_done: usize) -> String {
    if epochs_done == 0 {
        "No epoch finished, so there is no checkpoint to resume from.".to_string()
    } else {
        format!(
            "The last good checkpoint is {} (epoch {epochs_done}): --resume continues from it.",
            checkpoint.display()
        )
    }
}

#[cfg(test)]
mod rule_tests {
    use super::*;

    fn guard(first: f64, classes: usize) -> LossGuard {
        let mut g = LossGuard::new(classes);
        g.step(f64::NAN);
        g.step(first);
        g.step(first * 1e3); // only the first finite loss is the start
        g
    }

    #[test]
    fn stops_only_beyond_ten_times_the_start() {
        let g = guard(2.5, 10);
        assert_eq!(g.reference(), 2.5);
        assert!(g.check_epoch("s", 1, 0.3).is_ok());
        assert!(g.check_epoch("s", 1, 25.0).is_ok());
        let e = g.check_epoch("kd-student", 3, 41.7).unwrap_err();
        assert_eq!((e.epoch, e.loss, e.start), (3, 41.7, 2.5));
        assert_eq!(
            e.to_string(),
            "kd-student: the training loss diverged at epoch 3 (41.700 against 2.500 at the \
             start, over 10x): lower the learning rate"
        );
        assert!(g.check_epoch("s", 1, f64::NAN).is_err());
        assert!(g.check_epoch("s", 1, f64::INFINITY).is_err());
        let huge = g.check_epoch("s", 1, 3.0e9).unwrap_err().to_string();
        assert!(huge.contains("(3.000e9 against 2.500"), "{huge}");
    }

    #[test]
    fn a_small_start_is_floored_at_the_uniform_loss() {
        // A resumed, well-trained model starts near 0: ln 10 is the reference, not 0.01.
        let g = guard(0.01, 10);
        assert!((g.reference() - 10f64.ln()).abs() < 1e-12);
        assert!(g.check_epoch("s", 5, 0.5).is_ok());
        assert!(g.check_epoch("s", 5, 23.1).is_err());
        // A T²-scaled KD start (T = 8) is its own reference.
        assert_eq!(guard(60.0, 10).reference(), 60.0);
        assert!(guard(60.0, 10).check_epoch("s", 2, 100.0).is_ok());
        // No step seen: ln C, and never below ln 2.
        assert!((LossGuard::new(1).reference() - 2f64.ln()).abs() < 1e-12);
    }

    #[test]
    fn says_what_was_kept() {
        let p = Path::new("runs/x/checkpoints/teacher.safetensors");
        assert!(kept_note(p, 0).contains("no checkpoint"));
        let k = kept_note(p, 2);
        assert!(
            k.contains("teacher.safetensors") && k.contains("epoch 2"),
            "{k}"
        );
    }
}
