//! The whole chain on the committed Fashion-MNIST subset: train a tiny teacher and KD student
//! with `distill` → export int8 (artifact + ONNX twin) → tract against runtime-nostd on the
//! 500 subset test images. A change anywhere in the chain that breaks agreement (or wrecks
//! accuracy) fails here.

use std::path::{Path, PathBuf};

use clap::Parser;
use distill::cli::Top;
use distill::run::{RunOptions, run};
use regression_tests::{Agreement, Fixture, TestSet};

/// This run reached 66.6% int8 (float 67.8%, teacher 71.4%) when the test was written; the
/// floor leaves room for harmless training changes and sits far above chance (10%).
const CHAIN_FLOOR_PERCENT: f64 = 55.0;

fn subset() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/fashion-mnist-subset")
}

#[test]
fn train_export_and_compare_on_the_subset() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let cache = dir.path().join("cache");
    let data_dir = subset();
    let top = Top::try_parse_from([
        "distill",
        "--no-progress",
        "--no-baseline",
        "--teacher",
        "mlp",
        "--teacher-epochs",
        "3",
        "--student-epochs",
        "30",
        "--student-hidden",
        "16",
        "--train-limit",
        "600",
        "--name",
        "chain",
        "--out",
        out,
        "--cache",
        cache.to_str().unwrap(),
        "--data",
        data_dir.to_str().unwrap(),
    ])
    .unwrap();
    assert!(top.command.is_none(), "no subcommand: the main job");
    let cfg = top.run.resolve().unwrap();
    assert!(cfg.export.enabled, "the run must end with the int8 export");
    let opts = RunOptions {
        resume: false,
        progress: false,
        device: candle_core::Device::Cpu,
        data_explicit: true,
    };
    let run_dir = run(&cfg, &opts).unwrap();

    let fx = Fixture::load_from(&run_dir, "student").unwrap();
    let data = TestSet::load_idx(&data_dir, "t10k").unwrap();
    let a = Agreement::measure(&fx.artifact, &fx.onnx, &data).unwrap();
    println!("chain: {}", a.raw);
    println!("chain: {}", a.explain());
    let problems = a.problems();
    assert!(problems.is_empty(), "{problems:#?}");
    let (rt, tr) = a.accuracy(&data);
    println!(
        "chain: int8 accuracy on {} inputs: runtime-nostd {rt:.2}%, tract {tr:.2}%",
        data.rows()
    );
    assert!(
        rt >= CHAIN_FLOOR_PERCENT,
        "runtime-nostd {rt:.2}% < {CHAIN_FLOOR_PERCENT}%"
    );
    assert!(
        tr >= CHAIN_FLOOR_PERCENT,
        "tract {tr:.2}% < {CHAIN_FLOOR_PERCENT}%"
    );
}
