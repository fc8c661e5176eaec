//! The command line: `distill [FLAGS]` runs the main job, where each flag overrides the
//! matching setting of the TOML experiment file; subcommands do the rest.
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::{Config, Normalize, Precision, TeacherKind};
use crate::students::kind::{FlagValue, KINDS, kind_names};
use crate::teacher::onnx::OnnxInput;
use crate::training::loss::SoftLoss;

/// `distill` with no subcommand runs the main job with `run`'s flags.
#[derive(Debug, Parser)]
#[command(
    name = "distill",
    version,
    about = "Train or import a teacher, distill it into a tiny student, export it as int8.",
    long_about = "Train or import a teacher, distill it into a tiny student, export it as int8.\n\n\
        With no subcommand, runs the main job (data → teacher → KD student → int8 artifact) \
        with the flags below; the subcommands export, evaluate, inspect and explain models.",
    args_conflicts_with_subcommands = true,
    subcommand_value_name = "COMMAND",
    subcommand_help_heading = "Commands (none: run the main job)"
)]
pub struct Top {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub run: Cli,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Quantize a float student to the int8 artifact, its ONNX twin and test vectors.
    Export(export::cli::ExportArgs),
    /// Run an int8 artifact on a data folder's test split (runtime-nostd, and tract on the
    /// ONNX twin beside it): accuracy, per-class accuracy, confusion matrix, agreement.
    Eval(EvalArgs),
    /// What an int8 artifact holds: kind, shapes, quantization per layer, MACs, flash and
    /// RAM, SHA-256, and which boards it fits.
    Inspect(InspectArgs),
    /// Draw the path one test input takes down a trained soft tree (float model).
    Explain(ExplainArgs),
    /// Soft trees of several depths: label-only vs distilled vs distilled + transfer set.
    Sweep(Box<SweepArgs>),
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The int8 artifact (`*.int8.safetensors`); `*.int8.onnx` beside it is run by tract.
    pub artifact: PathBuf,
    /// Data folder whose test split is run: IDX files, train.csv + test.csv or a .ts pair.
    #[arg(long)]
    pub data: PathBuf,
    /// Label column of CSV data.
    #[arg(long, default_value = "label")]
    pub label_column: String,
    /// Run the test input with this index only and print its class scores (and a tree's path).
    #[arg(long)]
    pub index: Option<usize>,
    /// Confusion-matrix PNG (default: `<artifact stem>.confusion.png` beside the artifact).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Do not run the ONNX twin even when it is there.
    #[arg(long)]
    pub no_onnx: bool,
    /// Also write every test input with runtime-nostd's outputs to this file (the vectors
    /// format with the raw inputs `x`), for other engines to check against:
    /// `scripts/onnxruntime_agree.py` runs the ONNX twin on it in onnxruntime.
    #[arg(long)]
    pub vectors: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The int8 artifact (`*.int8.safetensors`).
    pub artifact: PathBuf,
    /// Check this board only, and exit with status 1 when the model does not fit it.
    #[arg(long)]
    pub board: Option<String>,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The float tree `distill` saved (`RUN/student.safetensors`).
    #[arg(long)]
    pub model: PathBuf,
    /// Index of the test input.
    #[arg(long, default_value_t = 0)]
    pub index: usize,
    /// Data folder whose test split holds the input (the committed subset when absent).
    #[arg(long, default_value = "/usr/share/datasets/fashion-mnist")]
    pub data: PathBuf,
    /// Label column of CSV data.
    #[arg(long, default_value = "label")]
    pub label_column: String,
    /// Output PNG (default: `explain-<index>.png` beside the model).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SweepArgs {
    /// Tree depths to train, e.g. 4,6,8.
    #[arg(long, value_delimiter = ',', default_value = "4,6,8")]
    pub depths: Vec<u32>,
    #[command(flatten)]
    pub run: Cli,
}

