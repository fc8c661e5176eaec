//! The MLP student's settings (`[student.mlp]`) and its flag.
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::error::{Result, ensure};
use crate::students::kind::{Flag, FlagValue, settings_of};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MlpConfig {
    /// Hidden layer widths; empty for none (a linear model).
    pub hidden: Vec<usize>,
}

impl Default for MlpConfig {
    fn default() -> Self {
        MlpConfig { hidden: vec![128] }
    }
}

impl MlpConfig {
    /// The MLP settings of `cfg` (checked by `Config::validate`).
    pub fn of(cfg: &Config) -> Result<Self> {
        settings_of(cfg, super::NAME)
    }

    pub fn validate(&self) -> Result<()> {
        ensure!(
            self.hidden.iter().all(|&h| h > 0),
            Config,
            "student.mlp.hidden sizes must be > 0, got {:?}",
            self.hidden
        );
        Ok(())
    }
}

pub const FLAGS: &[Flag] = &[Flag {
    name: "student-hidden",
    key: "hidden",
    help: "MLP student: hidden sizes, e.g. 128 or 256,64 (empty for none)",
    value: FlagValue::List,
}];
