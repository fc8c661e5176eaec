//! One training epoch in candle (its autograd, and the hand-written steps of
//! `distill::nn::fast_mlp` and `distill::nn::fast_cnn`) against the same epoch in PyTorch,
//! in one command:
//! `cargo bench -p distill --bench epoch`. (a) the teacher MLP 784-1200-1200-10 on labels,
//! (b) the KD student 784-128-10 on cached teacher logits, (c) the CNN teacher (conv 3×3 32
//! → pool → conv 3×3 64 → pool → dense 128 → 10, dropout 0.25: the default teacher for
//! images); batch 128, AdamW 1e-3, the same normalized data (written to a temporary folder
//! that `scripts/bench_torch.py` reads). `BENCH_ONLY=cnn` (or `mlp`) runs one part.
//! PyTorch runs when `python3 -c "import torch"` works; otherwise only candle's times print.
//! Each time covers the epoch's steps (shuffle, batches, forward, loss, backward, update);
//! candle's also includes its per-epoch checkpoint write.
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::Context;
use candle_core::{DType, Device, Tensor};
use candle_nn::VarMap;
use distill::config::{Config, TrainConfig};
use distill::data::prepared::Prepared;
use distill::nn::{Classifier, Cnn, CnnSpec, Mlp, predict_logits};
use distill::training::loss::KdLoss;
use distill::training::metrics::Metrics;
use distill::training::progress::EpochProgress;
use distill::training::{Job, TrainData, accuracy, train};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Epochs run per model and path (different seeds): one epoch's accuracy swings by a point
/// or two with the seed, so both sides report means. `BENCH_SEEDS=N` runs more.
const DEFAULT_SEEDS: u64 = 3;