/// The main job's flags (also taken by `sweep`).
#[derive(Debug, Args)]
pub struct Cli {
    /// TOML experiment file; flags below override its settings.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Data folder: IDX files (train-images-idx3-ubyte[.gz], …), train.csv + test.csv, or a .ts
    /// pair (NAME_TRAIN.ts + NAME_TEST.ts, or train.ts + test.ts).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Label column of CSV data.
    #[arg(long)]
    pub label_column: Option<String>,
    /// Input normalization: auto (per feature for tables and sequences [C, T], one for all
    /// pixels of images), per-feature or global.
    #[arg(long, value_enum)]
    pub normalize: Option<Normalize>,
    /// Train on the first N training samples only (0 = all).
    #[arg(long)]
    pub train_limit: Option<usize>,
    /// Share of the training rows held out for validation; 0 trains on all of them (a final
    /// fit once the settings are chosen).
    #[arg(long)]
    pub val_fraction: Option<f64>,
    /// A validation split under this many rows holds out nothing (too few to choose epochs or
    /// distillation settings on): every model trains on all rows for its step budget. 0 keeps
    /// any split.
    #[arg(long)]
    pub min_val_rows: Option<usize>,
    /// Run name; outputs go to `<out>/<name>/`.
    #[arg(long)]
    pub name: Option<String>,
    /// Folder that holds the run folders.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Folder for cached teachers and teacher logits.
    #[arg(long)]
    pub cache: Option<PathBuf>,
    #[arg(long)]
    pub seed: Option<u64>,
    /// Teacher: a CNN or a wide MLP trained here, or an imported ONNX model.
    #[arg(long, value_enum)]
    pub teacher: Option<TeacherKind>,
    /// ONNX teacher file (implies --teacher onnx).
    #[arg(long)]
    pub onnx_teacher: Option<PathBuf>,
    /// What the ONNX teacher takes as input.
    #[arg(long, value_enum)]
    pub onnx_input: Option<OnnxInput>,
    #[arg(long)]
    pub teacher_epochs: Option<usize>,
    /// Teacher arithmetic: f32, or bf16 compute from f32 weights (mixed precision, for GPUs).
    #[arg(long, value_enum)]
    pub teacher_precision: Option<Precision>,
    /// Student kind, one of the registered kinds (`students::kind::KINDS`); each kind's own
    /// flags follow the common ones below, prefixed with what they belong to.
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(kind_names()))]
    pub student: Option<String>,
    /// Student learning rate.
    #[arg(long)]
    pub student_lr: Option<f64>,
    #[arg(long)]
    pub student_epochs: Option<usize>,
    /// Early stopping, teacher and students: epochs (and at least 500 steps) without a
    /// validation gain before a run stops and keeps its best epoch; 0 = off.
    #[arg(long)]
    pub patience: Option<usize>,
    /// Train the students with this many seeds and report mean ± std.
    #[arg(long)]
    pub student_seeds: Option<usize>,
    /// Print the resolved experiment config (TOML) and exit.
    #[arg(long)]
    pub print_config: bool,
    /// Weight of the label cross-entropy in the KD loss (1 = labels only).
    #[arg(long)]
    pub alpha: Option<f64>,
    /// Distillation temperature T.
    #[arg(long)]
    pub temperature: Option<f64>,
    /// Drop the T² factor of the soft term (as Distiller and labml do).
    #[arg(long)]
    pub no_t_squared: bool,
    /// Soft term: KL at temperature T, or MSE between logits.
    #[arg(long, value_enum)]
    pub soft_loss: Option<SoftLoss>,
    /// Add N teacher-labelled, perturbed copies of the training split (a transfer set).
    #[arg(long)]
    pub transfer_copies: Option<usize>,
    /// Fraction of transfer samples that mix two training images.
    #[arg(long)]
    pub mixup: Option<f32>,
    /// Skip the label-only baseline student.
    #[arg(long)]
    pub no_baseline: bool,
    /// Skip the int8 export at the end.
    #[arg(long)]
    pub no_export: bool,
    /// Refuse the export unless the model fits this board.
    #[arg(long)]
    pub board: Option<String>,
    /// Refuse an int8 student more points than this below the float one (default 1).
    #[arg(long)]
    pub max_int8_drop: Option<f64>,
    /// Keep the int8 student whatever its drop against float.
    #[arg(long)]
    pub keep_int8: bool,
    /// Continue an interrupted run from its checkpoints.
    #[arg(long)]
    pub resume: bool,
    /// Print one line per epoch instead of progress bars.
    #[arg(long)]
    pub no_progress: bool,
    /// Device: auto (CUDA when built with it and present), cpu, or cuda:N.
    #[arg(long, default_value = "auto")]
    pub device: String,
    #[command(flatten)]
    pub kind_flags: KindFlags,
}

/// The flags the student kinds declare (`Kind::flags`), each setting `student.<kind>.<key>`:
/// clap learns them from the registry, so a new kind's flags need no line here.
#[derive(Debug, Default)]
pub struct KindFlags {
    /// (kind, key, value) for each flag given.
    pub set: Vec<(&'static str, &'static str, toml::Value)>,
}

/// A flag's text as a TOML value: a number or boolean when it reads as one, else a string.
fn toml_value(text: &str) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("v = {text}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(text.to_string()))
}

