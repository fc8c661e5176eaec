//! The experiment file: every setting of a run, with defaults that reproduce the README run.
//! CLI flags override it; the resolved config is saved in the run folder.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::data::augment::Augment;
use crate::error::{Context, Error, Result, bail, ensure};
use crate::students::transfer::TransferConfig;
use crate::teacher::onnx::OnnxInput;
use crate::training::loss::KdLoss;

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
    /// IDX, CSV or `.ts` directory; when absent the committed Fashion-MNIST subset is used.
    pub dir: PathBuf,
    pub label_column: String,
    pub val_fraction: f64,
    /// A validation split smaller than this holds out nothing: its accuracy moves in steps
    /// of 100/rows points, too coarse to choose epochs or distillation settings on (4 rows
    /// of 36 kept a teacher's third epoch), so every model trains on all rows for its step
    /// budget and the distillation settings stay as configured. 0 turns the rule off.
    pub min_val_rows: usize,
    /// Input normalization: `auto` standardizes each feature of a table or a sequence and uses
    /// one mean and std for all pixels of an image.
    pub normalize: Normalize,
    /// Use only the first N training samples (0 = all); for quick runs and tests.
    pub train_limit: usize,
}

impl Default for DataConfig {
    fn default() -> Self {
        DataConfig {
            dir: "/usr/share/datasets/fashion-mnist".into(),
            label_column: "label".into(),
            val_fraction: 0.1,
            min_val_rows: 100,
            normalize: Normalize::Auto,
            train_limit: 0,
        }
    }
}

/// How inputs are normalized before training; the choice travels in every model and artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Normalize {
    /// Per feature for tables (`[F]`: columns in their own units) and sequences (`[C, T]`:
    /// channels in their own units, each channel-time position standardized), one mean and std
    /// for all values of an image (`[C, H, W]`: pixels share a unit, and augmentation needs it).
    /// The rule is by shape: per feature when the sample has rank ≤ 2 or at most one
    /// dimension above 1 (`[1, 1, 30]` is a table), global otherwise.
    Auto,
    /// One mean and std per feature (a constant feature gets std 1).
    PerFeature,
    /// One mean and std for all features.
    Global,
}

