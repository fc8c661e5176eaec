//! The soft decision tree student (Frosst & Hinton 2017).
//!
//! Inner node i (heap order: children of n are 2n+1 left, 2n+2 right) goes right with
//! probability p_i(x) = σ(β (w_i·x + b_i)); leaf ℓ holds a class distribution softmax(φ_ℓ).
//! Training sees every path, weighted by its probability (`crate::students::tree::loss`); inference takes
//! only the maximum-probability path, right iff w_i·x + b_i > 0, which is what `export`
//! quantizes and the device runs. Parameter names are the float-model contract (FORMAT.md).
use std::cell::{Cell, RefCell};

use candle_core::{D, DType, Device, Result, Tensor, Var};
use candle_nn::VarMap;
use candle_nn::ops::{log_softmax, sigmoid, softmax};
use rand_chacha::ChaCha8Rng;
use runtime_nostd::format as fmt;

use crate::nn::{Classifier, Mode, param};
use crate::students::tree::TreeConfig;
use crate::students::tree::loss::{Balance, tree_loss};
use crate::training::loss::Targets;

/// Checkpoint-only name of a learned β's logarithm (the float model stores β itself).
const LOG_BETA: &str = "tree.log_beta";
/// Checkpoint names of the balance penalty's running averages.
const BALANCE_NUM: &str = "tree.balance.num";
const BALANCE_DEN: &str = "tree.balance.den";

pub struct SoftTree {
    pub depth: usize,
    /// `[2^d − 1, F]`.
    pub weight: Tensor,
    /// `[2^d − 1]`, applied to centred inputs (see `centre`; `saved_bias` folds it in).
    pub bias: Tensor,
    /// Per-feature mean of the training inputs, subtracted before every node. Globally
    /// normalized images are far from zero-mean per pixel (the background is always −0.8), so
    /// an uncentred w·x carries a large offset shared by every sample: Adam moving all 784
    /// weights at once pushed whole batches to one side, the splits saturated at |w·x| ≈ 15–40
    /// and a depth-8 tree used 23–28 of its 256 leaves (measured). Centring starts every split
    /// balanced; it is the same function class, folded into the bias when the tree is saved.
    centre: Tensor,
    /// Leaf logits φ, `[2^d, C]`.
    pub leaves: Tensor,
    beta: Beta,
    cfg: TreeConfig,
    /// Running averages of the branch probabilities, carried from batch to batch.
    balance: RefCell<Balance>,
}

enum Beta {
    /// Scheduled: `cfg.beta` at the first epoch to `cfg.beta_final` at the last.
    Fixed(Cell<f64>),
    /// log β, so that β stays positive and the max-path rule stays the sign of w·x + b.
    Learned(Tensor),
}

/// Probabilities of reaching each node: inner nodes `[B, 2^d − 1]` and leaves `[B, 2^d]`.
pub struct Paths {
    pub inner: Tensor,
    pub leaves: Tensor,
}

impl SoftTree {
    /// `centre`: per-feature mean of the (normalized) training inputs, `[F]`.
    pub fn new(
        varmap: &VarMap,
        centre: &Tensor,
        classes: usize,
        cfg: &TreeConfig,
        rng: &mut ChaCha8Rng,
        dev: &Device,
    ) -> Result<Self> {
        let depth = cfg.depth as usize;
        let features = centre.dim(0)?;
        if !(fmt::MIN_DEPTH..=fmt::MAX_DEPTH).contains(&cfg.depth) {
            candle_core::bail!("tree depth {depth} outside the runtime's range")
        }
        let (inner, leaves) = ((1 << depth) - 1, 1 << depth);
        let weight = param(
            varmap,
            fmt::FLOAT_TREE_INNER_WEIGHT,
            &[inner, features],
            features,
            rng,
            dev,
        )?;
        let bias = param(
            varmap,
            fmt::FLOAT_TREE_INNER_BIAS,
            &[inner],
            features,
            rng,
            dev,
        )?;
        let leaves = param(
            varmap,
            fmt::FLOAT_TREE_LEAVES,
            &[leaves, classes],
            classes,
            rng,
            dev,
        )?;
        let beta = if cfg.learn_beta {
            Beta::Learned(log_beta(varmap, cfg.beta, dev)?)
        } else {
            Beta::Fixed(Cell::new(cfg.beta))
        };
        Ok(SoftTree {
            depth,
            weight,
            bias,
            centre: centre.detach(),
            leaves,
            beta,
            cfg: *cfg,
            balance: RefCell::new(Balance::default()),
        })
    }

