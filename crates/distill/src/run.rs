//! The main job: data → teacher → KD student and label-only student → report (→ export).
use std::path::{Path, PathBuf};

use candle_core::{D, Device, Tensor};

use crate::config::Config;
use crate::data::prepared::Prepared;
use crate::data::{DataBundle, load_dir};
use crate::error::{Context, Result, chain};
use crate::report::pictures;
use crate::report::{ModelRow, Report, SeedSummary};
use crate::students::kind::kind_of;
use crate::students::mlp::dense_int8_bytes;
use crate::students::{Ctx, train_student};
use crate::teacher::cache::Cache;
use crate::teacher::{self, TeacherResult};
use crate::training::metrics::{EpochRecord, Metrics, confusion};
use crate::training::progress::EpochProgress;

/// The committed Fashion-MNIST subset used when the full set is not installed.
pub fn bundled_subset() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/fashion-mnist-subset")
}

pub struct RunDir {
    pub path: PathBuf,
}

impl RunDir {
    pub fn checkpoint(&self, stage: &str) -> PathBuf {
        self.path
            .join("checkpoints")
            .join(format!("{stage}.safetensors"))
    }
}

pub struct RunOptions {
    pub resume: bool,
    pub progress: bool,
    pub device: Device,
    /// True when the data folder was given explicitly (then no fallback to the subset).
    pub data_explicit: bool,
}

/// Loads the configured data, falling back to the committed subset when the default
/// Fashion-MNIST folder is absent.
pub fn load_data(cfg: &Config, explicit: bool, log: &EpochProgress) -> Result<DataBundle> {
    let dir = &cfg.data.dir;
    if !dir.exists() && !explicit {
        let subset = bundled_subset();
        log.println(&format!(
            "data: {} is not installed; using the small committed subset {} instead.\n      \
             For the full Fashion-MNIST: sudo apt-get install dataset-fashion-mnist (Debian), or --data DIR",
            dir.display(),
            subset.display()
        ));
        let mut b = load_dir(&subset, &cfg.data.label_column)?;
        b.source = format!("{} (committed subset)", subset.display());
        return Ok(b);
    }
    Ok(load_dir(dir, &cfg.data.label_column)?)
}

/// What every job of a run shares: its folder, data, metrics file and the teacher.
pub struct Setup {
    pub run: RunDir,
    pub config_toml: String,
    pub progress: EpochProgress,
    pub source: String,
    pub p: Prepared,
    pub metrics: Metrics,
    pub cache: Cache,
    pub teacher: TeacherResult,
    pub teacher_acc: f64,
}

/// Creates the run folder, loads the data and gets the teacher (cached or trained).
pub fn setup(cfg: &Config, opts: &RunOptions) -> Result<Setup> {
    cfg.validate()?;
    let run = RunDir {
        path: cfg.out_dir.join(&cfg.name),
    };
    let progress = EpochProgress::new(opts.progress);
    // Data first: a run whose data cannot be read leaves no run folder behind.
    let bundle = load_data(cfg, opts.data_explicit, &progress)?;
    std::fs::create_dir_all(run.path.join("checkpoints"))
        .with_context(|| format!("cannot create the run folder {}", run.path.display()))?;
    let config_toml = cfg.to_toml()?;
    export::fsutil::write_atomic(&run.path.join("config.toml"), config_toml.as_bytes())?;
    progress.println(&format!(
        "data: {} — {} train / {} test samples of shape {:?}, {} classes; device {:?}",
        bundle.source,
        bundle.train.len(),
        bundle.test.len(),
        bundle.train.shape,
        bundle.train.num_classes,
        opts.device
    ));
    let source = bundle.source.clone();
    let p = Prepared::new(cfg, bundle, opts.device.clone())?;
    if let Some(why) = &p.no_val_reason {
        progress.println(&format!("data: {why}"));
    }
    let mut metrics = Metrics::open(&run.path.join("metrics.jsonl"))?;
    let cache = Cache::new(&cfg.cache_dir)?;

    let teacher = teacher::get(cfg, &p, &cache, &run, &progress, &mut metrics, opts.resume)?;
    let teacher_acc = logits_accuracy(&teacher.test_logits, &p.test_y)?;
    progress.println(&format!("teacher: test accuracy {teacher_acc:.2}%"));

    Ok(Setup {
        run,
        config_toml,
        progress,
        source,
        p,
        metrics,
        cache,
        teacher,
        teacher_acc,
    })
}

