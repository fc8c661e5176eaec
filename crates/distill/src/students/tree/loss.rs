//! The soft tree's training loss (Frosst & Hinton 2017, §3–4).
//!
//! * Path-weighted cross-entropy: Σ_ℓ P_ℓ(x) · CE(target, softmax(φ_ℓ)), the expected loss of
//!   the leaf a sample lands in. The KD settings apply as for logits students: α weighs the
//!   labels (masked on transfer rows), 1 − α the teacher at temperature T, whose term compares
//!   softmax(t/T) with softmax(φ_ℓ/T) as a KL (the CE minus the teacher's constant entropy),
//!   times T² when `t_squared`.
//! * Balance penalty λ Σ_i 2^(−depth(i)) · (−½)[log α_i + log(1 − α_i)], α_i the
//!   path-weighted probability of going right at node i. A batch holds few samples that reach
//!   a deep node, so α_i is an exponentially decayed running average of its numerator and
//!   denominator over batches, with a window 2^depth(i) times the root's, as the paper does.
//!   Only the current batch's share carries a gradient; the past is a constant.
use candle_core::{D, Result, Tensor};
use candle_nn::ops::{log_softmax, softmax};

use crate::students::tree::Paths;
use crate::students::tree::TreeConfig;
use crate::training::loss::Targets;

/// Keeps α_i finite for a node no sample reached yet (it reads as 0.5, no penalty gradient).
pub const EPS: f64 = 1e-8;

/// Running Σ reach·p and Σ reach per inner node (means over a batch), detached.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Balance {
    sums: Option<(Vec<f32>, Vec<f32>)>,
}

impl Balance {
    /// The running numerators and denominators, once a training batch has been seen.
    pub fn sums(&self) -> Option<(&[f32], &[f32])> {
        self.sums
            .as_ref()
            .map(|(n, d)| (n.as_slice(), d.as_slice()))
    }

    pub fn set(&mut self, num: Vec<f32>, den: Vec<f32>) {
        self.sums = Some((num, den));
    }
}

/// Depth of inner node `i` in heap order (the root is 0).
pub fn node_depth(i: usize) -> i32 {
    (usize::BITS - 1 - (i + 1).leading_zeros()) as i32
}

/// Per inner node: the penalty's weight 2^(−depth) and the running averages' decay (window
/// 1/(1 − decay) at the root, 2^k times longer at depth k).
pub fn balance_weights(inner: usize, cfg: &TreeConfig) -> (Vec<f32>, Vec<f32>) {
    (0..inner)
        .map(|i| {
            let w = 0.5f32.powi(node_depth(i));
            (w, 1.0 - (1.0 - cfg.balance_decay as f32) * w)
        })
        .unzip()
}

/// Keeps α_i away from 0 and 1, where the penalty is infinite.
pub const ALPHA_CLAMP: f32 = 1e-6;

/// The full loss of one batch. `update` advances the running averages (training only).
pub fn tree_loss(
    leaves: &Tensor,
    p: &Tensor,
    paths: &Paths,
    t: &Targets,
    cfg: &TreeConfig,
    balance: &mut Balance,
    update: bool,
) -> Result<Tensor> {
    let hard = path_weighted_ce(leaves, &paths.leaves, t.y, t.label_mask)?;
    let mut loss = match (t.kd, t.teacher) {
        (Some(kd), Some(teacher)) if kd.alpha < 1.0 => {
            let scale = if kd.t_squared {
                kd.temperature * kd.temperature
            } else {
                1.0
            };
            let (ts, tt) = (kd.student_temperature(), kd.temperature);
            let soft = path_weighted_kl(leaves, &paths.leaves, teacher, ts, tt)?;
            ((hard * kd.alpha)? + (soft * ((1.0 - kd.alpha) * scale))?)?
        }
        _ => hard,
    };
    if cfg.balance > 0.0 {
        let pen = balance_penalty(p, &paths.inner, cfg, balance, update)?;
        loss = (loss + (pen * cfg.balance)?)?;
    }
    Ok(loss)
}

/// Σ_ℓ P_ℓ · −log softmax(φ_ℓ)\[y\], averaged over the rows the mask keeps.
pub fn path_weighted_ce(
    leaves: &Tensor,
    leaf_paths: &Tensor,
    y: &Tensor,
    mask: Option<&Tensor>,
) -> Result<Tensor> {
    // [C, L] indexed by the labels: row b holds log q_ℓ[y_b] for every leaf ℓ.
    let logq = log_softmax(leaves, D::Minus1)?
        .t()?
        .contiguous()?
        .index_select(y, 0)?;
    let per_row = (leaf_paths * logq)?.sum(1)?.neg()?;
    match mask {
        Some(m) => {
            let labelled = m.sum_all()?.to_scalar::<f32>()?.max(1.0);
            (per_row * m)?.sum_all()? / f64::from(labelled)
        }
        None => per_row.mean_all(),
    }
}