    /// The current inverse temperature β.
    pub fn beta(&self) -> Result<f32> {
        match &self.beta {
            Beta::Fixed(b) => Ok(b.get() as f32),
            Beta::Learned(l) => l.exp()?.flatten_all()?.to_vec1::<f32>().map(|v| v[0]),
        }
    }

    /// w_i·(x − centre) + b_i for every inner node, `[B, 2^d − 1]`.
    pub fn node_logits(&self, x: &Tensor) -> Result<Tensor> {
        x.broadcast_sub(&self.centre)?
            .matmul(&self.weight.t()?)?
            .broadcast_add(&self.bias)
    }

    /// The bias for uncentred inputs, b_i − w_i·centre: what the float model file stores.
    pub fn saved_bias(&self) -> Result<Tensor> {
        let shift = self.weight.matmul(&self.centre.unsqueeze(1)?)?.squeeze(1)?;
        self.bias.sub(&shift)
    }

    /// p_i = σ(β (w_i·x + b_i)), the probability of going right.
    fn right_probs(&self, x: &Tensor) -> Result<Tensor> {
        let z = self.node_logits(x)?;
        match &self.beta {
            Beta::Fixed(b) => sigmoid(&(z * b.get())?),
            Beta::Learned(l) => sigmoid(&z.broadcast_mul(&l.exp()?)?),
        }
    }

    /// Right-branch probabilities and the path probabilities, level by level.
    pub fn paths(&self, x: &Tensor) -> Result<(Tensor, Paths)> {
        let p = self.right_probs(x)?;
        let b = x.dim(0)?;
        let mut reach = Tensor::ones((b, 1), DType::F32, x.device())?;
        let mut levels = Vec::with_capacity(self.depth);
        for level in 0..self.depth {
            let width = 1 << level;
            let p_l = p.narrow(1, width - 1, width)?;
            let right = (&reach * &p_l)?;
            let left = (&reach - &right)?;
            levels.push(reach);
            // Children of the level's k-th node are the next level's 2k (left) and 2k+1.
            reach = Tensor::stack(&[left, right], 2)?.reshape((b, 2 * width))?;
        }
        let inner = Tensor::cat(&levels, 1)?;
        Ok((
            p,
            Paths {
                inner,
                leaves: reach,
            },
        ))
    }

    /// Sets every inner node's bias so that the rows of `x` reaching it split in half (its
    /// median response), top-down. Random filters with zero biases send nearly every row of
    /// a deep node to one side: a depth-8 tree so started reached 66 of its 256 leaves after
    /// training (measured); the penalty cannot revive a subtree no row reaches.
    pub fn split_at_medians(&self, varmap: &VarMap, x: &Tensor) -> Result<()> {
        let inner = (1 << self.depth) - 1;
        let z = self
            .node_logits(x)?
            .broadcast_sub(&self.bias)?
            .to_vec2::<f32>()?;
        let mut bias = vec![0f32; inner];
        let mut at = vec![0usize; z.len()];
        for _ in 0..self.depth {
            let mut groups: Vec<Vec<f32>> = vec![Vec::new(); inner];
            for (row, &node) in z.iter().zip(&at) {
                groups[node].push(row[node]);
            }
            for (node, g) in groups.iter_mut().enumerate() {
                if !g.is_empty() {
                    let mid = g.len() / 2;
                    g.select_nth_unstable_by(mid, f32::total_cmp);
                    bias[node] = -g[mid];
                }
            }
            for (row, node) in z.iter().zip(at.iter_mut()) {
                let right = row[*node] + bias[*node] > 0.0;
                *node = 2 * *node + if right { 2 } else { 1 };
            }
        }
        let data = varmap
            .data()
            .lock()
            .map_err(|_| candle_core::Error::Msg("parameter map poisoned".into()))?;
        match data.get(fmt::FLOAT_TREE_INNER_BIAS) {
            Some(v) => v.set(&Tensor::from_vec(bias, inner, self.bias.device())?),
            None => candle_core::bail!("the tree's bias is not in its parameter map"),
        }
    }