pub fn run(cfg: &Config, opts: &RunOptions) -> Result<PathBuf> {
    let Setup {
        run,
        config_toml,
        progress,
        source,
        p,
        mut metrics,
        cache,
        teacher: t,
        teacher_acc,
    } = setup(cfg, opts)?;
    let mut teacher_row = ModelRow::new(
        &t.label,
        teacher_acc,
        t.params,
        None,
        confusion_of(&t.test_logits, &p)?,
    );
    teacher_row.training = match &t.outcome {
        Some(o) => o.describe(),
        None if t.params > 0 => "cached".into(),
        None => "imported".into(),
    };
    let mut rows = vec![teacher_row];
    let kd_data = crate::students::transfer::kd_data(cfg, &p, &t, &cache, &progress)?;
    let mut curves: Vec<(String, Vec<EpochRecord>)> = vec![("teacher".into(), t.history)];
    let ctx = Ctx {
        cfg,
        p: &p,
        teacher_logits: &t.train_logits,
        kd_data: kd_data.as_ref(),
        run: &run,
        config_toml: &config_toml,
        resume: opts.resume,
        progress: &progress,
    };
    let kind = kind_of(cfg)?;
    let int8_bytes = kind.int8_bytes(cfg, p.features, p.classes)?;
    let mut seeds = SeedSummary::default();
    let (mut kd_used, mut trials) = (cfg.kd, Vec::new());
    for seed_index in 0..cfg.student.seeds.max(1) as u64 {
        // With validation rows and no settings from the user, the seed-0 student chooses
        // α, T and the soft term; the other seeds use its choice.
        let kd = if seed_index == 0 && cfg.kd.search && p.val_y.dim(0)? > 0 {
            let (s, chosen, t) = crate::students::search_kd(&ctx, &mut metrics)?;
            (kd_used, trials) = (chosen, t);
            s
        } else {
            train_student(&ctx, Some(kd_used), seed_index, &mut metrics)?
        };
        let base = if cfg.baseline {
            Some(train_student(&ctx, None, seed_index, &mut metrics)?)
        } else {
            None
        };
        seeds.kd.push(kd.test_acc);
        seeds.labels.extend(base.as_ref().map(|b| b.test_acc));
        seeds.kd_max_path.extend(kd.max_path_acc);
        seeds
            .labels_max_path
            .extend(base.as_ref().and_then(|b| b.max_path_acc));
        if seed_index > 0 {
            continue;
        }
        for (name, s) in
            std::iter::once(("KD student", kd)).chain(base.map(|b| ("label-only student", b)))
        {
            let mut row = ModelRow::new(
                name,
                s.test_acc,
                s.params,
                Some(int8_bytes),
                confusion_of(&s.logits, &p)?,
            );
            row.max_path_acc = s.max_path_acc;
            row.training = s.outcome.describe();
            rows.push(row);
            curves.push((s.stage, s.history));
        }
    }
    let lin = crate::students::train_linear(&ctx, &mut metrics)?;
    let mut lin_row = ModelRow::new(
        LINEAR_ROW,
        lin.test_acc,
        lin.params,
        Some(dense_int8_bytes(&[p.features, p.classes])),
        confusion_of(&lin.logits, &p)?,
    );
    lin_row.training = lin.outcome.describe();
    rows.push(lin_row);
    curves.push((lin.stage, lin.history));
    // Pictures are side products (crate::report::pictures): a failure is a warning and a note.
    let pictures: Vec<_> = kind
        .pictures()
        .iter()
        .map(|&(file, draw)| {
            let drawn = pictures::draw(file, || draw(&run.path).map_err(|e| chain(&e)));
            if let Err(s) = &drawn {
                progress.println(&s.warning());
            }
            (file, drawn)
        })
        .collect();
    // A failed export (a refused int8 drop, a board that is too small) still leaves the report.
    let (exported, export_failed) = if cfg.export.enabled {
        match export_student(cfg, &p, &run, &progress) {
            Ok(r) => (Some(r), None),
            Err(e) => (None, Some(e)),
        }
    } else {
        (None, None)
    };
    let export_text = export_failed.as_ref().map(|e| chain(e));
    let report = Report {
        config: cfg,
        data_source: &source,
        class_names: &p.class_names,
        rows: &rows,
        curves: &curves,
        export: exported.as_ref(),
        export_failed: export_text.as_deref(),
        kd: kd_used,
        kd_trials: &trials,
        no_val_reason: p.no_val_reason.as_deref(),
        seeds: &seeds,
        pictures: &pictures,
    };
    for s in report.write(&run.path)? {
        progress.println(&s.warning());
    }
    progress.println(&format!("report: {}", run.path.join("report.md").display()));
    match export_failed {
        Some(e) => Err(e.context(format!(
            "the int8 export failed (the float students and report.md are in {})",
            run.path.display()
        ))),
        None => Ok(run.path),
    }
}

