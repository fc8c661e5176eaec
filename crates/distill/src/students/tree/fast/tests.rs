//! The fast tree step against its reference twin, candle's autograd (`tree_loss`): same
//! seeds, same batches, so after several epochs the parameters, the losses and the balance
//! penalty's running averages must agree to float rounding.
use candle_core::{Device, Tensor};
use candle_nn::VarMap;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::config::TrainConfig;
use crate::students::tree::SoftTree;
use crate::students::tree::TreeConfig;
use crate::students::tree::loss::Balance;
use crate::training::loss::{KdLoss, SoftLoss};
use crate::training::metrics::Metrics;
use crate::training::progress::EpochProgress;
use crate::training::{Job, TrainData, train};

const N: usize = 41;
const F: usize = 7;
const C: usize = 4;

fn tensor(rng: &mut ChaCha8Rng, rows: usize, cols: usize, scale: f32) -> Tensor {
    let v: Vec<f32> = (0..rows * cols)
        .map(|_| rng.random_range(-scale..scale))
        .collect();
    Tensor::from_vec(v, (rows, cols), &Device::Cpu).unwrap()
}

struct Outcome {
    params: Vec<Vec<f32>>,
    losses: Vec<f64>,
    balance: Balance,
}

/// Trains a depth-3 tree for `epochs` epochs of batch 8 (the last batch is short).
fn run(
    fast: bool,
    kd: Option<KdLoss>,
    masked: bool,
    tree_cfg: TreeConfig,
    epochs: usize,
) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    run_in(dir.path(), false, fast, kd, masked, tree_cfg, epochs)
}

/// `run`, checkpointing to `dir`, optionally resuming from what is there.
fn run_in(
    dir: &std::path::Path,
    resume: bool,
    fast: bool,
    kd: Option<KdLoss>,
    masked: bool,
    tree_cfg: TreeConfig,
    epochs: usize,
) -> Outcome {
    let dev = Device::Cpu;
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let x = tensor(&mut rng, N, F, 2.0);
    let teacher = tensor(&mut rng, N, C, 4.0);
    let y: Vec<u32> = (0..N).map(|_| rng.random_range(0..C as u32)).collect();
    let y = Tensor::from_vec(y, N, &dev).unwrap();
    let mask: Vec<f32> = (0..N).map(|i| (i % 3 != 0) as u32 as f32).collect();
    let mask = Tensor::from_vec(mask, N, &dev).unwrap();
    let centre = x.mean(0).unwrap();
    let varmap = VarMap::new();
    let tree = SoftTree::new(&varmap, &centre, C, &tree_cfg, &mut rng, &dev).unwrap();
    let data = TrainData {
        x: &x,
        y: &y,
        teacher: kd.map(|_| &teacher),
        label_mask: masked.then_some(&mask),
        val_x: &x,
        val_y: &y,
    };
    let job = Job {
        stage: "t",
        cfg: TrainConfig {
            epochs,
            batch_size: 8,
            lr: 0.02,
            weight_decay: 0.01,
            // Constant, so that 2 epochs are the start of 3 (the resume test).
            final_lr_fraction: 1.0,
            // Step for step: every epoch runs and the last one is kept.
            patience: 0,
            ..TrainConfig::default()
        },
        kd,
        seed: 11,
        checkpoint: dir.join("c.safetensors"),
        resume,
        augment: None,
        fast,
    };
    let hist = train(
        &tree,
        &varmap,
        &data,
        &job,
        &mut Metrics::none(),
        &EpochProgress::new(false),
    )
    .unwrap()
    .history;
    let mut names: Vec<_> = varmap.data().lock().unwrap().keys().cloned().collect();
    names.sort();
    let params = names
        .iter()
        .map(|n| {
            let t = varmap.data().lock().unwrap()[n].as_tensor().clone();
            t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
        })
        .collect();
    Outcome {
        params,
        losses: hist.iter().map(|r| r.loss).collect(),
        balance: tree.balance().borrow().clone(),
    }
}

fn assert_twins(kd: Option<KdLoss>, masked: bool, cfg: TreeConfig) {
    let a = run(false, kd, masked, cfg, 3);
    let b = run(true, kd, masked, cfg, 3);
    for (x, y) in a.losses.iter().zip(&b.losses) {
        assert!((x - y).abs() < 1e-4 * x.abs().max(1.0), "loss {x} vs {y}");
    }
    // The runs must have moved every parameter, or agreement would prove little.
    let init = run(false, kd, masked, cfg, 0);
    for (x, y) in init.params.iter().zip(&a.params) {
        let moved = x
            .iter()
            .zip(y)
            .map(|(u, v)| (u - v).abs())
            .fold(0f32, f32::max);
        assert!(moved > 1e-3, "a parameter did not train ({moved})");
    }
    for (x, y) in a.params.iter().flatten().zip(b.params.iter().flatten()) {
        assert!((x - y).abs() < 2e-4, "parameter {x} vs {y}");
    }
    match (a.balance.sums(), b.balance.sums()) {
        (Some((na, da)), Some((nb, db))) => {
            for (x, y) in na.iter().chain(da).zip(nb.iter().chain(db)) {
                assert!((x - y).abs() < 1e-5, "running average {x} vs {y}");
            }
        }
        (None, None) => assert_eq!(cfg.balance, 0.0),
        _ => panic!("one path kept running averages and the other did not"),
    }
}

fn depth3(balance: f64, learn_beta: bool) -> TreeConfig {
    TreeConfig {
        depth: 3,
        beta: 1.5,
        beta_final: None,
        learn_beta,
        balance,
        balance_decay: 0.8,
        median_init: false,
    }
}

#[test]
fn labels_with_balance_match_autograd() {
    assert_twins(None, false, depth3(0.5, false));
    assert_twins(None, false, depth3(0.0, false));
}

#[test]
fn kd_with_transfer_mask_and_learned_beta_match_autograd() {
    let kd = KdLoss {
        alpha: 0.3,
        temperature: 2.5,
        ..KdLoss::default()
    };
    assert_twins(Some(kd), true, depth3(1.0, true));
    let no_t2 = KdLoss {
        t_squared: false,
        ..kd
    };
    assert_twins(Some(no_t2), false, depth3(0.1, false));
    let targets = KdLoss {
        soft: SoftLoss::KlTargets,
        ..kd
    };
    assert_twins(Some(targets), true, depth3(1.0, false));
}

#[test]
fn labels_only_kd_setting_matches_autograd() {
    let hard = KdLoss {
        alpha: 1.0,
        ..KdLoss::default()
    };
    assert_twins(Some(hard), true, depth3(0.5, true));
}

#[test]
fn resume_restores_the_balance_averages_exactly() {
    let cfg = depth3(1.0, true);
    let kd = Some(KdLoss::default());
    let whole = run(true, kd, false, cfg, 3);
    let dir = tempfile::tempdir().unwrap();
    run_in(dir.path(), false, true, kd, false, cfg, 2);
    let resumed = run_in(dir.path(), true, true, kd, false, cfg, 3);
    assert_eq!(whole.losses, resumed.losses);
    assert_eq!(whole.params, resumed.params);
    assert_eq!(whole.balance, resumed.balance);
    // Without the averages the third epoch starts its penalty from scratch and drifts.
    let ckpt = dir.path().join("c.safetensors");
    let bytes = std::fs::read(&ckpt).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    assert!(
        st.names()
            .iter()
            .any(|n| n.starts_with("state.tree.balance"))
    );
}
