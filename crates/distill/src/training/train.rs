//! The training loop shared by teachers and students: seeded shuffling, AdamW with a cosine
//! schedule, validation each epoch, JSON-lines metrics, atomic checkpoints and `--resume`.
use std::path::PathBuf;
use std::time::Instant;

use candle_core::{D, DType, Tensor};
use candle_nn::VarMap;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::config::TrainConfig;
use crate::data::augment::Augmenter;
use crate::error::{Context, Error, Result, bail};
use crate::nn::fast_mlp::{Targets, host_vec};
use crate::nn::{Classifier, FastStep, Mode, predict_logits};
use crate::training::budget::{Best, Outcome, Stop, batch_size, patience_epochs, planned_epochs};
use crate::training::checkpoint;
use crate::training::divergence::{LossGuard, kept_note};
use crate::training::loss::{self, KdLoss};
use crate::training::metrics::{EpochRecord, Metrics};
use crate::training::optim::{AdamW, AdamWConfig, FusedAdamW};
use crate::training::progress::EpochProgress;
use crate::training::weights::{restore_weights, save_varmap};

/// The tensors of one training job, already normalized and on the training device.
pub struct TrainData<'a> {
    pub x: &'a Tensor,
    pub y: &'a Tensor,
    /// Cached teacher logits for `x`, row for row; `None` trains on labels only.
    pub teacher: Option<&'a Tensor>,
    /// 1.0 for rows with a label, 0.0 for transfer-set rows (teacher targets only).
    pub label_mask: Option<&'a Tensor>,
    pub val_x: &'a Tensor,
    pub val_y: &'a Tensor,
}

pub struct Job<'a> {
    /// Names the stage in logs, metrics and the checkpoint file.
    pub stage: &'a str,
    pub cfg: TrainConfig,
    pub kd: Option<KdLoss>,
    pub seed: u64,
    pub checkpoint: PathBuf,
    pub resume: bool,
    /// Perturbs each batch; only for label training (cached teacher logits would not match).
    pub augment: Option<Augmenter>,
    /// Train MLPs, soft trees and CNNs on the CPU through the hand-written steps of
    /// [`crate::nn::fast_mlp`], [`crate::students::tree::fast`] and [`crate::nn::fast_cnn`]
    /// (the autograd path otherwise; each is tested against it).
    pub fast: bool,
}

/// The training tensors as host vectors, for the fast steps.
struct HostData {
    x: Vec<f32>,
    y: Vec<u32>,
    teacher: Option<Vec<f32>>,
    mask: Option<Vec<f32>>,
    classes: usize,
}

impl HostData {
    fn new(data: &TrainData) -> candle_core::Result<Self> {
        Ok(HostData {
            x: host_vec(data.x)?,
            y: host_vec(data.y)?,
            teacher: data.teacher.map(host_vec).transpose()?,
            mask: data.label_mask.map(host_vec).transpose()?,
            classes: data.teacher.map_or(Ok(0), |t| t.dim(1))?,
        })
    }

    fn gather<T: Copy>(v: &[T], width: usize, rows: &[u32]) -> Vec<T> {
        rows.iter()
            .flat_map(|&r| &v[r as usize * width..(r as usize + 1) * width])
            .copied()
            .collect()
    }
}

/// What [`train`] ran: every epoch's record and how the run ended.
pub struct Trained {
    pub history: Vec<EpochRecord>,
    pub outcome: Outcome,
}

