//! The stop rule on every training path that `train` drives: the fast MLP, tree and CNN
//! steps and candle's autograd (an MLP, a tree and the CNN teacher). A learning rate of 1e6 must stop
//! each with the divergence message; the same job at a sane rate must run to the end.
use candle_core::{Device, Tensor};
use candle_nn::VarMap;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::config::TrainConfig;
use crate::error::Error;
use crate::nn::{Classifier, Cnn, CnnSpec, Mlp};
use crate::students::tree::SoftTree;
use crate::students::tree::TreeConfig;
use crate::training::loss::KdLoss;
use crate::training::metrics::{EpochRecord, Metrics};
use crate::training::progress::EpochProgress;
use crate::training::{Job, TrainData, train};

const N: usize = 48;
/// One 8×8 single-channel image per row, so that the CNN takes the same data.
const F: usize = 64;
const C: usize = 3;

#[derive(Clone, Copy, PartialEq)]
enum Path {
    FastMlp,
    AutogradMlp,
    FastTree,
    AutogradTree,
    FastCnn,
    AutogradCnn,
}

const ALL: [Path; 6] = [
    Path::FastMlp,
    Path::AutogradMlp,
    Path::FastTree,
    Path::AutogradTree,
    Path::FastCnn,
    Path::AutogradCnn,
];

fn build(path: Path, varmap: &VarMap, x: &Tensor) -> Box<dyn Classifier> {
    let (dev, mut rng) = (Device::Cpu, ChaCha8Rng::seed_from_u64(7));
    match path {
        Path::FastMlp | Path::AutogradMlp => {
            Box::new(Mlp::new(varmap, F, &[8], C, 0.0, &mut rng, &dev).unwrap())
        }
        Path::FastTree | Path::AutogradTree => {
            let cfg = TreeConfig {
                depth: 3,
                balance: 0.5,
                ..TreeConfig::default()
            };
            let centre = x.mean(0).unwrap();
            Box::new(SoftTree::new(varmap, &centre, C, &cfg, &mut rng, &dev).unwrap())
        }
        Path::FastCnn | Path::AutogradCnn => {
            let spec = CnnSpec {
                input: [1, 8, 8],
                channels: &[2],
                dense: 8,
                classes: C,
                dropout: 0.0,
            };
            Box::new(Cnn::new(varmap, &spec, &mut rng, &dev).unwrap())
        }
    }
}

/// Trains `path` on a fixed random problem at `lr`, starting from the checkpoint in `dir`
/// when `resume`; KD with T = 4 (a T²-scaled loss) for the students.
fn run(
    path: Path,
    lr: f64,
    epochs: usize,
    dir: &std::path::Path,
    resume: bool,
) -> crate::Result<Vec<EpochRecord>> {
    let dev = Device::Cpu;
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let x: Vec<f32> = (0..N * F).map(|_| rng.random_range(-1.0..1.0)).collect();
    let x = Tensor::from_vec(x, (N, F), &dev)?;
    let teacher: Vec<f32> = (0..N * C).map(|_| rng.random_range(-4.0..4.0)).collect();
    let teacher = Tensor::from_vec(teacher, (N, C), &dev)?;
    let y: Vec<u32> = (0..N).map(|i| (i % C) as u32).collect();
    let y = Tensor::from_vec(y, N, &dev)?;
    let varmap = VarMap::new();
    let model = build(path, &varmap, &x);
    let cnn = matches!(path, Path::FastCnn | Path::AutogradCnn);
    let kd = (!cnn).then_some(KdLoss {
        alpha: 0.5,
        temperature: 4.0,
        ..KdLoss::default()
    });
    let data = TrainData {
        x: &x,
        y: &y,
        teacher: kd.map(|_| &teacher),
        label_mask: None,
        val_x: &x,
        val_y: &y,
    };
    let job = Job {
        stage: "t",
        cfg: TrainConfig {
            epochs,
            batch_size: 16,
            lr,
            ..TrainConfig::default()
        },
        kd,
        seed: 3,
        checkpoint: dir.join("c.safetensors"),
        resume,
        augment: None,
        fast: matches!(path, Path::FastMlp | Path::FastTree | Path::FastCnn),
    };
    train(
        model.as_ref(),
        &varmap,
        &data,
        &job,
        &mut Metrics::none(),
        &EpochProgress::new(false),
    )
    .map(|t| t.history)
}

#[test]
fn a_huge_learning_rate_stops_every_path_with_the_figures() {
    for path in ALL {
        let dir = tempfile::tempdir().unwrap();
        let e = run(path, 1e6, 4, dir.path(), false)
            .expect_err("a learning rate of 1e6 ran to the end");
        assert!(
            matches!(&e, Error::Diverged { diverged, .. } if diverged.epoch == 1),
            "{e:?}"
        );
        let e = e.to_string();
        assert!(
            e.starts_with("t: the training loss diverged at epoch 1 (")
                && e.contains("lower the learning rate")
                && e.contains("no checkpoint"),
            "{e}"
        );
    }
}

#[test]
fn a_sane_learning_rate_runs_to_the_end_on_every_path() {
    for path in ALL {
        let dir = tempfile::tempdir().unwrap();
        let h = run(path, 1e-2, 4, dir.path(), false).unwrap();
        assert_eq!(h.len(), 4);
    }
}

#[test]
fn a_divergence_after_a_resume_keeps_the_last_good_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    run(Path::FastMlp, 1e-2, 2, dir.path(), false).unwrap();
    let ckpt = dir.path().join("c.safetensors");
    let before = std::fs::read(&ckpt).unwrap();
    let e = run(Path::FastMlp, 1e6, 4, dir.path(), true)
        .unwrap_err()
        .to_string();
    assert!(e.contains("diverged at epoch 3"), "{e}");
    assert!(
        e.contains("c.safetensors (epoch 2): --resume continues from it."),
        "{e}"
    );
    assert_eq!(
        std::fs::read(&ckpt).unwrap(),
        before,
        "the checkpoint moved"
    );
}
