//! Getting teacher logits: train a candle teacher (or reuse a cached one), or run an ONNX
//! teacher through tract; then cache its logits on the training split.
pub mod cache;
pub mod onnx;

use onnx::{OnnxInput, OnnxTeacher};

use candle_core::{Device, Tensor};
use candle_nn::VarMap;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::config::{Config, Precision, TeacherConfig, TeacherKind};
use crate::data::prepared::Prepared;
use crate::error::{Context, Result, bail, ensure};
use crate::nn::{Classifier, Cnn, CnnSpec, Mlp, count_params, predict_logits};
use crate::teacher::cache::{Cache, hash_parts};
use crate::training::metrics::{EpochRecord, Metrics};
use crate::training::progress::EpochProgress;
use crate::training::weights::{load_into, save_varmap};
use crate::training::{Job, TrainData, train};

/// The teacher itself, kept to label new inputs (a transfer set).
pub enum TeacherModel {
    Candle(Box<dyn Classifier>),
    Onnx(OnnxTeacher, OnnxInput),
}

impl TeacherModel {
    /// Logits `[n, classes]` for normalized inputs `x` `[n, features]`.
    pub fn logits(&self, x: &Tensor, p: &Prepared) -> Result<Tensor> {
        match self {
            TeacherModel::Candle(m) => Ok(predict_logits(m.as_ref(), x, 1000)?),
            TeacherModel::Onnx(m, input) => {
                let n = x.dim(0)?;
                let raw = p
                    .norm
                    .invert(&x.flatten_all()?.to_vec1::<f32>()?, p.features);
                let v = m.logits(&onnx_input(&raw, *input, p), n)?;
                Ok(Tensor::from_vec(v, (n, p.classes), &p.device)?)
            }
        }
    }
}

fn onnx_input(raw: &[f32], input: OnnxInput, p: &Prepared) -> Vec<f32> {
    match input {
        OnnxInput::Raw => raw.to_vec(),
        OnnxInput::Unit => raw.iter().map(|v| v / 255.0).collect(),
        OnnxInput::Normalized => p.norm.apply(raw, p.features),
    }
}

pub struct TeacherResult {
    pub model: TeacherModel,
    /// What identifies this teacher in the cache.
    pub key: String,
    pub train_logits: Tensor,
    pub test_logits: Tensor,
    pub params: usize,
    pub history: Vec<EpochRecord>,
    /// How its training ran (`None` for a cached or an imported teacher).
    pub outcome: Option<crate::training::budget::Outcome>,
    /// Short description for the report.
    pub label: String,
}

fn build(cfg: &Config, p: &Prepared, varmap: &VarMap, dev: &Device) -> Result<Box<dyn Classifier>> {
    let t = &cfg.teacher;
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed.wrapping_add(1));
    Ok(match t.kind {
        TeacherKind::Cnn => {
            ensure!(
                !(t.precision == Precision::Bf16 && dev.is_cpu()),
                Config,
                "teacher.precision = bf16 needs a CUDA device for the CNN teacher: candle's CPU \
                 conv2d has no bf16 kernel (and bf16 is slower than f32 on a CPU); use f32 here"
            );
            let s = &p.shape;
            ensure!(
                s.len() == 3,
                Mismatch,
                "the CNN teacher needs image samples [channels, height, width]; this dataset's samples have shape {s:?} (use --teacher mlp)"
            );
            Box::new(
                Cnn::new(
                    varmap,
                    &CnnSpec {
                        input: [s[0], s[1], s[2]],
                        channels: &t.channels,
                        dense: t.dense,
                        classes: p.classes,
                        dropout: t.dropout,
                    },
                    &mut rng,
                    dev,
                )?
                .with_compute(t.precision.dtype()),
            )
        }
        TeacherKind::Mlp => Box::new(
            Mlp::new(
                varmap, p.features, &t.hidden, p.classes, t.dropout, &mut rng, dev,
            )?
            .with_compute(t.precision.dtype()),
        ),
        TeacherKind::Onnx | TeacherKind::Auto => {
            bail!(Internal, "teacher kind {:?} is not built by candle", t.kind)
        }
    })
}

