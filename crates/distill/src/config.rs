//! The experiment file: every setting of a run, with defaults that reproduce the README run.
//! CLI flags override it; the resolved config is saved in the run folder.
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::augment::Augment;
use crate::loss::KdLoss;
use crate::models::OnnxInput;
use crate::transfer::TransferConfig;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Run name: outputs go to `<out_dir>/<name>/`.
    pub name: String,
    pub out_dir: PathBuf,
    /// Teacher logits and trained teachers are cached here, shared between runs.
    pub cache_dir: PathBuf,
    pub seed: u64,
    pub data: DataConfig,
    pub teacher: TeacherConfig,
    pub student: StudentConfig,
    pub kd: KdLoss,
    /// Also train the same student on labels only (α = 1) to show what distillation bought.
    pub baseline: bool,
    pub transfer: TransferConfig,
    pub export: ExportConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            name: "fashion-mnist".into(),
            out_dir: "runs".into(),
            cache_dir: "cache".into(),
            seed: 42,
            data: DataConfig::default(),
            teacher: TeacherConfig::default(),
            student: StudentConfig::default(),
            kd: KdLoss::default(),
            baseline: true,
            transfer: TransferConfig::default(),
            export: ExportConfig::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataConfig {
    /// IDX or CSV directory; when absent the committed Fashion-MNIST subset is used.
    pub dir: PathBuf,
    pub label_column: String,
    pub val_fraction: f64,
    /// One mean/std per feature (tables) instead of one for all (images).
    pub per_feature_norm: bool,
    /// Use only the first N training samples (0 = all); for quick runs and tests.
    pub train_limit: usize,
}

impl Default for DataConfig {
    fn default() -> Self {
        DataConfig {
            dir: "/usr/share/datasets/fashion-mnist".into(),
            label_column: "label".into(),
            val_fraction: 0.1,
            per_feature_norm: false,
            train_limit: 0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum TeacherKind {
    Cnn,
    Mlp,
    Onnx,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TeacherConfig {
    pub kind: TeacherKind,
    /// CNN: channels of the conv blocks, then the dense width.
    pub channels: Vec<usize>,
    pub dense: usize,
    /// MLP teacher hidden sizes (Hinton's 1200-1200).
    pub hidden: Vec<usize>,
    pub dropout: f32,
    pub train: TrainConfig,
    /// Perturbations of each training batch (images only).
    pub augment: Augment,
    /// ONNX teacher file and what it takes as input.
    pub onnx: PathBuf,
    pub onnx_input: OnnxInput,
}

impl Default for TeacherConfig {
    fn default() -> Self {
        TeacherConfig {
            kind: TeacherKind::Cnn,
            channels: vec![32, 64],
            dense: 128,
            hidden: vec![1200, 1200],
            dropout: 0.25,
            train: TrainConfig {
                epochs: 8,
                ..TrainConfig::default()
            },
            augment: Augment::default(),
            onnx: PathBuf::new(),
            onnx_input: OnnxInput::Normalized,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StudentConfig {
    pub hidden: Vec<usize>,
    pub train: TrainConfig,
    /// Train the KD and label-only students with this many seeds and report mean ± std.
    pub seeds: usize,
}

impl Default for StudentConfig {
    fn default() -> Self {
        StudentConfig {
            hidden: vec![128],
            train: TrainConfig {
                epochs: 20,
                ..TrainConfig::default()
            },
            seeds: 1,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch_size: usize,
    pub lr: f64,
    pub weight_decay: f64,
    /// Cosine decay of the learning rate to this fraction of `lr` by the last epoch.
    pub final_lr_fraction: f64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 10,
            batch_size: 128,
            lr: 1e-3,
            weight_decay: 0.0,
            final_lr_fraction: 0.05,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExportConfig {
    pub enabled: bool,
    pub calib_samples: usize,
    /// Test vectors embedded in the firmware self-test.
    pub vectors: usize,
    /// Refuse the export when it does not fit this board (see `export --help`).
    pub board: Option<String>,
}

impl Default for ExportConfig {
    fn default() -> Self {
        ExportConfig {
            enabled: true,
            calib_samples: 2000,
            vectors: 64,
            board: None,
        }
    }
}

impl Config {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("{}: cannot read the config: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }

    pub fn to_toml(&self) -> anyhow::Result<String> {
        Ok(toml::to_string_pretty(self)?)
    }

    /// Checks the settings that would otherwise fail deep inside training.
    pub fn validate(&self) -> anyhow::Result<()> {
        let k = &self.kd;
        anyhow::ensure!(
            (0.0..=1.0).contains(&k.alpha),
            "kd.alpha must be in [0, 1], got {}",
            k.alpha
        );
        anyhow::ensure!(
            k.temperature > 0.0,
            "kd.temperature must be > 0, got {}",
            k.temperature
        );
        for (what, t) in [
            ("teacher", &self.teacher.train),
            ("student", &self.student.train),
        ] {
            anyhow::ensure!(t.batch_size > 0, "{what}.train.batch_size must be > 0");
            anyhow::ensure!(
                t.lr > 0.0 && t.lr.is_finite(),
                "{what}.train.lr must be > 0"
            );
        }
        anyhow::ensure!(
            (0.0..0.9).contains(&self.data.val_fraction),
            "data.val_fraction must be in [0, 0.9)"
        );
        anyhow::ensure!(
            (0.0..1.0).contains(&self.teacher.dropout),
            "teacher.dropout must be in [0, 1)"
        );
        anyhow::ensure!(
            self.student.hidden.iter().all(|&h| h > 0),
            "student.hidden sizes must be > 0"
        );
        let t = &self.transfer;
        anyhow::ensure!(
            (0.0..=1.0).contains(&t.mixup),
            "transfer.mixup must be in [0, 1], got {}",
            t.mixup
        );
        anyhow::ensure!(
            t.copies == 0 || self.kd.alpha < 1.0,
            "a transfer set only carries teacher targets: it needs kd.alpha < 1"
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_round_trips_through_toml() {
        let c = Config::default();
        let back: Config = toml::from_str(&c.to_toml().unwrap()).unwrap();
        assert_eq!(c, back);
    }

    #[test]
    fn unknown_keys_are_errors() {
        assert!(toml::from_str::<Config>("[student]\nhiden = [3]\n").is_err());
        let c: Config = toml::from_str("seed = 3\n[student]\nhidden = [64, 32]\n").unwrap();
        assert_eq!((c.seed, c.student.hidden), (3, vec![64, 32]));
    }
}