/// The report's name for the linear baseline (`students::train_linear`).
pub const LINEAR_ROW: &str = "linear baseline (labels, no hidden layer)";

/// `tree.png` of the saved KD student.
pub fn logits_accuracy(logits: &Tensor, y: &Tensor) -> Result<f64> {
    let n = y.dim(0)?.max(1);
    Ok(100.0 * crate::training::count_correct(logits, y)? as f64 / n as f64)
}

fn confusion_of(logits: &Tensor, p: &Prepared) -> Result<Vec<u32>> {
    let pred = logits.argmax(D::Minus1)?.to_vec1::<u32>()?;
    Ok(confusion(&pred, &p.test.y, p.classes))
}

/// Quantizes the KD student through `export`, calibrating on training samples and evaluating
/// on the test set; writes the int8 artifact, its ONNX twin and the firmware test vectors.
fn export_student(
    cfg: &Config,
    p: &Prepared,
    run: &RunDir,
    log: &EpochProgress,
) -> Result<export::ExportReport> {
    let model = export::FloatModel::load(&run.path.join("student.safetensors"))?;
    let f = p.features;
    let n_cal = cfg.export.calib_samples.min(p.train.len());
    let calib = export::Dataset::new(p.train.x[..n_cal * f].to_vec(), f, None)?;
    let eval = export::Dataset::new(p.test.x.clone(), f, Some(p.test.y.clone()))?;
    // Saved so that `export` can be rerun on its own from the run folder.
    export::fsutil::write_atomic(
        &run.path.join("calib.safetensors"),
        &calib.to_safetensors_bytes()?,
    )?;
    let board = cfg.export.board.as_deref().map(str::parse).transpose()?;
    let opts = export::ExportOptions {
        out_dir: run.path.clone(),
        stem: "student".into(),
        calib_samples: n_cal,
        board,
        vectors: cfg.export.vectors,
        max_int8_drop: (!cfg.export.keep_int8).then_some(cfg.export.max_int8_drop),
        ..export::ExportOptions::default()
    };
    log.println(
        "export: calibrating, quantizing and checking the int8 student (runtime-nostd and tract)",
    );
    let report = export::run(&model, &calib, &eval, &opts)?;
    log.println(&format!("{report}"));
    Ok(report)
}