/// The teacher settings that name a cached teacher. Settings added after caches existed are
/// left out at their defaults, so adding one does not orphan every cached teacher.
fn teacher_identity(t: &TeacherConfig) -> Result<String> {
    let text = toml::to_string(t)?;
    Ok(match t.precision {
        Precision::F32 => text
            .lines()
            .filter(|l| *l != r#"precision = "f32""#)
            .map(|l| format!("{l}\n"))
            .collect(),
        Precision::Bf16 => text,
    })
}

pub fn get(
    cfg: &Config,
    p: &Prepared,
    cache: &Cache,
    run: &crate::run::RunDir,
    progress: &EpochProgress,
    metrics: &mut Metrics,
    resume: bool,
) -> Result<TeacherResult> {
    if cfg.teacher.kind == TeacherKind::Onnx {
        return onnx(cfg, p, cache, progress);
    }
    // `auto` is decided by the data; the cache key and the log name the kind that trains.
    let mut resolved = cfg.clone();
    resolved.teacher.kind = cfg.teacher.kind.resolve(&p.shape);
    if cfg.teacher.kind == TeacherKind::Auto {
        progress.println(&format!(
            "teacher: auto → {} for samples of shape {:?}",
            match resolved.teacher.kind {
                TeacherKind::Cnn => "CNN",
                _ => "MLP",
            },
            p.shape
        ));
    }
    let cfg = &resolved;
    let dev = &p.device;
    let mut varmap = VarMap::new();
    let model = build(cfg, p, &varmap, dev)?;
    let params = count_params(&varmap);
    let key = hash_parts(&[
        teacher_identity(&cfg.teacher)?.as_bytes(),
        &cfg.seed.to_le_bytes(),
        p.data_hash.as_bytes(),
    ]);
    let path = cache.teacher_path(&key);
    let (mut history, mut outcome) = (Vec::new(), None);
    let label = match cfg.teacher.kind {
        TeacherKind::Cnn => "CNN teacher",
        _ => "MLP teacher",
    }
    .to_string();
    if path.exists() {
        load_into(&path, &mut varmap)?;
        progress.println(&format!(
            "teacher: reusing the cached {label} {}",
            path.display()
        ));
    } else {
        progress.println(&format!(
            "teacher: training a {label} with {params} parameters on {:?} (no cached {})",
            dev,
            path.display()
        ));
        let data = TrainData {
            x: &p.train_x,
            y: &p.train_y,
            teacher: None,
            val_x: &p.val_x,
            val_y: &p.val_y,
            label_mask: None,
        };
        let job = Job {
            stage: "teacher",
            cfg: cfg.teacher.train,
            kd: None,
            seed: cfg.seed.wrapping_add(1),
            checkpoint: run.checkpoint("teacher"),
            resume,
            augment: p.augmenter(cfg.teacher.augment)?,
            fast: true,
        };
        let trained = train(model.as_ref(), &varmap, &data, &job, metrics, progress)?;
        (history, outcome) = (trained.history, Some(trained.outcome));
        save_varmap(&path, &varmap, true)?;
    }
    let train_logits = logits_cached(
        cache,
        &key,
        p,
        || predict_logits(model.as_ref(), &p.train_x, 1000).map_err(Into::into),
        progress,
    )?;
    let test_logits = predict_logits(model.as_ref(), &p.test_x, 1000)?;
    Ok(TeacherResult {
        model: TeacherModel::Candle(model),
        key,
        train_logits,
        test_logits,
        params,
        history,
        outcome,
        label,
    })
}

fn logits_cached(
    cache: &Cache,
    teacher_key: &str,
    p: &Prepared,
    compute: impl FnOnce() -> Result<Tensor>,
    progress: &EpochProgress,
) -> Result<Tensor> {
    let n = p.train_x.dim(0)?;
    if let Some(v) = cache.load_logits(teacher_key, &p.data_hash, n, p.classes) {
        progress.println("teacher: logits on the training split read from the cache");
        return Ok(Tensor::from_vec(v, (n, p.classes), &p.device)?);
    }
    let t = compute()?;
    let v = t.flatten_all()?.to_vec1::<f32>()?;
    let path = cache.save_logits(teacher_key, &p.data_hash, &v, n, p.classes)?;
    progress.println(&format!("teacher: logits cached in {}", path.display()));
    Ok(t)
}

fn onnx(
    cfg: &Config,
    p: &Prepared,
    cache: &Cache,
    progress: &EpochProgress,
) -> Result<TeacherResult> {
    let path = &cfg.teacher.onnx;
    ensure!(
        !path.as_os_str().is_empty(),
        Config,
        "teacher.kind = onnx needs teacher.onnx = PATH (or --onnx-teacher PATH)"
    );
    let bytes = std::fs::read(path)
        .with_context(|| format!("{}: cannot read the ONNX teacher", path.display()))?;
    let input_tag = format!("{:?}", cfg.teacher.onnx_input);
    let key = hash_parts(&[&bytes, input_tag.as_bytes()]);
    let teacher = OnnxTeacher::load(path, &p.shape, p.classes)?;
    progress.println(&format!(
        "teacher: ONNX model {} through tract",
        path.display()
    ));
    let run = |raw: &[f32]| -> Result<Tensor> {
        let n = raw.len() / p.features;
        let v = teacher.logits(&onnx_input(raw, cfg.teacher.onnx_input, p), n)?;
        Ok(Tensor::from_vec(v, (n, p.classes), &p.device)?)
    };
    let train_logits = logits_cached(cache, &key, p, || run(&p.train.x), progress)?;
    let test_logits = run(&p.test.x)?;
    Ok(TeacherResult {
        model: TeacherModel::Onnx(teacher, cfg.teacher.onnx_input),
        key,
        train_logits,
        test_logits,
        params: 0,
        history: Vec::new(),
        outcome: None,
        label: format!("ONNX teacher ({})", path.display()),
    })
}
