//! Progress bars on a terminal; one plain line per epoch when there is none (CI logs).
//! indicatif hides itself without a terminal, swallowing even its own messages (NOTES.md).
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::training::metrics::EpochRecord;

pub struct EpochProgress {
    multi: MultiProgress,
    plain: bool,
}

impl EpochProgress {
    pub fn new(enabled: bool) -> Self {
        let multi = MultiProgress::new();
        if !enabled {
            multi.set_draw_target(ProgressDrawTarget::hidden());
        }
        let plain = !enabled || multi.is_hidden();
        EpochProgress { multi, plain }
    }

    pub fn epoch(&self, stage: &str, epoch: usize, epochs: usize, steps: usize) -> EpochBar {
        let bar = self.multi.add(ProgressBar::new(steps as u64));
        let style =
            ProgressStyle::with_template("{prefix:>22} [{bar:30}] {pos}/{len} {msg} ETA {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(format!("{stage} {epoch}/{epochs}"));
        EpochBar {
            bar,
            multi: self.multi.clone(),
            plain: self.plain,
        }
    }

    /// A log line that does not tear the bars.
    pub fn println(&self, line: &str) {
        if self.plain {
            eprintln!("{line}");
        } else {
            let _ = self.multi.println(line);
        }
    }
}

pub struct EpochBar {
    bar: ProgressBar,
    multi: MultiProgress,
    plain: bool,
}

impl EpochBar {
    pub fn step(&self, mean_loss: f64) {
        self.bar.inc(1);
        if self.bar.position().is_multiple_of(10) {
            self.bar.set_message(format!("loss {mean_loss:.4}"));
        }
    }

    pub fn finish(&self, r: &EpochRecord) {
        let val = r
            .val_acc
            .map_or(String::new(), |v| format!("  val {v:.2}%"));
        let line = format!(
            "{} epoch {:>2}: loss {:.4}  train {:.2}%{val}  ({:.1} s)",
            r.stage, r.epoch, r.loss, r.train_acc, r.seconds
        );
        if self.plain {
            eprintln!("{line}");
        } else {
            self.bar.finish_and_clear();
            self.multi.remove(&self.bar);
            let _ = self.multi.println(line);
        }
    }
}
