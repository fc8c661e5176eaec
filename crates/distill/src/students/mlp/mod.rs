//! The MLP student: dense layers with ReLU between them, trained through `nn`'s fast MLP
//! step on the CPU.
mod config;

use std::path::Path;

use candle_nn::VarMap;
use rand_chacha::ChaCha8Rng;

use crate::config::Config;
use crate::data::prepared::Prepared;
use crate::error::Result;
use crate::nn::{Classifier, Mlp};
use crate::students::float_model::{StudentMeta, save_mlp};
use crate::students::kind::{Flag, Kind, Student, normalized};

pub use config::MlpConfig;

/// The kind's name in `student.kind` and its settings table.
pub const NAME: &str = "mlp";

pub struct MlpKind;

impl Kind for MlpKind {
    fn name(&self) -> &'static str {
        NAME
    }

    fn settings(&self, table: &toml::Table) -> Result<toml::Table> {
        normalized::<MlpConfig>(NAME, table)
    }

    fn flags(&self) -> &'static [Flag] {
        config::FLAGS
    }

    fn validate(&self, cfg: &Config) -> Result<()> {
        MlpConfig::of(cfg)?.validate()
    }

    fn build(
        &self,
        cfg: &Config,
        p: &Prepared,
        varmap: &VarMap,
        rng: &mut ChaCha8Rng,
    ) -> Result<Box<dyn Student>> {
        let hidden = MlpConfig::of(cfg)?.hidden;
        let mlp = Mlp::new(varmap, p.features, &hidden, p.classes, 0.0, rng, &p.device)?;
        Ok(Box::new(MlpStudent { mlp, hidden }))
    }

    fn int8_bytes(&self, cfg: &Config, features: usize, classes: usize) -> Result<usize> {
        let mut widths = vec![features];
        widths.extend(MlpConfig::of(cfg)?.hidden);
        widths.push(classes);
        Ok(dense_int8_bytes(&widths))
    }
}

/// int8 weights plus, per output channel, an i32 bias, multiplier and shift and an f32
/// weight scale (FORMAT.md); the container header is not counted.
pub fn dense_int8_bytes(widths: &[usize]) -> usize {
    widths.windows(2).map(|w| w[0] * w[1] + 16 * w[1]).sum()
}

struct MlpStudent {
    mlp: Mlp,
    hidden: Vec<usize>,
}

impl Student for MlpStudent {
    fn classifier(&self) -> &dyn Classifier {
        &self.mlp
    }

    fn save(&self, path: &Path, varmap: &VarMap, meta: &StudentMeta) -> Result<()> {
        save_mlp(path, varmap, &self.hidden, meta)
    }
}
