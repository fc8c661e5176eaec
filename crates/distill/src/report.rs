//! The run's `report.md`: accuracy, parameters and int8 size per model, plus the plots.
use std::fmt::Write as _;
use std::path::Path;

use crate::config::{Config, StudentKind};
use crate::fsutil::write_atomic;
use crate::metrics::EpochRecord;
use crate::pictures::{self, Drawn, Skipped};
use crate::plots::{self, Curve};
use crate::students::mean_std;

pub struct ModelRow {
    pub name: String,
    pub test_acc: f64,
    pub params: usize,
    /// Bytes of the int8 artifact's weights and per-channel constants (students only).
    pub int8_bytes: Option<usize>,
    /// Soft tree only: test accuracy of the maximum-probability path (`test_acc` is the
    /// mixture's).
    pub max_path_acc: Option<f64>,
    pub confusion: Vec<u32>,
}

impl ModelRow {
    pub fn new(
        name: &str,
        test_acc: f64,
        params: usize,
        int8_bytes: Option<usize>,
        confusion: Vec<u32>,
    ) -> Self {
        ModelRow {
            name: name.to_string(),
            test_acc,
            params,
            int8_bytes,
            max_path_acc: None,
            confusion,
        }
    }
}

/// int8 weights plus, per output channel, an i32 bias, multiplier and shift and an f32
/// weight scale (FORMAT.md); the container header is not counted.
pub fn int8_estimate(widths: &[usize]) -> usize {
    widths.windows(2).map(|w| w[0] * w[1] + 16 * w[1]).sum()
}

/// A depth-d tree: per inner node F int8 weights, an f32 scale and an i32 bias; per leaf C
/// u8 probabilities and a u8 class (FORMAT.md).
pub fn tree_int8_estimate(depth: u32, features: usize, classes: usize) -> usize {
    let inner = (1usize << depth) - 1;
    inner * (features + 8) + (inner + 1) * (classes + 1)
}

pub struct Report<'a> {
    pub config: &'a Config,
    pub data_source: &'a str,
    pub class_names: &'a [String],
    pub rows: &'a [ModelRow],
    pub curves: &'a [(String, Vec<EpochRecord>)],
    pub export: Option<&'a export::ExportReport>,
    pub seeds: &'a SeedSummary,
    /// Tree students only: whether `tree.png` (the distilled tree's picture) was drawn.
    pub tree_png: Option<Drawn>,
}

/// Test accuracies of the students over seeds (index 0 is the run's main student).
#[derive(Debug, Default)]
pub struct SeedSummary {
    pub kd: Vec<f64>,
    pub labels: Vec<f64>,
    /// Soft tree only: the max-path accuracies of the same students.
    pub kd_max_path: Vec<f64>,
    pub labels_max_path: Vec<f64>,
}

