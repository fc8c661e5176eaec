//! The subcommands of the `distill` binary (their flags live in the library's `cli`).
pub mod eval;
pub mod explain;
pub mod inspect;

use distill::cli::SweepArgs;

/// `distill sweep`: trees of several depths, label-only / distilled / + transfer set.
pub fn sweep(a: &SweepArgs) -> distill::Result<()> {
    let cfg = a.run.resolve()?;
    let path = distill::students::tree::sweep::sweep(&cfg, &a.run.options()?, &a.depths)?;
    print!("{}", std::fs::read_to_string(&path)?);
    Ok(())
}