/// Σ_ℓ P_ℓ · KL(softmax(t/T_t) ‖ softmax(φ_ℓ/T_s)), averaged over the batch.
pub fn path_weighted_kl(
    leaves: &Tensor,
    leaf_paths: &Tensor,
    teacher: &Tensor,
    student_t: f64,
    teacher_t: f64,
) -> Result<Tensor> {
    let log_pt = log_softmax(&(teacher / teacher_t)?, D::Minus1)?;
    let pt = softmax(&(teacher / teacher_t)?, D::Minus1)?;
    let neg_entropy = (&pt * &log_pt)?.sum_keepdim(1)?;
    let logq = log_softmax(&(leaves / student_t)?, D::Minus1)?;
    let kl = neg_entropy.broadcast_sub(&pt.matmul(&logq.t()?)?)?;
    (leaf_paths * kl)?.sum(1)?.mean_all()
}

/// Σ_i 2^(−depth(i)) · (−½)[log α_i + log(1 − α_i)] with running-average α_i (without λ).
fn balance_penalty(
    p: &Tensor,
    reach: &Tensor,
    cfg: &TreeConfig,
    balance: &mut Balance,
    update: bool,
) -> Result<Tensor> {
    let inner = reach.dim(1)?;
    let dev = reach.device();
    let (weight, decay) = balance_weights(inner, cfg);
    let num_b = (reach * p)?.mean(0)?;
    let den_b = reach.mean(0)?;
    let (num, den) = match &balance.sums {
        Some((n, d)) => {
            let keep = Tensor::from_slice(&decay, inner, dev)?;
            let new = keep.affine(-1.0, 1.0)?;
            let past = |v: &[f32]| Tensor::from_slice(v, inner, dev)?.mul(&keep);
            (
                (past(n)? + num_b.mul(&new)?)?,
                (past(d)? + den_b.mul(&new)?)?,
            )
        }
        None => (num_b, den_b),
    };
    let alpha = ((&num + 0.5 * EPS)? / (&den + EPS)?)?.clamp(ALPHA_CLAMP, 1.0 - ALPHA_CLAMP)?;
    let per_node = ((alpha.log()? + alpha.affine(-1.0, 1.0)?.log()?)? * -0.5)?;
    let w = Tensor::from_slice(&weight, inner, dev)?;
    let pen = (per_node * w)?.sum_all()?;
    if update {
        balance.sums = Some((num.detach().to_vec1()?, den.detach().to_vec1()?));
    }
    Ok(pen)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn ce_weights_leaves_by_path_and_skips_masked_rows() -> Result<()> {
        let dev = Device::Cpu;
        let leaves = Tensor::new(&[[1.0f32, 0.0], [0.0, 2.0]], &dev)?;
        let paths = Tensor::new(&[[0.25f32, 0.75], [1.0, 0.0]], &dev)?;
        let y = Tensor::new(&[1u32, 0], &dev)?;
        let lq = |l: [f64; 2], k: usize| l[k] - (l[0].exp() + l[1].exp()).ln();
        let row0 = -(0.25 * lq([1.0, 0.0], 1) + 0.75 * lq([0.0, 2.0], 1));
        let row1 = -lq([1.0, 0.0], 0);
        let got = path_weighted_ce(&leaves, &paths, &y, None)?.to_scalar::<f32>()?;
        assert!((f64::from(got) - (row0 + row1) / 2.0).abs() < 1e-5);
        let mask = Tensor::new(&[1f32, 0.0], &dev)?;
        let got = path_weighted_ce(&leaves, &paths, &y, Some(&mask))?.to_scalar::<f32>()?;
        assert!((f64::from(got) - row0).abs() < 1e-5);
        Ok(())
    }

    #[test]
    fn kl_is_zero_when_every_leaf_matches_the_teacher() -> Result<()> {
        let dev = Device::Cpu;
        let t = Tensor::new(&[[2.0f32, -1.0, 0.5]], &dev)?;
        let leaves = Tensor::cat(&[&t, &t], 0)?;
        let paths = Tensor::new(&[[0.3f32, 0.7]], &dev)?;
        let kl = path_weighted_kl(&leaves, &paths, &t, 4.0, 4.0)?.to_scalar::<f32>()?;
        assert!(kl.abs() < 1e-6, "{kl}");
        Ok(())
    }

    #[test]
    fn balanced_split_costs_log_two_and_the_average_runs() -> Result<()> {
        let dev = Device::Cpu;
        let cfg = TreeConfig {
            balance_decay: 0.5,
            ..TreeConfig::default()
        };
        let reach = Tensor::ones((2, 1), candle_core::DType::F32, &dev)?;
        let mut bal = Balance::default();
        let even = Tensor::new(&[[0.5f32], [0.5]], &dev)?;
        let pen = balance_penalty(&even, &reach, &cfg, &mut bal, true)?.to_scalar::<f32>()?;
        assert!((pen - std::f32::consts::LN_2).abs() < 1e-5);
        // The next batch always goes right; the running α is 0.5·0.5 + 0.5·1 = 0.75.
        let right = Tensor::new(&[[1.0f32], [1.0]], &dev)?;
        let pen = balance_penalty(&right, &reach, &cfg, &mut bal, false)?.to_scalar::<f32>()?;
        let want = -0.5 * (0.75f32.ln() + 0.25f32.ln());
        assert!((pen - want).abs() < 1e-5, "{pen} vs {want}");
        Ok(())
    }
}
