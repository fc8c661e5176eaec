//! Labelled test inputs read from IDX files (gzipped or not): raw pixel values as f32, the
//! way `distill` feeds them to a student (its stored normalization does the scaling).

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// `rows` inputs of `features` raw values each, and their labels.
#[derive(Debug, Clone, PartialEq)]
pub struct TestSet {
    /// `[rows * features]`, row-major.
    pub x: Vec<f32>,
    pub features: usize,
    pub y: Vec<u32>,
}

impl TestSet {
    /// Reads `<dir>/<prefix>-images-idx3-ubyte.gz` and `<dir>/<prefix>-labels-idx1-ubyte.gz`.
    pub fn load_idx(dir: &Path, prefix: &str) -> Result<Self> {
        let images = dir.join(format!("{prefix}-images-idx3-ubyte.gz"));
        let labels = dir.join(format!("{prefix}-labels-idx1-ubyte.gz"));
        let (idims, pixels) = read_u8_idx(&images)?;
        let (ldims, y) = read_u8_idx(&labels)?;
        let bad = |path: &PathBuf, reason: String| Error::Idx {
            path: path.clone(),
            reason,
        };
        if idims.len() < 2 || ldims.len() != 1 || idims[0] != ldims[0] {
            return Err(bad(
                &labels,
                format!("images {idims:?} and labels {ldims:?} do not pair up"),
            ));
        }
        Ok(Self {
            x: pixels.iter().map(|&p| f32::from(p)).collect(),
            features: idims[1..].iter().product(),
            y: y.iter().map(|&l| u32::from(l)).collect(),
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

/// An IDX file of unsigned bytes (type 0x08): its dimensions and data.
fn read_u8_idx(path: &Path) -> Result<(Vec<usize>, Vec<u8>)> {
    let raw = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| Error::io(path, e))?;
        out
    } else {
        raw
    };
    let bad = |reason: &str| Error::Idx {
        path: path.to_path_buf(),
        reason: reason.into(),
    };
    let [0, 0, 0x08, ndim] = bytes.get(..4).ok_or_else(|| bad("shorter than a header"))? else {
        return Err(bad("not an IDX file of unsigned bytes"));
    };
    let end = 4 + 4 * usize::from(*ndim);
    let dims: Vec<usize> = bytes
        .get(4..end)
        .ok_or_else(|| bad("truncated dimension list"))?
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let count = dims
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| bad("dimensions overflow"))?;
    let data = &bytes[end..];
    if data.len() != count {
        return Err(bad("data length does not match the dimensions"));
    }
    Ok((dims, data.to_vec()))
}