/// Trains `model` for its budget (see [`crate::training::budget`]); with a validation split it stops
/// early and leaves the best epoch's weights in `varmap`.
pub fn train(
    model: &dyn Classifier,
    varmap: &VarMap,
    data: &TrainData,
    job: &Job,
    metrics: &mut Metrics,
    progress: &EpochProgress,
) -> Result<Trained> {
    let n = data.x.dim(0)?;
    if job.augment.is_some() && data.teacher.is_some() {
        bail!(
            Config,
            "{}: batch augmentation cannot be combined with cached teacher logits (use a transfer set)",
            job.stage
        );
    }
    let mut opt = AdamW::new(
        varmap,
        AdamWConfig {
            lr: job.cfg.lr,
            weight_decay: job.cfg.weight_decay,
            ..AdamWConfig::default()
        },
    )?;
    let mut history = Vec::new();
    if job.resume && job.checkpoint.exists() {
        let state;
        (history, state) = checkpoint::load(&job.checkpoint, varmap, &mut opt)?;
        model
            .restore_train_state(state)
            .with_context(|| format!("resuming from {}", job.checkpoint.display()))?;
        progress.println(&format!(
            "{}: resumed from {} after epoch {}",
            job.stage,
            job.checkpoint.display(),
            history.len()
        ));
    }
    let batch = batch_size(&job.cfg, n);
    let steps = n.div_ceil(batch);
    let mut fast = match &opt {
        AdamW::Fused(o) if job.fast && job.augment.is_none() => Fast::new(model, o, batch, data)?,
        _ => None,
    };
    let classes = match n {
        0 => 0,
        _ => data.y.max(0)?.to_scalar::<u32>()? as usize + 1,
    };
    let mut guard = LossGuard::new(classes);
    let planned = planned_epochs(&job.cfg, steps);
    let patience = patience_epochs(&job.cfg, steps);
    let best_path = job.checkpoint.with_extension("best.safetensors");
    let mut best = Best::from_history(&history);
    let mut stop = Stop::Budget;
    for epoch in history.len()..planned {
        if patience > 0 && best.epoch > 0 && epoch - best.epoch >= patience {
            stop = Stop::Patience(patience);
            break;
        }
        let start = Instant::now();
        opt.set_lr(lr_at(&job.cfg, epoch, planned));
        model.start_epoch(epoch, planned);
        // Seeded per epoch, so a resumed run draws exactly what an uninterrupted one would.
        let mut rng = ChaCha8Rng::seed_from_u64(job.seed ^ ((epoch as u64 + 1) << 32));
        let mut order: Vec<u32> = (0..n as u32).collect();
        order.shuffle(&mut rng);
        let bar = progress.epoch(job.stage, epoch + 1, planned, steps);
        let (mut loss_sum, mut correct) = (0f64, 0usize);
        for (step, chunk) in order.chunks(batch).enumerate() {
            let (value, hits) = match (&mut fast, &mut opt) {
                (Some(f), AdamW::Fused(o)) => f.step(chunk, job, &mut rng, o)?,
                _ => autograd_step(model, data, job, chunk, &mut rng, &mut opt)?,
            };
            if !value.is_finite() {
                return Err(Error::LossNotFinite {
                    stage: job.stage.to_string(),
                    loss: value,
                    epoch: epoch + 1,
                    step,
                    kept: kept_note(&job.checkpoint, history.len()),
                });
            }
            guard.step(value);
            correct += hits;
            loss_sum += value * chunk.len() as f64;
            bar.step(loss_sum / ((step + 1) * batch).min(n) as f64);
        }
        let (val_acc, val_loss) = match data.val_y.dim(0)? {
            0 => (None, None),
            _ => {
                let (a, l) = evaluate_deployed(model, data.val_x, data.val_y)?;
                (Some(a), Some(l))
            }
        };
        let loss = loss_sum / n as f64;
        // Before the checkpoint is written, so the one kept is the last good epoch's.
        if n > 0
            && let Err(diverged) = guard.check_epoch(job.stage, epoch + 1, loss)
        {
            return Err(Error::Diverged {
                diverged,
                kept: kept_note(&job.checkpoint, history.len()),
            });
        }
        let record = EpochRecord {
            stage: job.stage.to_string(),
            epoch: epoch + 1,
            loss,
            train_acc: 100.0 * correct as f64 / n as f64,
            val_acc,
            val_loss,
            lr: lr_at(&job.cfg, epoch, planned),
            seconds: start.elapsed().as_secs_f64(),
        };
        bar.finish(&record);
        metrics.write(&record)?;
        // The best weights first: a run interrupted between the two files resumes with a
        // history whose best epoch has its weights on disk.
        if best.offer(&record) {
            save_varmap(&best_path, varmap, false)?;
        }
        history.push(record);
        checkpoint::save(&job.checkpoint, varmap, &opt, &history, model.train_state())
            .with_context(|| format!("saving checkpoint {}", job.checkpoint.display()))?;
    }
    let last = history.len();
    let kept_epoch = if best.epoch > 0 { best.epoch } else { last };
    if kept_epoch != last {
        restore_weights(&best_path, varmap)?;
    }
    let outcome = Outcome {
        epochs_run: last,
        planned,
        kept_epoch,
        stop,
    };
    progress.println(&format!("{}: {}", job.stage, outcome.describe()));
    Ok(Trained { history, outcome })
}

/// A model the CPU trains through its hand-written step, with the data on the host.
struct Fast<'m> {
    step: Box<dyn FastStep + 'm>,
    host: HostData,
}

impl<'m> Fast<'m> {
    fn new(
        model: &'m dyn Classifier,
        opt: &FusedAdamW,
        batch: usize,
        data: &TrainData,
    ) -> candle_core::Result<Option<Self>> {
        Ok(match model.fast_step(opt, batch)? {
            Some(step) => Some(Fast {
                step,
                host: HostData::new(data)?,
            }),
            None => None,
        })
    }

    fn step(
        &mut self,
        chunk: &[u32],
        job: &Job,
        rng: &mut ChaCha8Rng,
        opt: &mut FusedAdamW,
    ) -> candle_core::Result<(f64, usize)> {
        let host = &self.host;
        let labels = HostData::gather(&host.y, 1, chunk);
        let teacher = host
            .teacher
            .as_ref()
            .map(|t| HostData::gather(t, host.classes, chunk));
        let mask = host.mask.as_ref().map(|m| HostData::gather(m, 1, chunk));
        let targets = Targets {
            labels: &labels,
            teacher: teacher.as_deref().zip(job.kd),
            mask: mask.as_deref(),
        };
        self.step.step(&host.x, chunk, &targets, rng, opt)
    }
}

