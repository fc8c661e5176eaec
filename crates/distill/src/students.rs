//! Training the students: the KD student and its label-only twin, over one or more seeds.
use candle_core::Tensor;
use candle_nn::VarMap;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::config::Config;
use crate::float_model::{MlpMeta, save_mlp};
use crate::loss::KdLoss;
use crate::metrics::{EpochRecord, Metrics};
use crate::models::{Mlp, count_params, predict_logits};
use crate::prepared::Prepared;
use crate::progress::EpochProgress;
use crate::run::{RunDir, logits_accuracy};
use crate::train::{Job, TrainData, train};
use crate::transfer::KdData;

pub struct Student {
    pub stage: String,
    pub test_acc: f64,
    pub params: usize,
    pub logits: Tensor,
    pub history: Vec<EpochRecord>,
}

/// Everything a student run needs besides its loss and seed.
pub struct Ctx<'a> {
    pub cfg: &'a Config,
    pub p: &'a Prepared,
    pub teacher_logits: &'a Tensor,
    /// Training split plus transfer set, when the config asks for one (KD student only).
    pub kd_data: Option<&'a KdData>,
    pub run: &'a RunDir,
    pub config_toml: &'a str,
    pub resume: bool,
    pub progress: &'a EpochProgress,
}

/// Trains one student: with `kd` on the teacher's logits, or on labels only (`None`).
/// Seed index 0 is the run's main student (saved as `student[-labels].safetensors`); the
/// others exist to measure the spread over seeds. For a given seed index both students start
/// from the same weights and see the same batches: only the loss differs.
pub fn train_student(
    ctx: &Ctx,
    kd: Option<KdLoss>,
    seed_index: u64,
    metrics: &mut Metrics,
) -> anyhow::Result<Student> {
    let (cfg, p) = (ctx.cfg, ctx.p);
    let base = if kd.is_some() {
        "kd-student"
    } else {
        "label-student"
    };
    let stage = if seed_index == 0 {
        base.to_string()
    } else {
        format!("{base}-seed{seed_index}")
    };
    let seed = cfg.seed.wrapping_add(2).wrapping_add(1000 * seed_index);
    let varmap = VarMap::new();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let model = Mlp::new(
        &varmap,
        p.features,
        &cfg.student.hidden,
        p.classes,
        0.0,
        &mut rng,
        &p.device,
    )?;
    let data = match (kd, ctx.kd_data) {
        (Some(_), Some(d)) => TrainData {
            x: &d.x,
            y: &d.y,
            teacher: Some(&d.teacher),
            label_mask: Some(&d.label_mask),
            val_x: &p.val_x,
            val_y: &p.val_y,
        },
        _ => TrainData {
            x: &p.train_x,
            y: &p.train_y,
            teacher: kd.map(|_| ctx.teacher_logits),
            label_mask: None,
            val_x: &p.val_x,
            val_y: &p.val_y,
        },
    };
    let job = Job {
        stage: &stage,
        cfg: cfg.student.train,
        kd,
        seed: seed.wrapping_add(1),
        checkpoint: ctx.run.checkpoint(&stage),
        resume: ctx.resume,
        augment: None,
        fast_mlp: true,
    };
    let history = train(&model, &varmap, &data, &job, metrics, ctx.progress)?;
    let logits = predict_logits(&model, &p.test_x, 1000)?;
    let test_acc = logits_accuracy(&logits, &p.test_y)?;
    ctx.progress
        .println(&format!("{stage}: test accuracy {test_acc:.2}%"));
    if seed_index == 0 {
        let file = if kd.is_some() {
            "student.safetensors"
        } else {
            "student-labels.safetensors"
        };
        let meta = MlpMeta {
            input_shape: &p.shape,
            hidden: &cfg.student.hidden,
            classes: &p.class_names,
            norm: &p.norm,
            config_toml: ctx.config_toml,
        };
        save_mlp(&ctx.run.path.join(file), &varmap, &meta)?;
    }
    Ok(Student {
        stage,
        test_acc,
        params: count_params(&varmap),
        logits,
        history,
    })
}

/// Mean and sample standard deviation.
pub fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len().max(1) as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = if v.len() > 1 {
        v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (mean, var.sqrt())
}
