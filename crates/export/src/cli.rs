//! The export command's flags, shared by the `export` binary and `distill export`: one
//! definition of the command line.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::{Board, Clipping, Dataset, ExportOptions, ExportReport, FloatModel, Result};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ClipArg {
    Minmax,
    Percentile,
}

/// Calibrate, quantize to int8, write `<stem>.int8.safetensors` + `<stem>.int8.onnx` +
/// `<stem>.vectors.safetensors` + `<stem>.export.json`, and print the summary.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// Float student (`student.safetensors`, FORMAT.md last section).
    #[arg(long)]
    pub model: PathBuf,
    /// Calibration samples: safetensors with `x` F32 [N, F].
    #[arg(long)]
    pub calib: PathBuf,
    /// Evaluation samples: `x` F32 `[N, F]`, `y` U32 `[N]` for accuracy.
    #[arg(long)]
    pub eval: PathBuf,
    /// Output folder.
    #[arg(long, default_value = ".")]
    pub out_dir: PathBuf,
    /// Output file stem.
    #[arg(long, default_value = "student")]
    pub stem: String,
    /// Calibration rows used (the first ones).
    #[arg(long, default_value_t = 1000)]
    pub calib_samples: usize,
    /// Activation range rule.
    #[arg(long, value_enum, default_value_t = ClipArg::Minmax)]
    pub clipping: ClipArg,
    /// Percentile for `--clipping percentile`, in (50, 100].
    #[arg(long, default_value_t = 99.99)]
    pub percentile: f32,
    /// Refuse a model that does not fit: nrf52840, stm32f4, mps2-an386, lm3s6965, microbit.
    #[arg(long)]
    pub board: Option<String>,
    /// Evaluation rows written as firmware test vectors.
    #[arg(long, default_value_t = 100)]
    pub vectors: usize,
    /// Refuse an int8 model more points than this below float on the evaluation set.
    #[arg(long, default_value_t = crate::DEFAULT_MAX_INT8_DROP)]
    pub max_int8_drop: f64,
    /// Keep the int8 model whatever its drop against float.
    #[arg(long)]
    pub keep_int8: bool,
}

impl ExportArgs {
    /// Loads the three files and runs the export ([`crate::run`]).
    pub fn run(&self) -> Result<ExportReport> {
        let board = self.board.as_deref().map(str::parse::<Board>).transpose()?;
        let model = FloatModel::load(&self.model).map_err(|e| e.in_file(&self.model))?;
        let calib = Dataset::load(&self.calib).map_err(|e| e.in_file(&self.calib))?;
        let eval = Dataset::load(&self.eval).map_err(|e| e.in_file(&self.eval))?;
        let opts = ExportOptions {
            out_dir: self.out_dir.clone(),
            stem: self.stem.clone(),
            calib_samples: self.calib_samples,
            clipping: match self.clipping {
                ClipArg::Minmax => Clipping::MinMax,
                ClipArg::Percentile => Clipping::Percentile(self.percentile),
            },
            board,
            vectors: self.vectors,
            max_int8_drop: (!self.keep_int8).then_some(self.max_int8_drop),
        };
        crate::run(&model, &calib, &eval, &opts)
    }
}
