//! Training the students: the KD student and its label-only twin, over one or more seeds.
pub mod cnn;
pub mod float_model;
pub mod kind;
pub mod mlp;
pub mod transfer;
pub mod tree;

use candle_core::Tensor;
use candle_nn::VarMap;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::config::Config;
use crate::data::prepared::Prepared;
use crate::error::{Error, Result};
use crate::nn::{count_params, predict_logits};
use crate::run::{RunDir, logits_accuracy};
use crate::students::float_model::StudentMeta;
use crate::students::transfer::KdData;
use crate::training::loss::{KdLoss, SoftLoss};
use crate::training::metrics::{EpochRecord, Metrics};
use crate::training::progress::EpochProgress;
use crate::training::{Job, TrainData, train};

pub struct Student {
    pub stage: String,
    pub test_acc: f64,
    pub params: usize,
    pub logits: Tensor,
    /// Test accuracy of the device's prediction where it differs from the float model's
    /// (a tree's maximum-probability path).
    pub max_path_acc: Option<f64>,
    /// Validation accuracy and loss of the kept epoch (none without a validation split).
    pub val: Option<(f64, f64)>,
    pub history: Vec<EpochRecord>,
    pub outcome: crate::training::budget::Outcome,
}

/// Everything a student run needs besides its loss and seed.
#[derive(Clone, Copy)]
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
) -> Result<Student> {
    let (base, file) = match kd {
        Some(_) => ("kd-student", "student.safetensors"),
        None => ("label-student", "student-labels.safetensors"),
    };
    let fitted = fit(ctx, kd, seed_index, base, metrics)?;
    if seed_index == 0 {
        save(ctx, &fitted, file)?;
    }
    Ok(fitted.student)
}

/// The linear baseline: the same pipeline (normalization, optimizer, epochs, data) with no
/// hidden layer, on labels only — multinomial logistic regression. Every report shows it, so
/// a user sees at once whether the teacher and the students beat it. Not saved.
pub fn train_linear(ctx: &Ctx, metrics: &mut Metrics) -> Result<Student> {
    let mut cfg = ctx.cfg.clone();
    cfg.student.kind = mlp::NAME.into();
    kind::store_settings(&mut cfg, mlp::NAME, &mlp::MlpConfig { hidden: vec![] })?;
    let lin = Ctx { cfg: &cfg, ..*ctx };
    Ok(fit(&lin, None, 0, "linear", metrics)?.student)
}

/// One candidate of the distillation-settings search and what validation said of it.
#[derive(Debug, Clone)]
pub struct Trial {
    pub kd: KdLoss,
    pub val_acc: f64,
    pub val_loss: f64,
    pub test_acc: f64,
}

/// The distillation settings tried when the user fixes neither α nor T: the default, a
/// hotter and a mostly-soft Hinton loss, a mostly-label one, logit matching (Tang et al.
/// 2019) and teacher-side softening (what helped soft trees, docs/trees.md).
pub fn kd_grid() -> Vec<KdLoss> {
    let kl = |alpha, temperature| KdLoss {
        alpha,
        temperature,
        ..KdLoss::default()
    };
    vec![
        kl(0.5, 2.0),
        kl(0.5, 4.0),
        kl(0.1, 4.0),
        kl(0.9, 2.0),
        KdLoss {
            soft: SoftLoss::LogitMse,
            ..kl(0.5, 1.0)
        },
        KdLoss {
            soft: SoftLoss::KlTargets,
            t_squared: false,
            ..kl(0.5, 4.0)
        },
    ]
}