    /// Leaf reached by the maximum-probability path, per row (right iff w·x + b > 0).
    pub fn max_path_leaves(&self, x: &Tensor) -> Result<Vec<u32>> {
        let z = self
            .node_logits(x)?
            .to_dtype(DType::F32)?
            .to_vec2::<f32>()?;
        Ok(z.iter()
            .map(|row| leaf_of(row, self.depth).0 as u32)
            .collect())
    }

    /// The reached leaf's logits φ per row, `[B, C]`: its argmax is the max-path class.
    pub fn max_path_logits(&self, x: &Tensor) -> Result<Tensor> {
        let n = x.dim(0)?;
        let leaves = Tensor::from_vec(self.max_path_leaves(x)?, n, x.device())?;
        self.leaves.index_select(&leaves, 0)
    }

    pub fn config(&self) -> &TreeConfig {
        &self.cfg
    }

    /// The per-feature centre subtracted before every node, `[F]`.
    pub fn centre(&self) -> &Tensor {
        &self.centre
    }

    /// The learned log β, when β is learned.
    pub fn log_beta(&self) -> Option<&Tensor> {
        match &self.beta {
            Beta::Fixed(_) => None,
            Beta::Learned(l) => Some(l),
        }
    }

    /// The balance penalty's running averages (training state, checkpointed).
    pub fn balance(&self) -> &RefCell<Balance> {
        &self.balance
    }

    /// Leaf class distributions softmax(φ), `[2^d, C]`.
    pub fn leaf_probs(&self) -> Result<Tensor> {
        softmax(&self.leaves, D::Minus1)
    }
}

/// The leaf reached from node logits `z` (heap order) and the inner nodes visited on the way.
pub fn leaf_of(z: &[f32], depth: usize) -> (usize, Vec<(usize, bool)>) {
    let mut node = 0;
    let mut path = Vec::with_capacity(depth);
    for _ in 0..depth {
        let right = z[node] > 0.0;
        path.push((node, right));
        node = 2 * node + if right { 2 } else { 1 };
    }
    (node - ((1 << depth) - 1), path)
}

fn log_beta(varmap: &VarMap, beta: f64, dev: &Device) -> Result<Tensor> {
    let mut data = varmap
        .data()
        .lock()
        .map_err(|_| candle_core::Error::Msg("parameter map poisoned".into()))?;
    if let Some(v) = data.get(LOG_BETA) {
        return Ok(v.as_tensor().clone());
    }
    let var = Var::from_tensor(&Tensor::new(&[beta.ln() as f32], dev)?)?;
    let t = var.as_tensor().clone();
    data.insert(LOG_BETA.to_string(), var);
    Ok(t)
}

