//! The loss of [`crate::training::loss::kd_loss`] and its gradient with respect to the logits, written
//! out: CE's is softmax − one-hot, the soft term's (q_s − p_t)·scale/T, MSE's 2(s − t)/(B·C).

use crate::training::loss::{KdLoss, SoftLoss};

/// What one batch is trained against.
pub struct Targets<'a> {
    /// `[B]` class indices.
    pub labels: &'a [u32],
    /// `[B, C]` teacher logits, with the KD settings; `None` trains on labels only.
    pub teacher: Option<(&'a [f32], KdLoss)>,
    /// `[B]`: 1.0 where the row has a label (transfer rows have 0.0).
    pub mask: Option<&'a [f32]>,
}

/// Writes d loss / d logits into `grad` (`[B, C]`) and returns the loss.
pub fn loss_and_grad(logits: &[f32], classes: usize, t: &Targets, grad: &mut [f32]) -> f64 {
    let b = t.labels.len();
    let c = classes;
    let (alpha, kd) = match t.teacher {
        Some((_, kd)) if kd.alpha < 1.0 => (kd.alpha, Some(kd)),
        _ => (1.0, None),
    };
    let weight = |i: usize| t.mask.map_or(1.0, |m| m[i] as f64);
    let labelled = match t.mask {
        Some(m) => m.iter().map(|&v| v as f64).sum::<f64>().max(1.0),
        None => b as f64,
    };
    let mut loss = 0f64;
    let mut probs = vec![0f64; c];
    for i in 0..b {
        let z = &logits[i * c..(i + 1) * c];
        let g = &mut grad[i * c..(i + 1) * c];
        let lse = log_softmax_into(z, 1.0, &mut probs);
        let y = t.labels[i] as usize;
        let w = alpha * weight(i) / labelled;
        loss += w * (lse - z[y] as f64);
        for (k, gk) in g.iter_mut().enumerate() {
            let onehot = if k == y { 1.0 } else { 0.0 };
            *gk = (w * (probs[k] - onehot)) as f32;
        }
        let (Some(kd), Some((teacher, _))) = (kd, t.teacher) else {
            continue;
        };
        let tz = &teacher[i * c..(i + 1) * c];
        let soft_w = 1.0 - alpha;
        match kd.soft {
            SoftLoss::Kl | SoftLoss::KlTargets => {
                let (temp, st) = (kd.temperature, kd.student_temperature());
                let scale = if kd.t_squared { temp * temp } else { 1.0 };
                let mut pt = vec![0f64; c];
                let lse_t = log_softmax_into(tz, temp, &mut pt);
                let lse_s = log_softmax_into(z, st, &mut probs);
                let f = soft_w * scale / b as f64;
                for k in 0..c {
                    let log_pt = tz[k] as f64 / temp - lse_t;
                    let log_qs = z[k] as f64 / st - lse_s;
                    loss += f * pt[k] * (log_pt - log_qs);
                    g[k] += (f / st * (probs[k] - pt[k])) as f32;
                }
            }
            SoftLoss::LogitMse => {
                let f = soft_w / (b * c) as f64;
                for k in 0..c {
                    let d = z[k] as f64 - tz[k] as f64;
                    loss += f * d * d;
                    g[k] += (f * 2.0 * d) as f32;
                }
            }
        }
    }
    loss
}

/// Softmax of `z / temp` into `p`; returns log Σ exp(z / temp).
pub(crate) fn log_softmax_into(z: &[f32], temp: f64, p: &mut [f64]) -> f64 {
    let max = z
        .iter()
        .fold(f64::NEG_INFINITY, |m, &v| m.max(v as f64 / temp));
    let mut sum = 0f64;
    for (pk, &zk) in p.iter_mut().zip(z) {
        *pk = (zk as f64 / temp - max).exp();
        sum += *pk;
    }
    for pk in p.iter_mut() {
        *pk /= sum;
    }
    max + sum.ln()
}