impl Report<'_> {
    /// Writes `report.md` and its pictures; returns the pictures it could not draw (noted in
    /// the report in their place) for the caller to log. Only the report itself can fail.
    pub fn write(&self, dir: &Path) -> anyhow::Result<Vec<Skipped>> {
        let mut skipped = Vec::new();
        let mut md = String::new();
        let c = self.config;
        writeln!(md, "# Run `{}`\n", c.name)?;
        writeln!(md, "Data: {}. Seed {}.", self.data_source, c.seed)?;
        writeln!(
            md,
            "KD loss: α = {}, T = {}, T² {}, soft term {:?}.\n",
            c.kd.alpha,
            c.kd.temperature,
            if c.kd.t_squared { "on" } else { "off" },
            c.kd.soft
        )?;
        if c.transfer.copies > 0 {
            writeln!(md, "Transfer set: {}.\n", c.transfer.describe())?;
        }
        if !c.teacher.augment.is_off() {
            writeln!(
                md,
                "Teacher trained on augmented batches: {}.\n",
                c.teacher.augment.describe()
            )?;
        }
        writeln!(
            md,
            "| model | test accuracy | parameters | int8 size (est.) |"
        )?;
        writeln!(md, "|---|---:|---:|---:|")?;
        for r in self.rows {
            let size = r.int8_bytes.map_or("—".to_string(), |b| {
                format!("{:.1} KiB", b as f64 / 1024.0)
            });
            let params = if r.params == 0 {
                "—".to_string()
            } else {
                r.params.to_string()
            };
            writeln!(
                md,
                "| {} | {:.2}% | {params} | {size} |",
                r.name, r.test_acc
            )?;
        }
        let kd = self.rows.iter().find(|r| r.name == "KD student");
        let base = self.rows.iter().find(|r| r.name == "label-only student");
        if let (Some(k), Some(b)) = (kd, base) {
            writeln!(
                md,
                "\nDistillation bought {:+.2} points over the same student trained on labels only.",
                k.test_acc - b.test_acc
            )?;
        }
        if self.seeds.kd.len() > 1 {
            let (km, ks) = mean_std(&self.seeds.kd);
            writeln!(
                md,
                "\n## Over {} student seeds (same teacher, same epochs)\n",
                self.seeds.kd.len()
            )?;
            writeln!(
                md,
                "| student | mean | std | per seed |\n|---|---:|---:|---|"
            )?;
            let list = |v: &[f64]| {
                v.iter()
                    .map(|a| format!("{a:.2}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            writeln!(md, "| KD | {km:.2}% | {ks:.2} | {} |", list(&self.seeds.kd))?;
            if !self.seeds.labels.is_empty() {
                let (lm, ls) = mean_std(&self.seeds.labels);
                writeln!(
                    md,
                    "| label-only | {lm:.2}% | {ls:.2} | {} |",
                    list(&self.seeds.labels)
                )?;
                writeln!(md, "\nMean gain of distillation: {:+.2} points.", km - lm)?;
            }
        }
        if c.student.kind == StudentKind::Tree {
            crate::tree_report::write(&mut md, self)?;
        }
        if let Some(e) = self.export {
            writeln!(
                md,
                "\n## int8 export of the KD student\n\n```text\n{e}\n```"
            )?;
        }
        let (mut loss, mut acc) = (Vec::new(), Vec::new());
        // Without a validation split (data.val_fraction = 0) the curves show training accuracy.
        let has_val = self
            .curves
            .iter()
            .flat_map(|(_, h)| h)
            .any(|r| r.val_acc.is_some());
        for (label, hist) in self.curves.iter().filter(|(_, h)| !h.is_empty()) {
            loss.push(Curve {
                label: label.clone(),
                points: hist.iter().map(|r| (r.epoch as f64, r.loss)).collect(),
            });
            acc.push(Curve {
                label: label.clone(),
                points: hist
                    .iter()
                    .filter_map(|r| {
                        let a = if has_val { r.val_acc? } else { r.train_acc };
                        Some((r.epoch as f64, a))
                    })
                    .collect(),
            });
        }
        if !loss.is_empty() {
            let title = match has_val {
                true => "validation accuracy",
                false => "training accuracy",
            };
            let drawn = pictures::draw("training.png", || {
                plots::training_curves(&dir.join("training.png"), "Training", &loss, &acc, title)
            });
            let link = "![training curves](training.png)";
            writeln!(md, "\n{}", pictures::markdown(&drawn, link))?;
            skipped.extend(drawn.err());
        }
        for (i, r) in self.rows.iter().enumerate() {
            let file = format!("confusion-{i}.png");
            let drawn = pictures::draw(&file, || {
                plots::confusion_matrix(
                    &dir.join(&file),
                    &format!("{} — test set", r.name),
                    &r.confusion,
                    self.class_names,
                )
            });
            let link = format!("![confusion matrix of the {}]({file})", r.name);
            writeln!(md, "\n{}", pictures::markdown(&drawn, &link))?;
            skipped.extend(drawn.err());
        }
        write_atomic(&dir.join("report.md"), md.as_bytes())?;
        Ok(skipped)
    }
}
