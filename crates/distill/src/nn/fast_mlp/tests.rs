//! The fast step against its reference twin, candle's autograd: same seeds, same batches,
//! same dropout masks, so after several epochs the parameters and losses must agree to float
//! rounding.
use candle_core::{Device, Tensor};
use candle_nn::VarMap;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::config::TrainConfig;
use crate::nn::Mlp;
use crate::training::loss::{KdLoss, SoftLoss};
use crate::training::metrics::Metrics;
use crate::training::progress::EpochProgress;
use crate::training::{Job, TrainData, train};

const N: usize = 37;
const F: usize = 6;
const C: usize = 3;

fn tensor(rng: &mut ChaCha8Rng, rows: usize, cols: usize, scale: f32) -> Tensor {
    let v: Vec<f32> = (0..rows * cols)
        .map(|_| rng.random_range(-scale..scale))
        .collect();
    Tensor::from_vec(v, (rows, cols), &Device::Cpu).unwrap()
}

/// Trains a 6-5-4-3 MLP for 3 epochs of batch 8; returns its parameters and the losses.
fn run(fast: bool, kd: Option<KdLoss>, masked: bool, dropout: f32) -> (Vec<Vec<f32>>, Vec<f64>) {
    let dev = Device::Cpu;
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let x = tensor(&mut rng, N, F, 2.0);
    let teacher = tensor(&mut rng, N, C, 4.0);
    let y: Vec<u32> = (0..N).map(|_| rng.random_range(0..C as u32)).collect();
    let y = Tensor::from_vec(y, N, &dev).unwrap();
    let mask: Vec<f32> = (0..N).map(|i| (i % 3 != 0) as u32 as f32).collect();
    let mask = Tensor::from_vec(mask, N, &dev).unwrap();
    let varmap = VarMap::new();
    let mlp = Mlp::new(&varmap, F, &[5, 4], C, dropout, &mut rng, &dev).unwrap();
    let dir = tempfile::tempdir().unwrap();
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
            epochs: 3,
            batch_size: 8,
            lr: 0.01,
            weight_decay: 0.01,
            // Step for step: every epoch runs and the last one is kept.
            patience: 0,
            ..TrainConfig::default()
        },
        kd,
        seed: 9,
        checkpoint: dir.path().join("c.safetensors"),
        resume: false,
        augment: None,
        fast,
    };
    let hist = train(
        &mlp,
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
    (params, hist.iter().map(|r| r.loss).collect())
}

fn assert_twins(kd: Option<KdLoss>, masked: bool, dropout: f32) {
    let (pa, la) = run(false, kd, masked, dropout);
    let (pb, lb) = run(true, kd, masked, dropout);
    for (a, b) in la.iter().zip(&lb) {
        assert!((a - b).abs() < 1e-4 * a.abs().max(1.0), "loss {a} vs {b}");
    }
    for (a, b) in pa.iter().flatten().zip(pb.iter().flatten()) {
        assert!((a - b).abs() < 1e-4, "parameter {a} vs {b}");
    }
}

#[test]
fn labels_with_dropout_match_autograd() {
    assert_twins(None, false, 0.3);
}

#[test]
fn kd_kl_with_transfer_mask_matches_autograd() {
    let kd = KdLoss {
        alpha: 0.3,
        temperature: 2.5,
        t_squared: true,
        soft: SoftLoss::Kl,
        search: false,
    };
    assert_twins(Some(kd), true, 0.0);
    assert_twins(
        Some(KdLoss {
            t_squared: false,
            ..kd
        }),
        false,
        0.2,
    );
    let targets = KdLoss {
        soft: SoftLoss::KlTargets,
        ..kd
    };
    assert_twins(Some(targets), true, 0.0);
}

#[test]
fn logit_mse_and_labels_only_kd_match_autograd() {
    let mse = KdLoss {
        alpha: 0.5,
        soft: SoftLoss::LogitMse,
        ..KdLoss::default()
    };
    assert_twins(Some(mse), false, 0.0);
    let hard = KdLoss {
        alpha: 1.0,
        ..KdLoss::default()
    };
    assert_twins(Some(hard), true, 0.0);
}