impl Classifier for SoftTree {
    fn fast_step(
        &self,
        opt: &crate::training::optim::FusedAdamW,
        batch: usize,
    ) -> Result<Option<Box<dyn crate::nn::FastStep + '_>>> {
        Ok(super::fast::FastTree::new(self, opt, batch)?.map(|f| {
            Box::new(super::fast::TreeStep(self, Box::new(f))) as Box<dyn crate::nn::FastStep>
        }))
    }

    fn device_logits(&self, x: &Tensor) -> Result<Option<Tensor>> {
        self.max_path_logits(x).map(Some)
    }

    /// A fixed β follows its schedule: geometric from `beta` to `beta_final`, so the last
    /// epochs train the nearly hard routing the device runs.
    fn start_epoch(&self, epoch: usize, epochs: usize) {
        if let Beta::Fixed(b) = &self.beta {
            let f = if epochs > 1 {
                epoch as f64 / (epochs - 1) as f64
            } else {
                1.0
            };
            let (from, to) = (self.cfg.beta, self.cfg.beta_final.unwrap_or(self.cfg.beta));
            b.set(from * (to / from).powf(f));
        }
    }

    /// Log of the mixture Σ_ℓ P_ℓ(x) softmax(φ_ℓ): the soft tree's prediction.
    fn forward(&self, x: &Tensor, _mode: &mut Mode) -> Result<Tensor> {
        let (_, paths) = self.paths(x)?;
        paths
            .leaves
            .matmul(&self.leaf_probs()?)?
            .clamp(1e-30, 1.0)?
            .log()
    }

    fn train_state(&self) -> crate::training::checkpoint::TrainState {
        match self.balance.borrow().sums() {
            Some((num, den)) => vec![
                (BALANCE_NUM.into(), num.to_vec()),
                (BALANCE_DEN.into(), den.to_vec()),
            ],
            None => Vec::new(),
        }
    }

    fn restore_train_state(&self, state: crate::training::checkpoint::TrainState) -> Result<()> {
        let inner = self.weight.dim(0)?;
        let (mut num, mut den) = (None, None);
        for (name, v) in state {
            if v.len() != inner {
                candle_core::bail!(
                    "checkpoint state {name} has {} values, the tree {inner} inner nodes",
                    v.len()
                )
            }
            match name.as_str() {
                BALANCE_NUM => num = Some(v),
                BALANCE_DEN => den = Some(v),
                _ => candle_core::bail!("checkpoint holds unknown state {name}"),
            }
        }
        match (num, den) {
            (Some(n), Some(d)) => self.balance.borrow_mut().set(n, d),
            (None, None) => *self.balance.borrow_mut() = Balance::default(),
            _ => candle_core::bail!("checkpoint holds half of the balance averages"),
        }
        Ok(())
    }

    fn batch_loss(&self, x: &Tensor, t: &Targets, mode: &mut Mode) -> Result<(Tensor, Tensor)> {
        let (p, paths) = self.paths(x)?;
        let leaf_logp = log_softmax(&self.leaves, D::Minus1)?;
        let mixture = paths.leaves.matmul(&leaf_logp.exp()?)?;
        let logits = mixture.clamp(1e-30, 1.0)?.log()?.detach();
        let mut balance = self.balance.borrow_mut();
        let update = matches!(mode, Mode::Train(_));
        let loss = tree_loss(&self.leaves, &p, &paths, t, &self.cfg, &mut balance, update)?;
        Ok((loss, logits))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn path_probabilities_sum_to_one_and_follow_heap_order() -> Result<()> {
        let dev = Device::Cpu;
        let varmap = VarMap::new();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let cfg = TreeConfig {
            depth: 3,
            ..TreeConfig::default()
        };
        let centre = Tensor::new(&[0.1f32, 0.0, -0.3, 0.2, 0.0], &dev)?;
        let tree = SoftTree::new(&varmap, &centre, 4, &cfg, &mut rng, &dev)?;
        let x = Tensor::new(
            &[[0.3f32, -1.0, 2.0, 0.5, -0.2], [1.0, 1.0, -1.0, 0.0, 0.4]],
            &dev,
        )?;
        let (p, paths) = tree.paths(&x)?;
        let sums = paths.leaves.sum(1)?.to_vec1::<f32>()?;
        assert!(sums.iter().all(|s| (s - 1.0).abs() < 1e-5), "{sums:?}");
        // Leaf 5 = right at the root, left at node 2, right at node 5.
        let p = p.to_vec2::<f32>()?;
        let want = p[0][0] * (1.0 - p[0][2]) * p[0][5];
        let got = paths.leaves.to_vec2::<f32>()?[0][5];
        assert!((got - want).abs() < 1e-6, "{got} vs {want}");
        // Node 4 (right child of 1, the root's left child) is reached with P(left at 0) · P(right at 1).
        let want = (1.0 - p[0][0]) * p[0][1];
        let got = paths.inner.to_vec2::<f32>()?[0][4];
        assert!((got - want).abs() < 1e-6, "{got} vs {want}");
        // The saved (uncentred) bias gives the same node responses on raw x.
        let folded = x
            .matmul(&tree.weight.t()?)?
            .broadcast_add(&tree.saved_bias()?)?;
        let diff = (folded - tree.node_logits(&x)?)?
            .abs()?
            .max_all()?
            .to_scalar::<f32>()?;
        assert!(diff < 1e-5, "{diff}");
        Ok(())
    }

    #[test]
    fn median_init_sends_rows_to_every_leaf_evenly() -> Result<()> {
        let dev = Device::Cpu;
        let varmap = VarMap::new();
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let cfg = TreeConfig {
            depth: 4,
            ..TreeConfig::default()
        };
        // Skewed inputs: every feature positive, so zero biases send rows one way.
        let x = (Tensor::rand(0f32, 1.0, (1600, 12), &dev)? * 3.0)?;
        let tree = SoftTree::new(
            &varmap,
            &Tensor::zeros(12, DType::F32, &dev)?,
            3,
            &cfg,
            &mut rng,
            &dev,
        )?;
        let count = |tree: &SoftTree| -> Result<Vec<usize>> {
            let mut n = vec![0usize; 16];
            tree.max_path_leaves(&x)?
                .iter()
                .for_each(|&l| n[l as usize] += 1);
            Ok(n)
        };
        let before = count(&tree)?;
        tree.split_at_medians(&varmap, &x)?;
        let after = count(&tree)?;
        assert!(before.iter().filter(|&&n| n == 0).count() > 0, "{before:?}");
        // 1600 rows halved four times: 100 per leaf, give or take the median's row.
        assert!(after.iter().all(|&n| (96..=104).contains(&n)), "{after:?}");
        Ok(())
    }

    #[test]
    fn beta_follows_its_geometric_schedule() -> Result<()> {
        let dev = Device::Cpu;
        let cfg = TreeConfig {
            depth: 2,
            beta: 0.5,
            beta_final: Some(8.0),
            ..TreeConfig::default()
        };
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let tree = SoftTree::new(
            &VarMap::new(),
            &Tensor::zeros(3, DType::F32, &dev)?,
            2,
            &cfg,
            &mut rng,
            &dev,
        )?;
        for (epoch, want) in [(0, 0.5f32), (2, 2.0), (4, 8.0)] {
            tree.start_epoch(epoch, 5);
            assert!(
                (tree.beta()? - want).abs() < 1e-5,
                "epoch {epoch}: {}",
                tree.beta()?
            );
        }
        Ok(())
    }

    #[test]
    fn max_path_follows_the_sign() {
        // Root right (2), node 2 left (5), node 5 right → leaf 12 − 7 = 5.
        let mut z = vec![0.0f32; 7];
        z[0] = 1.0;
        z[2] = -0.5;
        z[5] = 0.1;
        let (leaf, path) = leaf_of(&z, 3);
        assert_eq!(leaf, 5);
        assert_eq!(path, vec![(0, true), (2, false), (5, true)]);
        // Exactly zero goes left, as in export and the runtime (`acc > 0`).
        assert_eq!(leaf_of(&[0.0], 1).0, 0);
    }
}