fn seeds() -> u64 {
    std::env::var("BENCH_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(DEFAULT_SEEDS)
}

#[derive(Clone)]
struct Timed {
    /// Mean over the seeds run.
    seconds: f64,
    test_acc: f64,
    /// Test accuracy per seed.
    accs: Vec<f64>,
}

impl Timed {
    fn mean(runs: &[Timed]) -> Timed {
        let n = runs.len().max(1) as f64;
        Timed {
            seconds: runs.iter().map(|r| r.seconds).sum::<f64>() / n,
            test_acc: runs.iter().map(|r| r.test_acc).sum::<f64>() / n,
            accs: runs.iter().map(|r| r.test_acc).collect(),
        }
    }
}

fn main() -> anyhow::Result<()> {
    let cfg = Config::default();
    let log = EpochProgress::new(false);
    let bundle = distill::run::load_data(&cfg, false, &log)?;
    let p = Prepared::new(&cfg, bundle, Device::Cpu)?;
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path();
    write_f32(&dir.join("train_x.f32"), &p.train_x)?;
    write_f32(&dir.join("test_x.f32"), &p.test_x)?;
    write_u32(&dir.join("train_y.u32"), &p.train_y)?;
    write_u32(&dir.join("test_y.u32"), &p.test_y)?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "one epoch, batch 128, {} training samples of {} features, {threads} threads",
        p.train_x.dim(0)?,
        p.features
    );

    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let mut table: Vec<(&str, Timed, Timed, &str)> = Vec::new();
    if only.is_empty() || only == "mlp" {
        mlp_rows(&p, dir, &mut table)?;
    }
    if only.is_empty() || only == "cnn" {
        let spec = Spec {
            arch: Arch::Cnn,
            dropout: 0.25,
            kd: None,
            teacher: None,
            fast: false,
            seed: 1,
        };
        let (_, reference) = epoch(&p, spec, dir)?;
        let runs = (1..=seeds())
            .map(|seed| {
                let spec = Spec {
                    fast: true,
                    seed,
                    ..spec
                };
                epoch(&p, spec, dir).map(|r| r.1)
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        table.push((
            "teacher CNN 32-64-128",
            reference,
            Timed::mean(&runs),
            "cnn",
        ));
    }
    let torch = run_torch(dir, p.features, p.classes, threads, &only)?;
    println!(
        "\nfast and PyTorch: means over {} seeds; autograd: seed 1",
        seeds()
    );
    println!(
        "| model | candle autograd s | candle fast s | PyTorch s | fast / PyTorch | test acc: autograd / fast / PyTorch |"
    );
    println!("|---|---:|---:|---:|---:|---|");
    for (name, r, c, key) in &table {
        let pt = torch.iter().find(|row| row.0 == *key).map(|row| &row.1);
        let (pt_s, ratio, pt_acc) = match pt {
            Some(pt) => (
                format!("{:.2}", pt.seconds),
                format!("{:.2}", c.seconds / pt.seconds),
                format!("{:.2}%", pt.test_acc),
            ),
            None => ("—".into(), "—".into(), "—".into()),
        };
        println!(
            "| {name} | {:.2} | {:.2} | {pt_s} | {ratio} | {:.2}% / {:.2}% / {pt_acc} |",
            r.seconds, c.seconds, r.test_acc, c.test_acc
        );
        let list = |v: &[f64]| {
            v.iter()
                .map(|a| format!("{a:.2}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        println!(
            "|   per seed | | {} | {} | | |",
            list(&c.accs),
            pt.map_or("—".into(), |pt| list(&pt.accs))
        );
    }
    Ok(())
}

/// The MLP rows: the teacher MLP and the KD student, each through autograd (seed 1) and the
/// hand-written step (every seed). Writes the teacher's logits for PyTorch's KD student.
fn mlp_rows(
    p: &Prepared,
    dir: &Path,
    table: &mut Vec<(&str, Timed, Timed, &str)>,
) -> anyhow::Result<()> {
    let teacher_spec = Spec {
        arch: Arch::Mlp(&[1200, 1200]),
        dropout: 0.25,
        kd: None,
        teacher: None,
        fast: false,
        seed: 1,
    };
    let (_, t_ref) = epoch(p, teacher_spec, dir)?;
    let mut runs = Vec::new();
    let mut first = None;
    for seed in 1..=seeds() {
        let spec = Spec {
            fast: true,
            seed,
            ..teacher_spec
        };
        let (model, r) = epoch(p, spec, dir)?;
        first.get_or_insert(model);
        runs.push(r);
    }
    let t = Timed::mean(&runs);
    let teacher = first.context("no teacher epoch ran")?;
    let logits = predict_logits(teacher.as_ref(), &p.train_x, 1000)?;
    write_f32(&dir.join("teacher_logits.f32"), &logits)?;
    let kd = KdLoss {
        alpha: 0.5,
        temperature: 2.0,
        ..KdLoss::default()
    };
    let student_spec = Spec {
        arch: Arch::Mlp(&[128]),
        dropout: 0.0,
        kd: Some(kd),
        teacher: Some(&logits),
        fast: false,
        seed: 1,
    };
    let (_, s_ref) = epoch(p, student_spec, dir)?;
    let runs = (1..=seeds())
        .map(|seed| {
            let spec = Spec {
                fast: true,
                seed,
                ..student_spec
            };
            epoch(p, spec, dir).map(|r| r.1)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let s = Timed::mean(&runs);
    table.push(("teacher MLP 784-1200-1200-10", t_ref, t, "teacher"));
    table.push(("KD student 784-128-10, cached logits", s_ref, s, "student"));
    Ok(())
}

/// The network a timed epoch trains.
#[derive(Clone, Copy)]
enum Arch<'a> {
    Mlp(&'a [usize]),
    /// The default CNN teacher.
    Cnn,
}

/// What one timed epoch trains: `arch`; KD when `kd` and `teacher` are given; through the
/// hand-written step (`fast`) or candle's autograd.
#[derive(Clone, Copy)]
struct Spec<'a> {
    arch: Arch<'a>,
    dropout: f32,
    kd: Option<KdLoss>,
    teacher: Option<&'a Tensor>,
    fast: bool,
    seed: u64,
}

fn epoch(p: &Prepared, spec: Spec, dir: &Path) -> anyhow::Result<(Box<dyn Classifier>, Timed)> {
    let Spec {
        arch,
        dropout,
        kd,
        teacher,
        fast,
        seed,
    } = spec;
    let varmap = VarMap::new();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let dev = &p.device;
    let model: Box<dyn Classifier> = match arch {
        Arch::Mlp(hidden) => Box::new(Mlp::new(
            &varmap, p.features, hidden, p.classes, dropout, &mut rng, dev,
        )?),
        Arch::Cnn => {
            let spec = CnnSpec {
                input: [1, 28, 28],
                channels: &[32, 64],
                dense: 128,
                classes: p.classes,
                dropout,
            };
            Box::new(Cnn::new(&varmap, &spec, &mut rng, dev)?)
        }
    };
    let empty_x = Tensor::zeros((0, p.features), DType::F32, dev)?;
    let empty_y = Tensor::zeros(0, DType::U32, dev)?;
    let data = TrainData {
        x: &p.train_x,
        y: &p.train_y,
        teacher,
        label_mask: None,
        val_x: &empty_x,
        val_y: &empty_y,
    };
    let job = Job {
        stage: "bench",
        cfg: TrainConfig {
            epochs: 1,
            ..TrainConfig::default()
        },
        kd,
        seed: seed + 1,
        checkpoint: dir.join("checkpoint.safetensors"),
        resume: false,
        augment: None,
        fast,
    };
    let start = Instant::now();
    train(
        model.as_ref(),
        &varmap,
        &data,
        &job,
        &mut Metrics::none(),
        &EpochProgress::new(false),
    )?;
    let seconds = start.elapsed().as_secs_f64();
    let test_acc = accuracy(model.as_ref(), &p.test_x, &p.test_y)?;
    Ok((
        model,
        Timed {
            seconds,
            test_acc,
            accs: vec![test_acc],
        },
    ))
}

fn run_torch(
    dir: &Path,
    features: usize,
    classes: usize,
    threads: usize,
    only: &str,
) -> anyhow::Result<Vec<(String, Timed)>> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/bench_torch.py");
    let probe = Command::new("python3")
        .args(["-c", "import torch"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        println!("PyTorch: not importable by python3; `pip install torch` to compare");
        return Ok(Vec::new());
    }
    let out = Command::new("python3")
        .arg(&script)
        .arg(dir)
        .args([features, classes, threads, seeds() as usize].map(|v| v.to_string()))
        .arg(if only.is_empty() { "all" } else { only })
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    anyhow::ensure!(
        out.status.success(),
        "{} failed: {}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut rows = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(line)
            .with_context(|| format!("bench_torch.py printed `{line}`"))?;
        let num = |k: &str| {
            v[k].as_f64()
                .context("bench_torch.py output lacks a number")
        };
        rows.push((
            v["model"].as_str().unwrap_or_default().to_string(),
            Timed {
                seconds: num("seconds")?,
                test_acc: num("test_acc")?,
                accs: v["accs"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|x| x.as_f64()).collect())
                    .unwrap_or_default(),
            },
        ));
    }
    Ok(rows)
}

fn write_f32(path: &Path, t: &Tensor) -> anyhow::Result<()> {
    let v = t.flatten_all()?.to_vec1::<f32>()?;
    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    Ok(std::fs::write(path, bytes)?)
}

fn write_u32(path: &Path, t: &Tensor) -> anyhow::Result<()> {
    let v = t.to_vec1::<u32>()?;
    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    Ok(std::fs::write(path, bytes)?)
}
