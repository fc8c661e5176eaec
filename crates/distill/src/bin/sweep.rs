//! `sweep`: soft trees of several depths trained on labels only, distilled, and distilled
//! with a transfer set, over `--student-seeds` seeds; writes `<out>/<name>/sweep.md`.
//!
//! `cargo run --release -p distill --bin sweep -- -c configs/strong.toml --depths 4,6,8 --student-seeds 3`
use clap::Parser;

use distill::cli::Cli;
use distill::run::RunOptions;

#[derive(Debug, Parser)]
#[command(
    name = "sweep",
    about = "Label-only vs distilled vs distilled + transfer set soft trees, per depth."
)]
struct Args {
    /// Tree depths to train, e.g. 4,6,8.
    #[arg(long, value_delimiter = ',', default_value = "4,6,8")]
    depths: Vec<u32>,
    #[command(flatten)]
    cli: Cli,
}

fn main() -> std::process::ExitCode {
    let a = Args::parse();
    let res = (|| -> anyhow::Result<()> {
        let cfg = a.cli.resolve()?;
        let opts = RunOptions {
            resume: a.cli.resume,
            progress: !a.cli.no_progress,
            device: distill::device::choose(&a.cli.device)?,
            data_explicit: a.cli.data.is_some() || a.cli.config.is_some(),
        };
        let path = distill::sweep::sweep(&cfg, &opts, &a.depths)?;
        print!("{}", std::fs::read_to_string(&path)?);
        Ok(())
    })();
    match res {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
