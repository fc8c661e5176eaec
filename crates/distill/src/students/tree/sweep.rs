//! The tree sweep: for each depth, the same tree trained on labels only, distilled, and
//! distilled with a transfer set, over the configured seeds; writes `sweep.md` (mean ± std of
//! the soft and max-path test accuracy) in the run folder. One teacher, one cache, one data
//! load for the whole table; each cell trains in its own sub-folder (checkpoints, metrics).
use std::fmt::Write as _;
use std::path::PathBuf;

use super::TreeConfig;
use crate::config::Config;
use crate::error::{Context, Result, ensure};
use crate::run::{RunDir, RunOptions, Setup, setup};
use crate::students::kind::store_settings;
use crate::students::{Ctx, mean_std, train_student};
use crate::training::metrics::Metrics;

/// The three ways of training one tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    Labels,
    Distilled,
    Transfer,
}

impl Variant {
    pub const ALL: [Variant; 3] = [Variant::Labels, Variant::Distilled, Variant::Transfer];

    fn name(self) -> &'static str {
        match self {
            Variant::Labels => "label-only",
            Variant::Distilled => "distilled",
            Variant::Transfer => "distilled + transfer set",
        }
    }

    fn folder(self) -> &'static str {
        match self {
            Variant::Labels => "labels",
            Variant::Distilled => "kd",
            Variant::Transfer => "kd-transfer",
        }
    }
}

/// One cell of the table: test accuracies per seed.
pub struct Cell {
    pub depth: u32,
    pub variant: Variant,
    pub soft: Vec<f64>,
    pub max_path: Vec<f64>,
}

/// Trains every (depth, variant, seed) and writes `<out>/<name>/sweep.md`; the transfer
/// variant uses `transfer.copies` (at least 1).
pub fn sweep(cfg: &Config, opts: &RunOptions, depths: &[u32]) -> Result<PathBuf> {
    let mut cfg = cfg.clone();
    cfg.student.kind = super::NAME.into();
    let mut tree = TreeConfig::of(&cfg)?;
    cfg.transfer.copies = cfg.transfer.copies.max(1);
    ensure!(
        !depths.is_empty(),
        Config,
        "--depths: give at least one depth"
    );
    ensure!(
        cfg.kd.alpha < 1.0,
        Config,
        "a sweep compares distillation: kd.alpha must be < 1"
    );
    for &d in depths {
        tree.depth = d;
        store_settings(&mut cfg, super::NAME, &tree)?;
        cfg.validate()?;
    }
    let s: Setup = setup(&cfg, opts)?;
    let kd_data =
        crate::students::transfer::kd_data(&cfg, &s.p, &s.teacher, &s.cache, &s.progress)?;
    let mut cells = Vec::new();
    for &depth in depths {
        let mut c = cfg.clone();
        tree.depth = depth;
        store_settings(&mut c, super::NAME, &tree)?;
        for variant in Variant::ALL {
            let run = RunDir {
                path: s.run.path.join(format!("d{depth}-{}", variant.folder())),
            };
            std::fs::create_dir_all(run.path.join("checkpoints"))
                .with_context(|| format!("cannot create {}", run.path.display()))?;
            let mut metrics = Metrics::open(&run.path.join("metrics.jsonl"))?;
            let ctx = Ctx {
                cfg: &c,
                p: &s.p,
                teacher_logits: &s.teacher.train_logits,
                kd_data: if variant == Variant::Transfer {
                    kd_data.as_ref()
                } else {
                    None
                },
                run: &run,
                config_toml: &s.config_toml,
                resume: opts.resume,
                progress: &s.progress,
            };
            let kd = (variant != Variant::Labels).then_some(c.kd);
            let mut cell = Cell {
                depth,
                variant,
                soft: Vec::new(),
                max_path: Vec::new(),
            };
            for seed in 0..c.student.seeds.max(1) as u64 {
                let st = train_student(&ctx, kd, seed, &mut metrics)?;
                cell.soft.push(st.test_acc);
                cell.max_path.extend(st.max_path_acc);
            }
            cells.push(cell);
            let md = table(&cfg, s.teacher_acc, &cells)?;
            export::fsutil::write_atomic(&s.run.path.join("sweep.md"), md.as_bytes())?;
        }
    }
    let path = s.run.path.join("sweep.md");
    s.progress.println(&format!("sweep: {}", path.display()));
    Ok(path)
}

/// The Markdown table of every cell finished so far.
pub fn table(cfg: &Config, teacher_acc: f64, cells: &[Cell]) -> Result<String> {
    let mut md = String::new();
    let t = &TreeConfig::of(cfg)?;
    writeln!(md, "# Soft-tree sweep `{}`\n", cfg.name)?;
    writeln!(
        md,
        "Teacher {teacher_acc:.2}% on the test set. {}, lr {}, batch {}; β = {}{}, λ = {}; \
         KD α = {}, T = {}; transfer set: {}. {} seed(s) per cell; mean ± sample std.\n",
        match cfg.student.train.epochs {
            0 => format!("a budget of {} steps", cfg.student.train.steps),
            e => format!("{e} epochs"),
        },
        cfg.student.train.lr,
        cfg.student.train.batch_size,
        t.beta,
        if t.learn_beta { " (learned)" } else { "" },
        t.balance,
        cfg.kd.alpha,
        cfg.kd.temperature,
        cfg.transfer.describe(),
        cfg.student.seeds.max(1)
    )?;
    writeln!(
        md,
        "| depth | training | soft (mixture) | max path | max path per seed |"
    )?;
    writeln!(md, "|---:|---|---:|---:|---|")?;
    for c in cells {
        let ms = |v: &[f64]| {
            let (m, s) = mean_std(v);
            format!("{m:.2} ± {s:.2}%")
        };
        let per: Vec<String> = c.max_path.iter().map(|a| format!("{a:.2}")).collect();
        writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            c.depth,
            c.variant.name(),
            ms(&c.soft),
            ms(&c.max_path),
            per.join(", ")
        )?;
    }
    Ok(md)
}
