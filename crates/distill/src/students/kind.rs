//! The extension point for student kinds. Everything kind-specific (the network, its fast
//! step, how it is saved, its report section and pictures) sits behind [`Kind`] and
//! [`Student`] in the kind's folder; the pipeline only calls these traits. A new kind is
//! a folder under `students/` plus its line in [`kind_of`].
use std::path::Path;

use candle_core::{Result, Tensor};
use candle_nn::VarMap;
use rand_chacha::ChaCha8Rng;

use crate::config::{Config, StudentKind};
use crate::data::prepared::Prepared;
use crate::nn::Classifier;
use crate::report::Report;
use crate::students::float_model::StudentMeta;

/// A picture of the saved KD student: its file name in the run folder and how to draw it
/// from that folder (it reads `student.safetensors`).
pub type Picture = (&'static str, fn(&Path) -> anyhow::Result<()>);

/// What the pipeline asks of a student kind.
pub trait Kind: Sync {
    /// A fresh student with seeded parameters in `varmap`.
    fn build(
        &self,
        cfg: &Config,
        p: &Prepared,
        varmap: &VarMap,
        rng: &mut ChaCha8Rng,
    ) -> Result<Box<dyn Student>>;

    /// The size its int8 artifact will have, in bytes, without the container header.
    fn int8_bytes(&self, cfg: &Config, features: usize, classes: usize) -> usize;

    /// Its own section of `report.md`, after the common tables (none by default).
    fn report_section(&self, _md: &mut String, _r: &Report) -> anyhow::Result<()> {
        Ok(())
    }

    /// Checks the settings a run of this kind needs (none by default).
    fn validate(&self, _cfg: &Config) -> anyhow::Result<()> {
        Ok(())
    }

    /// Pictures drawn from the saved KD student; side products that never fail a run.
    fn pictures(&self) -> &'static [Picture] {
        &[]
    }
}

/// One trained (or training) student of a kind.
pub trait Student {
    fn classifier(&self) -> &dyn Classifier;

    /// Writes it to `path` in export's float format (the one writer of that format).
    fn save(&self, path: &Path, varmap: &VarMap, meta: &StudentMeta) -> anyhow::Result<()>;

    /// What its test line adds about the device's prediction, given the test inputs (a
    /// tree: how many leaves the max path reaches).
    fn device_note(&self, _x: &Tensor) -> Result<Option<String>> {
        Ok(None)
    }
}

/// The registry: the one place that names every kind.
pub fn kind_of(kind: StudentKind) -> &'static dyn Kind {
    match kind {
        StudentKind::Mlp => &super::mlp::MlpKind,
        StudentKind::Tree => &super::tree::TreeKind,
    }
}