/// Trains the seed-0 KD student once per [`kd_grid`] setting, keeps the one with the best
/// validation accuracy (then loss) as the run's `student.safetensors`, and returns it with
/// its settings and every trial. Test accuracy is reported, never used to choose.
pub fn search_kd(ctx: &Ctx, metrics: &mut Metrics) -> Result<(Student, KdLoss, Vec<Trial>)> {
    let mut trials = Vec::new();
    let mut best: Option<(Fitted, KdLoss)> = None;
    for kd in kd_grid() {
        let stage = format!("kd-{}", kd.tag());
        let f = fit(ctx, Some(kd), 0, &stage, metrics)?;
        let (val_acc, val_loss) = f.student.val.unwrap_or((0.0, f64::INFINITY));
        trials.push(Trial {
            kd,
            val_acc,
            val_loss,
            test_acc: f.student.test_acc,
        });
        let better = best.as_ref().is_none_or(|(b, _)| {
            let (a, l) = b.student.val.unwrap_or((0.0, f64::INFINITY));
            val_acc > a || (val_acc == a && val_loss < l)
        });
        if better {
            best = Some((f, kd));
        }
    }
    let (fitted, kd) = best.ok_or_else(|| Error::Internal("the KD grid is empty".into()))?;
    // The saved student records the settings that trained it, not the search that chose
    // them: its config reproduces it as it is.
    let mut chosen = ctx.cfg.clone();
    chosen.kd = KdLoss {
        search: false,
        ..kd
    };
    let config_toml = chosen.to_toml()?;
    save(
        &Ctx {
            config_toml: &config_toml,
            ..*ctx
        },
        &fitted,
        "student.safetensors",
    )?;
    ctx.progress.println(&format!(
        "kd-student: chose {} on validation ({} settings tried)",
        kd.describe(),
        trials.len()
    ));
    Ok((fitted.student, kd, trials))
}

/// A trained student with what saving it needs.
struct Fitted {
    student: Student,
    model: Box<dyn kind::Student>,
    varmap: VarMap,
}

fn fit(
    ctx: &Ctx,
    kd: Option<KdLoss>,
    seed_index: u64,
    base: &str,
    metrics: &mut Metrics,
) -> Result<Fitted> {
    let (cfg, p) = (ctx.cfg, ctx.p);
    let stage = if seed_index == 0 {
        base.to_string()
    } else {
        format!("{base}-seed{seed_index}")
    };
    let seed = cfg.seed.wrapping_add(2).wrapping_add(1000 * seed_index);
    let varmap = VarMap::new();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let model = kind::kind_of(cfg)?.build(cfg, p, &varmap, &mut rng)?;
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
        fast: true,
    };
    let trained = train(
        model.classifier(),
        &varmap,
        &data,
        &job,
        metrics,
        ctx.progress,
    )?;
    let logits = predict_logits(model.classifier(), &p.test_x, 1000)?;
    let test_acc = logits_accuracy(&logits, &p.test_y)?;
    let max_path_acc = match model.classifier().device_logits(&p.test_x)? {
        Some(l) => Some(logits_accuracy(&l, &p.test_y)?),
        None => None,
    };
    let line = match (max_path_acc, model.device_note(&p.test_x)?) {
        (Some(m), note) => format!(
            "{stage}: test accuracy {test_acc:.2}% (float), {m:.2}% (as the device predicts{})",
            note.map(|n| format!(", {n}")).unwrap_or_default()
        ),
        (None, _) => format!("{stage}: test accuracy {test_acc:.2}%"),
    };
    ctx.progress.println(&line);
    let val = trained
        .history
        .get(trained.outcome.kept_epoch.wrapping_sub(1))
        .and_then(|r| r.val_acc.zip(r.val_loss));
    let student = Student {
        stage,
        test_acc,
        params: count_params(&varmap),
        logits,
        max_path_acc,
        val,
        history: trained.history,
        outcome: trained.outcome,
    };
    Ok(Fitted {
        student,
        model,
        varmap,
    })
}

/// Writes a fitted student in export's float format as `file` in the run folder.
fn save(ctx: &Ctx, f: &Fitted, file: &str) -> Result<()> {
    let p = ctx.p;
    let meta = StudentMeta {
        input_shape: &p.shape,
        classes: &p.class_names,
        norm: &p.norm,
        config_toml: ctx.config_toml,
    };
    f.model.save(&ctx.run.path.join(file), &f.varmap, &meta)
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
