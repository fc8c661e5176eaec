//! Calibration and evaluation samples: `x` F32 `[N, F]` raw inputs, optional `y` U32 `[N]`.

use crate::error::{ExportError, Result};

/// Rows of raw (unnormalized) inputs, with labels when known.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// `[rows * features]`, row-major.
    pub x: Vec<f32>,
    pub features: usize,
    /// `[rows]` when present.
    pub y: Option<Vec<u32>>,
}

impl Dataset {
    /// Builds a dataset, checking that `x` is whole rows, finite, and `y` has one label per row.
    pub fn new(x: Vec<f32>, features: usize, y: Option<Vec<u32>>) -> Result<Self> {
        let bad = |reason: String| ExportError::Data {
            what: "dataset".into(),
            reason,
        };
        if features == 0 || !x.len().is_multiple_of(features) {
            return Err(bad(format!(
                "{} values are not whole rows of {features}",
                x.len()
            )));
        }
        if let Some(i) = x.iter().position(|v| !v.is_finite()) {
            return Err(ExportError::NonFinite {
                tensor: "x".into(),
                index: i,
            });
        }
        let rows = x.len() / features;
        if let Some(y) = &y
            && y.len() != rows
        {
            return Err(bad(format!("{} labels for {rows} rows", y.len())));
        }
        Ok(Self { x, features, y })
    }

    /// Number of rows N.
    pub fn rows(&self) -> usize {
        self.x.len().checked_div(self.features).unwrap_or(0)
    }

    /// Row `i` (panics when out of range, like slice indexing).
    pub fn row(&self, i: usize) -> &[f32] {
        &self.x[i * self.features..(i + 1) * self.features]
    }

    /// Checks the width against a model with `features` inputs; `what` names the data set.
    pub fn check_width(&self, what: &str, features: usize) -> Result<()> {
        if self.features != features {
            return Err(ExportError::Data {
                what: what.into(),
                reason: format!(
                    "rows have {} features but the model takes {features}",
                    self.features
                ),
            });
        }
        if self.rows() == 0 {
            return Err(ExportError::Data {
                what: what.into(),
                reason: "no samples".into(),
            });
        }
        Ok(())
    }
}
