//! How long a model trains: a budget of optimizer steps (so that 100 rows and 60,000 rows get
//! the same amount of optimization, not the same number of passes) and early stopping on the
//! validation split, keeping the best epoch.
//!
//! A fixed epoch count fits one dataset size: 20 epochs are 8,400 steps on Fashion-MNIST but
//! 220 on 1,400 rows, where a model has barely left its initialization. With `epochs = 0`
//! the plan is `steps / steps_per_epoch` epochs (at least one, at most `max_epochs`). Early
//! stopping ends a run once validation has not improved for `patience` epochs — and for at
//! least [`MIN_PATIENCE_STEPS`] steps, since on a tiny table ten epochs are twenty steps.
//! Improvement means a higher validation accuracy, or the same accuracy at a lower validation
//! loss (a small validation split ties often); the best epoch's weights are what the run keeps.
use serde::{Deserialize, Serialize};

use crate::config::TrainConfig;
use crate::training::metrics::EpochRecord;

/// Patience never ends a run fewer optimizer steps than this after its best epoch.
pub const MIN_PATIENCE_STEPS: usize = 500;

/// Steps an epoch has at least, batches permitting (see [`batch_size`]).
pub const MIN_STEPS_PER_EPOCH: usize = 8;
/// The smallest batch [`batch_size`] shrinks to.
pub const MIN_BATCH: usize = 16;

/// The batch for `rows` training rows: the configured one, shrunk on small data so that an
/// epoch has at least [`MIN_STEPS_PER_EPOCH`] steps (but not below [`MIN_BATCH`]). With 120
/// rows and batch 128 an epoch is one step, and the epoch cap ends the step budget early.
pub fn batch_size(cfg: &TrainConfig, rows: usize) -> usize {
    let small = (rows / MIN_STEPS_PER_EPOCH).max(MIN_BATCH);
    cfg.batch_size.min(small).min(rows).max(1)
}

/// The epochs a job runs at most, from its config and data size.
pub fn planned_epochs(cfg: &TrainConfig, steps_per_epoch: usize) -> usize {
    if cfg.epochs > 0 {
        return cfg.epochs;
    }
    cfg.steps
        .div_ceil(steps_per_epoch.max(1))
        .clamp(1, cfg.max_epochs.max(1))
}

/// Epochs without improvement that end a run: `patience`, stretched to at least
/// [`MIN_PATIENCE_STEPS`] steps; 0 when early stopping is off.
pub fn patience_epochs(cfg: &TrainConfig, steps_per_epoch: usize) -> usize {
    if cfg.patience == 0 {
        return 0;
    }
    cfg.patience
        .max(MIN_PATIENCE_STEPS.div_ceil(steps_per_epoch.max(1)))
}

/// Why a job stopped, for the log and the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Stop {
    /// Ran every planned epoch.
    Budget,
    /// Validation had not improved for this many epochs.
    Patience(usize),
}

/// What a finished job ran and kept.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub epochs_run: usize,
    pub planned: usize,
    /// 1-based epoch whose weights were kept (the last one without a validation split).
    pub kept_epoch: usize,
    pub stop: Stop,
}

impl Outcome {
    /// "ran 37 of 500 epochs, kept epoch 27: validation had not improved for 10 epochs".
    pub fn describe(&self) -> String {
        let why = match self.stop {
            Stop::Budget => "its budget".to_string(),
            Stop::Patience(p) => format!("no validation gain in {p} epochs"),
        };
        format!(
            "{} of {} epochs, kept epoch {} (stopped by {why})",
            self.epochs_run, self.planned, self.kept_epoch
        )
    }
}

/// The best epoch so far, by validation accuracy, then validation loss.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Best {
    /// 1-based; 0 before any epoch with validation figures.
    pub epoch: usize,
    acc: f64,
    loss: f64,
}

impl Best {
    /// Replays a history (a resumed run) to the best epoch it holds.
    pub fn from_history(history: &[EpochRecord]) -> Best {
        let mut b = Best::default();
        for r in history {
            b.offer(r);
        }
        b
    }

    /// Takes `r` if it improves on the best; returns whether it did.
    pub fn offer(&mut self, r: &EpochRecord) -> bool {
        let Some(acc) = r.val_acc else {
            return false;
        };
        let loss = r.val_loss.unwrap_or(f64::INFINITY);
        let better = self.epoch == 0 || acc > self.acc || (acc == self.acc && loss < self.loss);
        if better {
            *self = Best {
                epoch: r.epoch,
                acc,
                loss,
            };
        }
        better
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(epochs: usize, steps: usize, max_epochs: usize, patience: usize) -> TrainConfig {
        TrainConfig {
            epochs,
            steps,
            max_epochs,
            patience,
            ..TrainConfig::default()
        }
    }

    fn rec(epoch: usize, acc: f64, loss: f64) -> EpochRecord {
        EpochRecord {
            stage: "s".into(),
            epoch,
            loss: 1.0,
            train_acc: 50.0,
            val_acc: Some(acc),
            val_loss: Some(loss),
            lr: 1e-3,
            seconds: 0.0,
        }
    }

    #[test]
    fn the_step_budget_sets_the_epochs_unless_they_are_given() {
        // 54,000 rows at batch 128 = 422 steps per epoch; 1,300 rows = 11.
        assert_eq!(planned_epochs(&cfg(0, 8000, 500, 10), 422), 19);
        assert_eq!(planned_epochs(&cfg(0, 8000, 500, 10), 11), 500);
        assert_eq!(planned_epochs(&cfg(0, 8000, 500, 10), 2000), 4);
        assert_eq!(planned_epochs(&cfg(0, 10, 500, 10), 422), 1);
        assert_eq!(planned_epochs(&cfg(7, 8000, 500, 10), 11), 7);
    }

    #[test]
    fn small_data_gets_smaller_batches() {
        let c = cfg(0, 8000, 500, 10);
        assert_eq!(batch_size(&c, 54_000), 128);
        assert_eq!(batch_size(&c, 1293), 128);
        assert_eq!(batch_size(&c, 383), 47);
        assert_eq!(batch_size(&c, 120), 16);
        assert_eq!(batch_size(&c, 10), 10);
        let tiny = TrainConfig { batch_size: 8, ..c };
        assert_eq!(batch_size(&tiny, 120), 8);
    }

    #[test]
    fn patience_lasts_at_least_the_minimum_steps() {
        assert_eq!(patience_epochs(&cfg(0, 0, 0, 10), 422), 10);
        assert_eq!(patience_epochs(&cfg(0, 0, 0, 10), 2), 250);
        assert_eq!(patience_epochs(&cfg(0, 0, 0, 0), 2), 0);
    }

    #[test]
    fn best_is_accuracy_then_loss() {
        let mut b = Best::default();
        assert!(b.offer(&rec(1, 80.0, 0.9)));
        assert!(!b.offer(&rec(2, 79.0, 0.1)), "lower accuracy never wins");
        assert!(
            b.offer(&rec(3, 80.0, 0.5)),
            "same accuracy, lower loss wins"
        );
        assert!(!b.offer(&rec(4, 80.0, 0.5)), "a tie is no gain");
        assert!(b.offer(&rec(5, 81.0, 2.0)));
        assert_eq!(b.epoch, 5);
        let history = [rec(1, 80.0, 0.9), rec(2, 85.0, 0.4), rec(3, 84.0, 0.3)];
        assert_eq!(Best::from_history(&history).epoch, 2);
        let mut none = rec(1, 0.0, 0.0);
        none.val_acc = None;
        assert!(!Best::default().offer(&none));
    }
}
