//! `export`: quantize a float student file to the int8 artifact and its ONNX twin.
//!
//! ```text
//! export --model runs/x/student.safetensors --calib runs/x/calib.safetensors \
//!        --eval runs/x/eval.safetensors --out-dir runs/x --board nrf52840
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use export::{Board, Clipping, Dataset, ExportOptions, FloatModel};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ClipArg {
    Minmax,
    Percentile,
}

/// Calibrate, quantize to int8, write `<stem>.int8.safetensors` + `<stem>.int8.onnx` +
/// `<stem>.vectors.safetensors` + `<stem>.export.json`, and print the summary.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Float student (`student.safetensors`, FORMAT.md last section).
    #[arg(long)]
    model: PathBuf,
    /// Calibration samples: safetensors with `x` F32 [N, F].
    #[arg(long)]
    calib: PathBuf,
    /// Evaluation samples: `x` F32 [N, F], `y` U32 [N] for accuracy.
    #[arg(long)]
    eval: PathBuf,
    /// Output folder.
    #[arg(long, default_value = ".")]
    out_dir: PathBuf,
    /// Output file stem.
    #[arg(long, default_value = "student")]
    stem: String,
    /// Calibration rows used (the first ones).
    #[arg(long, default_value_t = 1000)]
    calib_samples: usize,
    /// Activation range rule.
    #[arg(long, value_enum, default_value_t = ClipArg::Minmax)]
    clipping: ClipArg,
    /// Percentile for `--clipping percentile`, in (50, 100].
    #[arg(long, default_value_t = 99.99)]
    percentile: f32,
    /// Refuse a model that does not fit: nrf52840, stm32f4, mps2-an386, lm3s6965, microbit.
    #[arg(long)]
    board: Option<String>,
    /// Evaluation rows written as firmware test vectors.
    #[arg(long, default_value_t = 100)]
    vectors: usize,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(a: Args) -> anyhow::Result<()> {
    let board = a.board.as_deref().map(str::parse::<Board>).transpose()?;
    let model =
        FloatModel::load(&a.model).with_context(|| format!("loading {}", a.model.display()))?;
    let calib =
        Dataset::load(&a.calib).with_context(|| format!("loading {}", a.calib.display()))?;
    let eval = Dataset::load(&a.eval).with_context(|| format!("loading {}", a.eval.display()))?;
    let opts = ExportOptions {
        out_dir: a.out_dir,
        stem: a.stem,
        calib_samples: a.calib_samples,
        clipping: match a.clipping {
            ClipArg::Minmax => Clipping::MinMax,
            ClipArg::Percentile => Clipping::Percentile(a.percentile),
        },
        board,
        vectors: a.vectors,
    };
    let report = export::run(&model, &calib, &eval, &opts)?;
    print!("{report}");
    Ok(())
}
