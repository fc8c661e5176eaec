//! Per-epoch metrics, appended to `metrics.jsonl` in the run folder as they happen.
use std::fs::File;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    pub stage: String,
    pub epoch: usize,
    pub loss: f64,
    pub train_acc: f64,
    /// `None` when there is no validation split (`data.val_fraction = 0`). For a soft tree,
    /// the accuracy of its maximum-probability path (what the device runs).
    pub val_acc: Option<f64>,
    /// Cross-entropy on the validation labels (absent in metrics written before it existed).
    #[serde(default)]
    pub val_loss: Option<f64>,
    pub lr: f64,
    pub seconds: f64,
}

pub struct Metrics {
    file: Option<File>,
}

impl Metrics {
    /// Appends to `path` (a resumed run keeps the earlier lines).
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(Metrics { file: Some(file) })
    }

    /// A sink that drops everything (benchmarks, tests).
    pub fn none() -> Self {
        Metrics { file: None }
    }

    pub fn write<T: Serialize>(&mut self, record: &T) -> crate::Result<()> {
        if let Some(f) = &mut self.file {
            writeln!(f, "{}", serde_json::to_string(record)?)?;
            f.flush()?;
        }
        Ok(())
    }
}

/// `counts[true * c + predicted]` for `c` classes.
pub fn confusion(pred: &[u32], truth: &[u32], c: usize) -> Vec<u32> {
    let mut m = vec![0u32; c * c];
    for (&p, &t) in pred.iter().zip(truth) {
        if (p as usize) < c && (t as usize) < c {
            m[t as usize * c + p as usize] += 1;
        }
    }
    m
}

#[cfg(test)]
mod tests {
    #[test]
    fn confusion_counts_rows_by_truth() {
        let m = super::confusion(&[0, 1, 1], &[0, 0, 1], 2);
        assert_eq!(m, vec![1, 1, 0, 1]);
    }
}
