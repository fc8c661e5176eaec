//! `export`: quantize a float student file to the int8 artifact and its ONNX twin (the same
//! command as `distill export`, kept for scripts).
//!
//! ```text
//! export --model runs/x/student.safetensors --calib runs/x/calib.safetensors \
//!        --eval runs/x/eval.safetensors --out-dir runs/x --board nrf52840
//! ```

use std::process::ExitCode;

use clap::Parser;
use export::cli::ExportArgs;

#[derive(Debug, Parser)]
#[command(name = "export", version)]
struct Cli {
    #[command(flatten)]
    args: ExportArgs,
}

fn main() -> ExitCode {
    match Cli::parse().args.run() {
        Ok(report) => {
            print!("{report}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
