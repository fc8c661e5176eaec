//! Labelled test inputs read from IDX files (gzipped or not): raw pixel values as f32, the
//! way `distill` feeds them to a student (its stored normalization does the scaling).

use std::path::Path;

use crate::error::Result;

/// `rows` inputs of `features` raw values each, and their labels.
#[derive(Debug, Clone, PartialEq)]
pub struct TestSet {
    /// `[rows * features]`, row-major.
    pub x: Vec<f32>,
    pub features: usize,
    pub y: Vec<u32>,
}

impl TestSet {
    /// Reads `<dir>/<prefix>-images-idx3-ubyte.gz` and `<dir>/<prefix>-labels-idx1-ubyte.gz`
    /// through distill's IDX reader (the one parser of the format in this workspace).
    pub fn load_idx(dir: &Path, prefix: &str) -> Result<Self> {
        let images = dir.join(format!("{prefix}-images-idx3-ubyte.gz"));
        let labels = dir.join(format!("{prefix}-labels-idx1-ubyte.gz"));
        let d = distill::data::load_idx_pair(&images, &labels)?;
        Ok(Self {
            features: d.features(),
            x: d.x,
            y: d.y,
        })
    }

    /// Number of inputs.
    pub fn rows(&self) -> usize {
        self.y.len()
    }

    /// Input `i` (panics when out of range, like slice indexing).
    pub fn row(&self, i: usize) -> &[f32] {
        &self.x[i * self.features..(i + 1) * self.features]
    }

    /// The first `n` inputs (all when fewer).
    pub fn take(&self, n: usize) -> Self {
        let n = n.min(self.rows());
        Self {
            x: self.x[..n * self.features].to_vec(),
            features: self.features,
            y: self.y[..n].to_vec(),
        }
    }

    /// Percentage of `pred` equal to the labels.
    pub fn accuracy(&self, pred: &[usize]) -> f64 {
        let hits = pred
            .iter()
            .zip(&self.y)
            .filter(|&(&p, &y)| p as u64 == u64::from(y))
            .count();
        100.0 * hits as f64 / self.rows().max(1) as f64
    }
}