impl Normalize {
    /// Whether data of this sample shape gets one mean/std per feature: for `Auto`, tables
    /// `[F]` and sequences `[C, T]` (any rank ≤ 2) and any shape with at most one dimension
    /// above 1 do; images `[C, H, W]` get one pair for all values.
    pub fn per_feature(self, shape: &[usize]) -> bool {
        match self {
            Normalize::Auto => shape.len() <= 2 || shape.iter().filter(|&&d| d > 1).count() <= 1,
            Normalize::PerFeature => true,
            Normalize::Global => false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum TeacherKind {
    /// A CNN for images (`[C, H, W]`) big enough for its two conv-and-pool blocks, an MLP
    /// otherwise (tables, sequences `[C, T]`, small images).
    Auto,
    Cnn,
    Mlp,
    Onnx,
}

/// The smallest image side the CNN teacher is chosen for: two 2×2 poolings leave 4×4.
pub const CNN_MIN_SIDE: usize = 16;

impl TeacherKind {
    /// The kind that trains on samples of `shape`: `Auto` decided, the others as they are.
    pub fn resolve(self, shape: &[usize]) -> TeacherKind {
        match (self, shape) {
            (TeacherKind::Auto, [_, h, w]) if *h >= CNN_MIN_SIDE && *w >= CNN_MIN_SIDE => {
                TeacherKind::Cnn
            }
            (TeacherKind::Auto, _) => TeacherKind::Mlp,
            (k, _) => k,
        }
    }
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
    /// Arithmetic of the teacher's forward and backward passes: `bf16` computes in bfloat16
    /// from f32 master weights (mixed precision; for GPUs — on the CPU it is slower than f32).
    pub precision: Precision,
    /// ONNX teacher file and what it takes as input.
    pub onnx: PathBuf,
    pub onnx_input: OnnxInput,
}

impl Default for TeacherConfig {
    fn default() -> Self {
        TeacherConfig {
            kind: TeacherKind::Auto,
            channels: vec![32, 64],
            dense: 128,
            hidden: vec![1200, 1200],
            dropout: 0.25,
            // 8 epochs of Fashion-MNIST's 54,000 training rows: the CNN teacher is most of the
            // main job's time (~80 s an epoch on a 2-core machine).
            train: TrainConfig {
                steps: 3200,
                ..TrainConfig::default()
            },
            augment: Augment::default(),
            precision: Precision::F32,
            onnx: PathBuf::new(),
            onnx_input: OnnxInput::Normalized,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Precision {
    F32,
    /// bfloat16 compute, f32 parameters and optimizer.
    Bf16,
}

impl Precision {
    pub fn dtype(self) -> candle_core::DType {
        match self {
            Precision::F32 => candle_core::DType::F32,
            Precision::Bf16 => candle_core::DType::BF16,
        }
    }
}

/// The student: its kind, and each kind's own settings as the table `[student.<kind>]`,
/// which the kind reads and checks itself (`students::kind`), so a new kind adds no field here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StudentConfig {
    /// A registered kind's name: `mlp`, `tree`, … (`students::kind::KINDS`).
    pub kind: String,
    pub train: TrainConfig,
    /// Train the KD and label-only students with this many seeds and report mean ± std.
    pub seeds: usize,
    /// `[student.<kind>]` tables, by kind name (checked in `Config::validate`: serde cannot
    /// deny unknown keys beside a flattened map).
    #[serde(flatten)]
    pub kinds: BTreeMap<String, toml::Value>,
}

impl Default for StudentConfig {
    fn default() -> Self {
        StudentConfig {
            kind: crate::students::mlp::NAME.into(),
            train: TrainConfig::default(),
            seeds: 1,
            kinds: BTreeMap::new(),
        }
    }
}

impl StudentConfig {
    /// Checks every `[student.<kind>]` table and writes each back with its defaults filled in,
    /// adding the chosen kind's table, so the resolved config shows every setting used.
    pub fn fill_kind_settings(&mut self) -> Result<()> {
        use crate::students::kind::{kind_named, kind_names};
        kind_named(&self.kind)?;
        self.kinds
            .entry(self.kind.clone())
            .or_insert_with(|| toml::Table::new().into());
        for (name, value) in self.kinds.iter_mut() {
            let Ok(kind) = kind_named(name) else {
                let home: Vec<_> = crate::students::kind::KINDS
                    .iter()
                    .filter(|k| {
                        k.settings(&toml::Table::new())
                            .is_ok_and(|t| t.contains_key(name))
                    })
                    .map(|k| format!("[student.{}]", k.name()))
                    .collect();
                let hint = match home.is_empty() {
                    true => String::new(),
                    false => format!(" (it is a setting of {})", home.join(" and ")),
                };
                bail!(
                    Config,
                    "student.{name} is not a setting{hint}: [student] takes kind, seeds, \
                     [student.train] and a table per kind ({})",
                    kind_names().join(", ")
                );
            };
            let toml::Value::Table(t) = value else {
                bail!(Config, "student.{name} must be a table of {name} settings");
            };
            *t = kind.settings(t)?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// Epochs at most; 0 = as many as `steps` optimizer steps take (see `budget`).
    pub epochs: usize,
    /// The optimizer-step budget when `epochs` is 0.
    pub steps: usize,
    /// The most epochs the step budget may plan.
    pub max_epochs: usize,
    /// Stop after this many epochs (and at least 500 steps) without a validation gain,
    /// keeping the best epoch; 0 = run every epoch and keep the last.
    pub patience: usize,
    pub batch_size: usize,
    pub lr: f64,
    pub weight_decay: f64,
    /// Cosine decay of the learning rate to this fraction of `lr` by the last epoch.
    pub final_lr_fraction: f64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 0,
            steps: 8000,
            max_epochs: 500,
            patience: 10,
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
    /// Refuse an int8 student more points than this below the float one on the test set.
    pub max_int8_drop: f64,
    /// Keep the int8 student whatever its drop.
    pub keep_int8: bool,
}

impl Default for ExportConfig {
    fn default() -> Self {
        ExportConfig {
            enabled: true,
            calib_samples: 2000,
            vectors: 64,
            board: None,
            max_int8_drop: export::DEFAULT_MAX_INT8_DROP,
            keep_int8: false,
        }
    }
}

impl Config {
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{}: cannot read the config", path.display()))?;
        let in_file = |e: &dyn std::fmt::Display| Error::Config(format!("{}: {e}", path.display()));
        let mut c: Config = toml::from_str(&text).map_err(|e| in_file(&e))?;
        c.student.fill_kind_settings().map_err(|e| in_file(&e))?;
        // A file that sets the distillation loss means it (unless it asks for the search).
        let raw: toml::Table = toml::from_str(&text).map_err(|e| in_file(&e))?;
        if let Some(kd) = raw.get("kd").and_then(|v| v.as_table())
            && !kd.contains_key("search")
            && ["alpha", "temperature", "soft", "t_squared"]
                .iter()
                .any(|k| kd.contains_key(*k))
        {
            c.kd.search = false;
        }
        Ok(c)
    }

    pub fn to_toml(&self) -> Result<String> {
        Ok(toml::to_string_pretty(self)?)
    }

    /// Checks the settings that would otherwise fail deep inside training.
    pub fn validate(&self) -> Result<()> {
        let k = &self.kd;
        ensure!(
            (0.0..=1.0).contains(&k.alpha),
            Config,
            "kd.alpha must be in [0, 1], got {}",
            k.alpha
        );
        ensure!(
            k.temperature > 0.0,
            Config,
            "kd.temperature must be > 0, got {}",
            k.temperature
        );
        let drop = self.export.max_int8_drop;
        ensure!(
            drop.is_finite() && drop >= 0.0,
            Config,
            "export.max_int8_drop must be a number of points >= 0, got {drop}"
        );
        for (what, t) in [
            ("teacher", &self.teacher.train),
            ("student", &self.student.train),
        ] {
            ensure!(
                t.batch_size > 0,
                Config,
                "{what}.train.batch_size must be > 0"
            );
            ensure!(
                t.epochs > 0 || (t.steps > 0 && t.max_epochs > 0),
                Config,
                "{what}.train: epochs = 0 plans from the step budget, which needs steps > 0 \
                 and max_epochs > 0"
            );
            ensure!(
                t.lr > 0.0 && t.lr.is_finite(),
                Config,
                "{what}.train.lr must be > 0"
            );
        }
        ensure!(
            (0.0..0.9).contains(&self.data.val_fraction),
            Config,
            "data.val_fraction must be in [0, 0.9)"
        );
        ensure!(
            (0.0..1.0).contains(&self.teacher.dropout),
            Config,
            "teacher.dropout must be in [0, 1)"
        );
        let mut student = self.student.clone();
        student.fill_kind_settings()?;
        crate::students::kind::kind_of(self)?.validate(self)?;
        let t = &self.transfer;
        ensure!(
            (0.0..=1.0).contains(&t.mixup),
            Config,
            "transfer.mixup must be in [0, 1], got {}",
            t.mixup
        );
        ensure!(
            t.copies == 0 || self.kd.alpha < 1.0,
            Config,
            "a transfer set only carries teacher targets: it needs kd.alpha < 1"
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::training::loss::SoftLoss;

    #[test]
    fn auto_normalization_is_per_feature_for_tables_and_sequences_only() {
        let auto = Normalize::Auto;
        assert!(auto.per_feature(&[13]) && auto.per_feature(&[751]) && auto.per_feature(&[1, 30]));
        // Sequences [C, T], whose channels have their own units (JapaneseVowels: 12 LPC
        // cepstrum coefficients over 25 steps).
        assert!(auto.per_feature(&[12, 25]) && auto.per_feature(&[8, 8]));
        assert!(auto.per_feature(&[1, 1, 30]));
        assert!(!auto.per_feature(&[1, 28, 28]) && !auto.per_feature(&[3, 16, 16]));
        assert!(Normalize::PerFeature.per_feature(&[1, 28, 28]));
        assert!(!Normalize::Global.per_feature(&[13]));
    }

    #[test]
    fn auto_teacher_is_a_cnn_for_big_enough_images_only() {
        let auto = TeacherKind::Auto;
        assert_eq!(auto.resolve(&[1, 28, 28]), TeacherKind::Cnn);
        assert_eq!(auto.resolve(&[3, 16, 16]), TeacherKind::Cnn);
        assert_eq!(auto.resolve(&[1, 8, 8]), TeacherKind::Mlp);
        assert_eq!(auto.resolve(&[13]), TeacherKind::Mlp);
        // A sequence [C, T] is not an image, however long: the MLP (a conv teacher for
        // sequences is future work).
        assert_eq!(auto.resolve(&[12, 25]), TeacherKind::Mlp);
        assert_eq!(auto.resolve(&[64, 512]), TeacherKind::Mlp);
        assert_eq!(auto.resolve(&[1, 251]), TeacherKind::Mlp);
        assert_eq!(TeacherKind::Cnn.resolve(&[13]), TeacherKind::Cnn);
    }

    #[test]
    fn default_round_trips_through_toml() {
        let c = Config::default();
        let back: Config = toml::from_str(&c.to_toml().unwrap()).unwrap();
        assert_eq!(c, back);
    }

    #[test]
    fn tree_settings_are_checked() {
        use crate::students::kind::store_settings;
        use crate::students::tree::TreeConfig;
        let mut c: Config =
            toml::from_str("[student]\nkind = \"tree\"\n[student.tree]\ndepth = 4\n").unwrap();
        let mut t = TreeConfig::of(&c).unwrap();
        assert_eq!((c.student.kind.as_str(), t.depth), ("tree", 4));
        c.validate().unwrap();
        t.depth = 11;
        store_settings(&mut c, "tree", &t).unwrap();
        assert!(c.validate().unwrap_err().to_string().contains("depth"));
        t.depth = 3;
        store_settings(&mut c, "tree", &t).unwrap();
        c.kd.soft = SoftLoss::LogitMse;
        assert!(c.validate().is_err());
    }

    #[test]
    fn an_unknown_kind_or_a_setting_in_the_wrong_table_is_named() {
        let c: Config = toml::from_str("[student]\nkind = \"forest\"\n").unwrap();
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("\"forest\"") && e.contains("mlp, tree"), "{e}");
        let c: Config = toml::from_str("[student]\nhidden = [64]\n").unwrap();
        let e = c.validate().unwrap_err().to_string();
        assert!(
            e.contains("student.hidden") && e.contains("[student.mlp]"),
            "{e}"
        );
        let c: Config = toml::from_str("[student.tree]\ndepht = 4\n").unwrap();
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("[student.tree]") && e.contains("depht"), "{e}");
    }

    #[test]
    fn every_committed_config_loads_and_validates() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                let c = Config::load(&path).unwrap();
                c.validate()
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                seen += 1;
            }
        }
        assert!(seen >= 3, "only {seen} configs in {}", dir.display());
    }

    #[test]
    fn unknown_keys_are_errors() {
        assert!(toml::from_str::<Config>("sede = 3\n").is_err());
        assert!(toml::from_str::<Config>("[student.train]\nlf = 3\n").is_err());
        let c: Config = toml::from_str("[student]\nhiden = [3]\n").unwrap();
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("student.hiden")
        );
        let c: Config = toml::from_str("seed = 3\n[student.mlp]\nhidden = [64, 32]\n").unwrap();
        let hidden = crate::students::mlp::MlpConfig::of(&c).unwrap().hidden;
        assert_eq!((c.seed, hidden), (3, vec![64, 32]));
    }
}
