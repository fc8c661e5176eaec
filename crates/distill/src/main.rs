use clap::Parser;

use distill::cli::Cli;
use distill::run::{RunOptions, run};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match main_inner(&cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn main_inner(cli: &Cli) -> anyhow::Result<()> {
    let cfg = cli.resolve()?;
    if cli.print_config {
        print!("{}", cfg.to_toml()?);
        return Ok(());
    }
    let device = distill::device::choose(&cli.device)?;
    let opts = RunOptions {
        resume: cli.resume,
        progress: !cli.no_progress,
        device,
        data_explicit: cli.data.is_some() || cli.config.is_some(),
    };
    let dir = run(&cfg, &opts)?;
    println!("run folder: {}", dir.display());
    Ok(())
}

// candle allocates a fresh buffer for every intermediate tensor; glibc returns large ones to
// the OS each time and page-faults them back in. mimalloc keeps them: relu forward+backward on
// a [128, 32, 28, 28] batch went from 62 ms to 24 ms here.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;
