//! Which source row each training row of a run is: distill shuffles the training file with the
//! run's seed (`data::split_train_val`) before caching teacher logits, so a cached logits file
//! lists rows in that order. `scripts/tree_torch.py` reads this order to distil its PyTorch
//! tree from the same cached logits.
//!
//!     cargo run --release -p distill --example train_order -- ROWS SEED VAL_FRACTION OUT
//!
//! writes OUT: one little-endian u32 per training row, the row's index in the source file.
use anyhow::Context;
use distill::data::{Dataset, split_train_val};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [rows, seed, val_fraction, out] = args.as_slice() else {
        anyhow::bail!("usage: train_order ROWS SEED VAL_FRACTION OUT");
    };
    let rows: u32 = rows.parse().context("ROWS must be a row count")?;
    let seed: u64 = seed.parse().context("SEED must be an integer")?;
    let val_fraction: f64 = val_fraction
        .parse()
        .context("VAL_FRACTION must be a number")?;
    // One feature per row holding the row's own index (exact in f32 below 2^24 rows).
    anyhow::ensure!(rows < 1 << 24, "ROWS must be below 2^24");
    let ids = Dataset {
        x: (0..rows).map(|i| i as f32).collect(),
        y: vec![0; rows as usize],
        shape: vec![1],
        num_classes: 1,
    };
    let (train, _) = split_train_val(&ids, val_fraction, seed);
    let bytes: Vec<u8> = train
        .x
        .iter()
        .flat_map(|&i| (i as u32).to_le_bytes())
        .collect();
    std::fs::write(out, bytes).with_context(|| format!("cannot write {out}"))?;
    println!("{} training rows of {rows} written to {out}", train.x.len());
    Ok(())
}