/// One step through candle's autograd; returns the loss (not applied when not finite) and
/// the rows classified as their label.
fn autograd_step(
    model: &dyn Classifier,
    data: &TrainData,
    job: &Job,
    chunk: &[u32],
    rng: &mut ChaCha8Rng,
    opt: &mut AdamW,
) -> Result<(f64, usize)> {
    let idx = Tensor::from_slice(chunk, chunk.len(), data.x.device())?;
    let mut x = data.x.index_select(&idx, 0)?;
    if let Some(aug) = &job.augment {
        let mut v = x.flatten_all()?.to_vec1::<f32>()?;
        aug.apply(&mut v, rng);
        x = Tensor::from_vec(v, x.shape(), x.device())?;
    }
    let y = data.y.index_select(&idx, 0)?;
    let mask = data
        .label_mask
        .map(|m| m.index_select(&idx, 0))
        .transpose()?;
    let teacher = (data.teacher.filter(|_| job.kd.is_some()))
        .map(|t| t.index_select(&idx, 0))
        .transpose()?;
    let targets = loss::Targets {
        y: &y,
        teacher: teacher.as_ref(),
        label_mask: mask.as_ref(),
        kd: job.kd,
    };
    let (loss, logits) = model.batch_loss(&x, &targets, &mut Mode::Train(rng))?;
    let value = loss.to_scalar::<f32>()? as f64;
    if value.is_finite() {
        opt.step(&loss.backward()?)?;
    }
    Ok((value, count_correct(&logits, &y)?))
}

/// Cosine decay from `lr` to `lr · final_lr_fraction` over the planned epochs.
fn lr_at(cfg: &TrainConfig, epoch: usize, planned: usize) -> f64 {
    let t = if planned > 1 {
        epoch as f64 / (planned - 1) as f64
    } else {
        0.0
    };
    let lo = cfg.lr * cfg.final_lr_fraction;
    lo + 0.5 * (cfg.lr - lo) * (1.0 + (std::f64::consts::PI * t).cos())
}

pub fn count_correct(logits: &Tensor, y: &Tensor) -> candle_core::Result<usize> {
    let pred = logits.argmax(D::Minus1)?;
    pred.eq(y)?
        .to_dtype(DType::U32)?
        .sum_all()?
        .to_scalar::<u32>()
        .map(|c| c as usize)
}

/// Top-1 accuracy in percent.
pub fn accuracy(model: &dyn Classifier, x: &Tensor, y: &Tensor) -> candle_core::Result<f64> {
    Ok(evaluate(model, x, y)?.0)
}

/// Like [`evaluate`], but the accuracy is that of the prediction the device makes: a soft
/// tree's maximum-probability path rather than its soft mixture (they can differ by tens of
/// points early in training, and choosing epochs on the soft one kept trees that the device
/// then runs at chance). The loss stays the soft model's, a smooth tie-break.
fn evaluate_deployed(
    model: &dyn Classifier,
    x: &Tensor,
    y: &Tensor,
) -> candle_core::Result<(f64, f64)> {
    let (acc, loss) = evaluate(model, x, y)?;
    match model.device_logits(x)? {
        Some(logits) if x.dim(0)? > 0 => {
            let hits = count_correct(&logits, y)?;
            Ok((100.0 * hits as f64 / x.dim(0)? as f64, loss))
        }
        _ => Ok((acc, loss)),
    }
}

/// Top-1 accuracy in percent and mean cross-entropy against the labels.
pub fn evaluate(model: &dyn Classifier, x: &Tensor, y: &Tensor) -> candle_core::Result<(f64, f64)> {
    let n = x.dim(0)?;
    if n == 0 {
        return Ok((0.0, 0.0));
    }
    let logits = predict_logits(model, x, 1000)?.to_dtype(DType::F32)?;
    let ce = candle_nn::loss::cross_entropy(&logits, y)?.to_scalar::<f32>()?;
    Ok((
        100.0 * count_correct(&logits, y)? as f64 / n as f64,
        f64::from(ce),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_schedule_ends_at_fraction() {
        let cfg = TrainConfig {
            epochs: 5,
            lr: 1.0,
            final_lr_fraction: 0.1,
            ..TrainConfig::default()
        };
        assert_eq!(lr_at(&cfg, 0, 5), 1.0);
        assert!((lr_at(&cfg, 4, 5) - 0.1).abs() < 1e-12);
        assert!(lr_at(&cfg, 2, 5) < 1.0 && lr_at(&cfg, 2, 5) > 0.1);
    }
}