impl clap::FromArgMatches for KindFlags {
    fn from_arg_matches(m: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let mut set = Vec::new();
        for kind in KINDS {
            for f in kind.flags() {
                let value = match f.value {
                    FlagValue::Switch if m.get_flag(f.name) => toml::Value::Boolean(true),
                    FlagValue::Switch => continue,
                    FlagValue::One => match m.get_one::<String>(f.name) {
                        Some(v) => toml_value(v),
                        None => continue,
                    },
                    FlagValue::List => match m.get_one::<String>(f.name) {
                        Some(v) if v.trim().is_empty() => toml::Value::Array(vec![]),
                        Some(v) => {
                            toml::Value::Array(v.split(',').map(|s| toml_value(s.trim())).collect())
                        }
                        None => continue,
                    },
                };
                set.push((kind.name(), f.key, value));
            }
        }
        Ok(KindFlags { set })
    }

    fn update_from_arg_matches(&mut self, m: &clap::ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

impl clap::Args for KindFlags {
    fn augment_args(mut cmd: clap::Command) -> clap::Command {
        for kind in KINDS {
            for f in kind.flags() {
                let arg = clap::Arg::new(f.name).long(f.name).help(f.help);
                cmd = cmd.arg(match f.value {
                    FlagValue::Switch => arg.action(clap::ArgAction::SetTrue),
                    FlagValue::One => arg.value_name("VALUE"),
                    FlagValue::List => arg.value_name("LIST"),
                });
            }
        }
        cmd
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

impl Cli {
    /// How to run: resume, progress, device, and whether the data folder was named.
    pub fn options(&self) -> crate::Result<crate::run::RunOptions> {
        Ok(crate::run::RunOptions {
            resume: self.resume,
            progress: !self.no_progress,
            device: crate::device::choose(&self.device)?,
            data_explicit: self.data.is_some() || self.config.is_some(),
        })
    }

    /// The experiment file (or the defaults) with every given flag applied.
    pub fn resolve(&self) -> crate::Result<Config> {
        let mut c = match &self.config {
            Some(p) => Config::load(p)?,
            None => Config::default(),
        };
        macro_rules! set {
            ($flag:expr, $field:expr) => {
                if let Some(v) = $flag.clone() {
                    $field = v;
                }
            };
        }
        set!(self.data, c.data.dir);
        set!(self.label_column, c.data.label_column);
        set!(self.train_limit, c.data.train_limit);
        set!(self.normalize, c.data.normalize);
        set!(self.val_fraction, c.data.val_fraction);
        set!(self.min_val_rows, c.data.min_val_rows);
        set!(self.name, c.name);
        set!(self.out, c.out_dir);
        set!(self.cache, c.cache_dir);
        set!(self.seed, c.seed);
        set!(self.teacher, c.teacher.kind);
        set!(self.onnx_input, c.teacher.onnx_input);
        set!(self.teacher_epochs, c.teacher.train.epochs);
        set!(self.teacher_precision, c.teacher.precision);
        set!(self.student, c.student.kind);
        for (kind, key, value) in &self.kind_flags.set {
            let table = c
                .student
                .kinds
                .entry(kind.to_string())
                .or_insert_with(|| toml::Table::new().into());
            if let toml::Value::Table(t) = table {
                t.insert(key.to_string(), value.clone());
            }
        }
        set!(self.student_lr, c.student.train.lr);
        set!(self.student_epochs, c.student.train.epochs);
        set!(self.patience, c.student.train.patience);
        set!(self.patience, c.teacher.train.patience);
        set!(self.student_seeds, c.student.seeds);
        set!(self.alpha, c.kd.alpha);
        set!(self.temperature, c.kd.temperature);
        set!(self.soft_loss, c.kd.soft);
        // Settings the user chose are used as given, not searched.
        if self.alpha.is_some()
            || self.temperature.is_some()
            || self.soft_loss.is_some()
            || self.no_t_squared
        {
            c.kd.search = false;
        }
        set!(self.transfer_copies, c.transfer.copies);
        set!(self.mixup, c.transfer.mixup);
        if let Some(p) = &self.onnx_teacher {
            c.teacher.kind = TeacherKind::Onnx;
            c.teacher.onnx = p.clone();
        }
        if self.no_t_squared {
            c.kd.t_squared = false;
        }
        if self.no_baseline {
            c.baseline = false;
        }
        if self.no_export {
            c.export.enabled = false;
        }
        if let Some(b) = &self.board {
            c.export.board = Some(b.clone());
        }
        set!(self.max_int8_drop, c.export.max_int8_drop);
        if self.keep_int8 {
            c.export.keep_int8 = true;
        }
        c.student.fill_kind_settings()?;
        c.validate()?;
        Ok(c)
    }
}
