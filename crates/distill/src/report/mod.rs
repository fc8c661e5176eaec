//! The run's `report.md`: accuracy, parameters and int8 size per model, plus the plots.
pub mod pictures;
pub mod plots;

use std::fmt::Write as _;
use std::path::Path;

use export::fsutil::write_atomic;

use crate::config::Config;
use crate::students::mean_std;
use crate::training::metrics::EpochRecord;
use pictures::{Drawn, Skipped};
use plots::Curve;

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
    /// How its training ran (epochs, the one kept, why it stopped); empty when not trained
    /// here (a cached or imported teacher).
    pub training: String,
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
            training: String::new(),
        }
    }
}

/// One sentence on every other model against the linear baseline, saying plainly which do
/// not beat it.
fn versus_linear(rows: &[ModelRow], lin: &ModelRow) -> String {
    let others: Vec<&ModelRow> = rows.iter().filter(|r| r.name != lin.name).collect();
    let gains: Vec<String> = others
        .iter()
        .map(|r| format!("{} {:+.2}", r.name, r.test_acc - lin.test_acc))
        .collect();
    let behind: Vec<&str> = others
        .iter()
        .filter(|r| r.test_acc <= lin.test_acc)
        .map(|r| r.name.as_str())
        .collect();
    let mut s = format!(
        "Against the linear baseline ({:.2}%, logistic regression through the same pipeline), in \
         points: {}.",
        lin.test_acc,
        gains.join(", ")
    );
    if !behind.is_empty() {
        s += &format!(
            " **Not better than the linear baseline: {}.**",
            behind.join(", ")
        );
    }
    s
}

/// `N classes: a, b, …` for the report's data line (the first 20 names).
fn classes_line(names: &[String]) -> String {
    let shown: Vec<&str> = names.iter().take(20).map(String::as_str).collect();
    let more = if names.len() > 20 { ", …" } else { "" };
    format!("{} classes: {}{more}", names.len(), shown.join(", "))
}

pub struct Report<'a> {
    pub config: &'a Config,
    pub data_source: &'a str,
    pub class_names: &'a [String],
    pub rows: &'a [ModelRow],
    pub curves: &'a [(String, Vec<EpochRecord>)],
    pub export: Option<&'a export::ExportReport>,
    /// Why the export failed, when it did (the report is still written).
    pub export_failed: Option<&'a str>,
    /// The distillation settings the KD student was trained with (searched or given).
    pub kd: crate::training::loss::KdLoss,
    /// The settings tried on validation, when they were searched.
    pub kd_trials: &'a [crate::students::Trial],
    /// Why no validation split was held out (small data), when that is the case.
    pub no_val_reason: Option<&'a str>,
    pub seeds: &'a SeedSummary,
    /// The student kind's pictures (`Kind::pictures`) and whether each was drawn.
    pub pictures: &'a [(&'static str, Drawn)],
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
    pub fn write(&self, dir: &Path) -> crate::Result<Vec<Skipped>> {
        let mut skipped = Vec::new();
        let mut md = String::new();
        let c = self.config;
        writeln!(md, "# Run `{}`\n", c.name)?;
        writeln!(
            md,
            "Data: {}; {}. Seed {}.",
            self.data_source,
            classes_line(self.class_names),
            c.seed
        )?;
        if let Some(why) = self.no_val_reason {
            writeln!(md, "{why}.")?;
        }
        if self.kd_trials.is_empty() {
            let how = match (self.no_val_reason, c.kd.search) {
                (Some(_), true) => "as configured: not searched without a validation split",
                _ => "as configured",
            };
            writeln!(md, "KD loss: {} ({how}).\n", self.kd.describe())?;
        } else {
            writeln!(
                md,
                "KD loss: {}, chosen on the validation split from {} settings (α and T were \
                 not given):\n",
                self.kd.describe(),
                self.kd_trials.len()
            )?;
            writeln!(
                md,
                "| KD setting | val accuracy | val loss | test accuracy |"
            )?;
            writeln!(md, "|---|---:|---:|---:|")?;
            for t in self.kd_trials {
                let mark = if t.kd == self.kd { " (chosen)" } else { "" };
                writeln!(
                    md,
                    "| {}{mark} | {:.2}% | {:.4} | {:.2}% |",
                    t.kd.describe(),
                    t.val_acc,
                    t.val_loss,
                    t.test_acc
                )?;
            }
            writeln!(md)?;
        }
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
            "| model | test accuracy | parameters | int8 size (est.) | training |"
        )?;
        writeln!(md, "|---|---:|---:|---:|---|")?;
        for r in self.rows {
            let size = r.int8_bytes.map_or("—".to_string(), |b| {
                format!("{:.1} KiB", b as f64 / 1024.0)
            });
            let params = if r.params == 0 {
                "—".to_string()
            } else {
                r.params.to_string()
            };
            let training = if r.training.is_empty() {
                "—"
            } else {
                &r.training
            };
            writeln!(
                md,
                "| {} | {:.2}% | {params} | {size} | {training} |",
                r.name, r.test_acc
            )?;
        }
        let kd = self.rows.iter().find(|r| r.name == "KD student");
        let base = self.rows.iter().find(|r| r.name == "label-only student");
        if let (Some(k), Some(b)) = (kd, base) {
            let gain = k.test_acc - b.test_acc;
            if gain > 0.0 {
                writeln!(
                    md,
                    "\nDistillation bought {gain:+.2} points over the same student trained on \
                     labels only."
                )?;
            } else {
                writeln!(
                    md,
                    "\n**Distillation did not beat the label-only twin here** ({gain:+.2} \
                     points on the test set): this teacher's soft targets did not help this \
                     student."
                )?;
            }
        }
        if let Some(lin) = self.rows.iter().find(|r| r.name == crate::run::LINEAR_ROW) {
            writeln!(md, "\n{}", versus_linear(self.rows, lin))?;
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
        crate::students::kind::kind_of(c)?.report_section(&mut md, self)?;
        if let Some(why) = self.export_failed {
            writeln!(
                md,
                "\n## int8 export of the KD student\n\n**Not exported.** {why}"
            )?;
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
        let summary = serde_json::to_vec_pretty(&self.summary())?;
        write_atomic(&dir.join("summary.json"), &summary)?;
        Ok(skipped)
    }

    /// The report's figures for scripts (`summary.json`): the class names, test accuracy in
    /// percent per model (and max path for trees), the seeds, and the export's float and int8
    /// accuracy.
    fn summary(&self) -> serde_json::Value {
        use serde_json::json;
        let models: Vec<_> = self
            .rows
            .iter()
            .map(|r| {
                json!({
                    "name": r.name,
                    "test_acc": r.test_acc,
                    "max_path_acc": r.max_path_acc,
                    "training": r.training,
                    "params": r.params,
                })
            })
            .collect();
        let export = self.export.and_then(|e| e.accuracy.as_ref()).map(|a| {
            json!({"float": a.float, "int8_runtime": a.int8_runtime, "int8_tract": a.int8_tract})
        });
        json!({
            "name": self.config.name,
            "data": self.data_source,
            "classes": self.class_names,
            "seed": self.config.seed,
            "models": models,
            "seeds": {
                "kd": self.seeds.kd,
                "labels": self.seeds.labels,
                "kd_max_path": self.seeds.kd_max_path,
                "labels_max_path": self.seeds.labels_max_path,
            },
            "export": export,
            "export_failed": self.export_failed,
            "kd": self.kd.describe(),
            "no_val_reason": self.no_val_reason,
        })
    }
}
