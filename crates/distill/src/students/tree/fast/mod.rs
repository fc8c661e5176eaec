//! A hand-written training step for the soft decision tree on the CPU: the loss of
//! [`crate::students::tree::loss`] and its gradient, written out over buffers allocated once, with the
//! two big products (node responses, weight gradient) through `gemm`; the update is
//! [`FusedAdamW`]'s on the tree's own parameters, so checkpoints, validation and saving are
//! untouched.
//!
//! Why by hand: a depth-8 tree's autograd step builds ~60 small tensors (one per level for
//! the path probabilities, the balance averages, the leaf terms) and spent 4.3 s per
//! Fashion-MNIST epoch where its matmuls need well under one. Its reference twin is that
//! autograd path: the tests train both and compare every parameter.
//!
//! The gradient, with P_bℓ the probability that row b reaches leaf ℓ and M_bℓ the loss of that
//! leaf for that row (loss = Σ P∘M + λ·penalty):
//! * leaves: CE's d/dφ_ℓ is Σ_b w_bℓ (q_ℓ − e_y), KL's Σ_b v_bℓ (q_ℓ^T − p_t,b)/T;
//! * routing: node n with reach r_n splits into r_n(1 − p_n) and r_n p_n, so
//!   dL/dp_n = r_n (g_right − g_left) and dL/dr_n = g_left (1 − p_n) + g_right p_n, from the
//!   deepest level up; then dz = dL/dp · β p (1 − p), dW = dzᵀ (x − centre).
mod balance;

use candle_core::Result;

use crate::nn::fast_mlp::gemm::{View, matmul};
use crate::nn::fast_mlp::head::{Targets, log_softmax_into};
use crate::nn::fast_mlp::{count_correct, cpu_f32, host_vec};
use crate::students::tree::SoftTree;
use crate::training::optim::FusedAdamW;

pub struct FastTree {
    features: usize,
    classes: usize,
    inner: usize,
    leaves: usize,
    /// Optimizer indices of the node weights, node biases, leaf logits and (learned) log β.
    slots: [usize; 3],
    log_beta_slot: Option<usize>,
    centre: Vec<f32>,
    /// Centred batch inputs `[B, F]`.
    x: Vec<f32>,
    /// Node responses w·x + b, right-branch probabilities, and the probability of reaching
    /// each inner node, `[B, N]`; then d loss / d p and / d reach.
    z: Vec<f32>,
    p: Vec<f32>,
    reach: Vec<f32>,
    gp: Vec<f32>,
    gr: Vec<f32>,
    /// Leaf reach probabilities P and per-leaf losses M, `[B, L]`.
    leaf_reach: Vec<f32>,
    leaf_loss: Vec<f32>,
    /// Scratch `[B, L]` and `[B, C]` / `[L, C]` buffers.
    tmp_bl: Vec<f32>,
    tmp_bc: Vec<f32>,
    tmp_lc: Vec<f32>,
    grads: Vec<Vec<f32>>,
}

/// [`FastTree`] bound to the tree it trains.
pub struct TreeStep<'m>(pub &'m SoftTree, pub Box<FastTree>);

impl crate::nn::FastStep for TreeStep<'_> {
    fn step(
        &mut self,
        x: &[f32],
        rows: &[u32],
        targets: &Targets,
        _rng: &mut rand_chacha::ChaCha8Rng,
        opt: &mut FusedAdamW,
    ) -> Result<(f64, usize)> {
        self.1.step(self.0, x, rows, targets, opt)
    }
}

impl FastTree {
    /// `None` when `opt` does not hold exactly this tree's parameters.
    pub fn new(tree: &SoftTree, opt: &FusedAdamW, batch: usize) -> Result<Option<Self>> {
        let (inner, features) = tree.weight.dims2()?;
        let (leaves, classes) = tree.leaves.dims2()?;
        let log_beta_slot = match tree.log_beta() {
            Some(l) => match opt.index_of(l) {
                Some(i) => Some(i),
                None => return Ok(None),
            },
            None => None,
        };
        let slots = match (
            opt.index_of(&tree.weight),
            opt.index_of(&tree.bias),
            opt.index_of(&tree.leaves),
        ) {
            (Some(w), Some(b), Some(l)) => [w, b, l],
            _ => return Ok(None),
        };
        if opt.len() != 3 + usize::from(log_beta_slot.is_some()) || leaves != inner + 1 {
            return Ok(None);
        }
        let bn = batch * inner;
        Ok(Some(FastTree {
            features,
            classes,
            inner,
            leaves,
            slots,
            log_beta_slot,
            centre: host_vec(tree.centre())?,
            x: vec![0.0; batch * features],
            z: vec![0.0; bn],
            p: vec![0.0; bn],
            reach: vec![0.0; bn],
            gp: vec![0.0; bn],
            gr: vec![0.0; bn],
            leaf_reach: vec![0.0; batch * leaves],
            leaf_loss: vec![0.0; batch * leaves],
            tmp_bl: vec![0.0; batch * leaves],
            tmp_bc: vec![0.0; batch * classes],
            tmp_lc: vec![0.0; leaves * classes],
            grads: opt.lens().into_iter().map(|n| vec![0f32; n]).collect(),
        }))
    }

    /// One training step on the rows `rows` of `x` (`[N, F]`, normalized); returns the loss
    /// and how many rows the soft tree's mixture classified as their label.
    pub fn step(
        &mut self,
        tree: &SoftTree,
        x: &[f32],
        rows: &[u32],
        targets: &Targets,
        opt: &mut FusedAdamW,
    ) -> Result<(f64, usize)> {
        let (b, f, n, l, c) = (
            rows.len(),
            self.features,
            self.inner,
            self.leaves,
            self.classes,
        );
        for (dst, &r) in self.x.chunks_exact_mut(f).zip(rows) {
            let src = &x[r as usize * f..(r as usize + 1) * f];
            for ((d, s), m) in dst.iter_mut().zip(src).zip(&self.centre) {
                *d = s - m;
            }
        }
        let beta = tree.beta()?;
        let (wg, bg, lg) = (
            tree.weight.storage_and_layout(),
            tree.bias.storage_and_layout(),
            tree.leaves.storage_and_layout(),
        );
        let (w, bias, phi) = (
            cpu_f32(&wg.0, wg.1)?,
            cpu_f32(&bg.0, bg.1)?,
            cpu_f32(&lg.0, lg.1)?,
        );
        let xv = View::rows(&self.x[..b * f], b, f);
        matmul(&mut self.z[..b * n], xv, View::rows(w, n, f).t());
        for row in self.z[..b * n].chunks_exact_mut(n) {
            row.iter_mut().zip(bias).for_each(|(v, bb)| *v += bb);
        }
        self.route(b, beta);
        let mut loss = self.leaf_terms(b, phi, targets);
        let mix = &mut self.tmp_bc[..b * c];
        matmul(
            mix,
            View::rows(&self.leaf_reach[..b * l], b, l),
            View::rows(&self.tmp_lc, l, c),
        );
        let correct = count_correct(mix, c, targets.labels);
        let cfg = tree.config();
        if cfg.balance > 0.0 {
            let mut state = tree.balance().borrow_mut();
            let pen = balance::penalty_and_grad(
                &self.p[..b * n],
                &self.reach[..b * n],
                n,
                cfg,
                &mut state,
                &mut self.gp[..b * n],
                &mut self.gr[..b * n],
            );
            loss += cfg.balance * pen;
        } else {
            self.gp[..b * n].fill(0.0);
            self.gr[..b * n].fill(0.0);
        }
        if !loss.is_finite() {
            return Ok((loss, correct));
        }
        self.leaf_grads(b, phi, targets);
        self.backprop_routing(b, beta);
        let dz = View::rows(&self.gp[..b * n], b, n);
        let xv = View::rows(&self.x[..b * f], b, f);
        matmul(&mut self.grads[self.slots[0]], dz.t(), xv);
        let gb = &mut self.grads[self.slots[1]];
        gb.fill(0.0);
        for row in self.gp[..b * n].chunks_exact(n) {
            gb.iter_mut().zip(row).for_each(|(g, d)| *g += d);
        }
        drop((wg, bg, lg));
        opt.step_slices(&self.grads)?;
        Ok((loss, correct))
    }

    /// p = σ(β z) and the reach probabilities of every node, parents before children.
    fn route(&mut self, b: usize, beta: f32) {
        let (n, l) = (self.inner, self.leaves);
        for (p, z) in self.p[..b * n].iter_mut().zip(&self.z[..b * n]) {
            *p = 1.0 / (1.0 + (-beta * z).exp());
        }
        for row in 0..b {
            let p = &self.p[row * n..(row + 1) * n];
            let reach = &mut self.reach[row * n..(row + 1) * n];
            let leaf = &mut self.leaf_reach[row * l..(row + 1) * l];
            reach[0] = 1.0;
            for node in 0..n {
                let r = reach[node];
                let right = r * p[node];
                let (cl, cr) = (2 * node + 1, 2 * node + 2);
                if cl < n {
                    reach[cl] = r - right;
                    reach[cr] = right;
                } else {
                    leaf[cl - n] = r - right;
                    leaf[cr - n] = right;
                }
            }
        }
    }

    /// Fills the per-leaf losses M (`leaf_loss`), leaves softmax(φ) in `tmp_lc`, and returns
    /// Σ P∘M.
    fn leaf_terms(&mut self, b: usize, phi: &[f32], t: &Targets) -> f64 {
        let (l, c) = (self.leaves, self.classes);
        let mut logq = vec![0f64; c];
        let mut row_p = vec![0f64; c];
        for (leaf, q) in self.tmp_lc.chunks_exact_mut(c).enumerate() {
            let z = &phi[leaf * c..(leaf + 1) * c];
            let lse = log_softmax_into(z, 1.0, &mut row_p);
            q.iter_mut().zip(&row_p).for_each(|(d, s)| *d = *s as f32);
            for (k, lq) in logq.iter_mut().enumerate() {
                *lq = z[k] as f64 - lse;
            }
            // Column `leaf` of −log q[y_b]: written row by row below.
            for row in 0..b {
                self.leaf_loss[row * l + leaf] = -logq[t.labels[row] as usize] as f32;
            }
        }
        let (cw, kd) = weights(t, b);
        for (m, w) in self.leaf_loss.chunks_exact_mut(l).zip(&cw) {
            m.iter_mut().for_each(|v| *v *= w);
        }
        if let (Some((teacher, kd)), Some(kw)) = (t.teacher, kd) {
            // KL_bℓ = Σ p_t log p_t − p_t · log q_ℓ^T: the cross term is one product.
            let (temp, st) = (kd.temperature, kd.student_temperature());
            let mut logqt = vec![0f32; l * c];
            for (leaf, dst) in logqt.chunks_exact_mut(c).enumerate() {
                let z = &phi[leaf * c..(leaf + 1) * c];
                let lse = log_softmax_into(z, st, &mut row_p);
                for (d, &zk) in dst.iter_mut().zip(z) {
                    *d = (zk as f64 / st - lse) as f32;
                }
            }
            let mut neg_entropy = vec![0f64; b];
            for (row, ne) in neg_entropy.iter_mut().enumerate() {
                let tz = &teacher[row * c..(row + 1) * c];
                let lse = log_softmax_into(tz, temp, &mut row_p);
                for k in 0..c {
                    let pt = row_p[k];
                    self.tmp_bc[row * c + k] = pt as f32;
                    *ne += pt * (tz[k] as f64 / temp - lse);
                }
            }
            let cross = &mut self.tmp_bl[..b * l];
            matmul(
                cross,
                View::rows(&self.tmp_bc[..b * c], b, c),
                View::rows(&logqt, l, c).t(),
            );
            for row in 0..b {
                let m = &mut self.leaf_loss[row * l..(row + 1) * l];
                let x = &cross[row * l..(row + 1) * l];
                for (v, xc) in m.iter_mut().zip(x) {
                    *v += (kw * (neg_entropy[row] - *xc as f64)) as f32;
                }
            }
        }
        self.leaf_reach[..b * l]
            .iter()
            .zip(&self.leaf_loss[..b * l])
            .map(|(&p, &m)| p as f64 * m as f64)
            .sum()
    }

    /// d loss / d φ into the leaves' gradient slot (the teacher's p_t is recomputed: `tmp_bc`
    /// has held the mixture since `leaf_terms`).
    fn leaf_grads(&mut self, b: usize, phi: &[f32], t: &Targets) {
        let (l, c) = (self.leaves, self.classes);
        let (cw, kd) = weights(t, b);
        let g = &mut self.grads[self.slots[2]];
        g.fill(0.0);
        let mut row_p = vec![0f64; c];
        // CE: Σ_b w_bℓ (q_ℓ − e_{y_b}) with w_bℓ = cw_b P_bℓ.
        let mut mass = vec![0f64; l];
        for ((pr, &y), &cwr) in self.leaf_reach.chunks_exact(l).zip(t.labels).zip(&cw) {
            let y = y as usize;
            for (leaf, &p) in pr.iter().enumerate() {
                let w = cwr as f64 * p as f64;
                mass[leaf] += w;
                g[leaf * c + y] -= w as f32;
            }
        }
        for (leaf, gl) in g.chunks_exact_mut(c).enumerate() {
            let z = &phi[leaf * c..(leaf + 1) * c];
            log_softmax_into(z, 1.0, &mut row_p);
            for (gk, q) in gl.iter_mut().zip(&row_p) {
                *gk += (q * mass[leaf]) as f32;
            }
        }
        let (Some((teacher, kd)), Some(kw)) = (t.teacher, kd) else {
            return;
        };
        // KL: Σ_b v_bℓ (q_ℓ^T − p_t,b) / T with v_bℓ = kw P_bℓ.
        let temp = kd.temperature;
        for (tz, dst) in teacher.chunks_exact(c).zip(self.tmp_bc.chunks_exact_mut(c)) {
            log_softmax_into(tz, temp, &mut row_p);
            dst.iter_mut().zip(&row_p).for_each(|(d, s)| *d = *s as f32);
        }
        let vt_pt = &mut self.tmp_lc;
        matmul(
            vt_pt,
            View::rows(&self.leaf_reach[..b * l], b, l).t(),
            View::rows(&self.tmp_bc[..b * c], b, c),
        );
        let st = kd.student_temperature();
        let f = kw / st;
        for (leaf, gl) in g.chunks_exact_mut(c).enumerate() {
            let z = &phi[leaf * c..(leaf + 1) * c];
            log_softmax_into(z, st, &mut row_p);
            let mass: f64 = (0..b).map(|r| self.leaf_reach[r * l + leaf] as f64).sum();
            for k in 0..c {
                let d = row_p[k] * mass - vt_pt[leaf * c + k] as f64;
                gl[k] += (f * d) as f32;
            }
        }
    }

    /// From d loss / d P (= M) and the balance terms already in `gp`/`gr` down to d loss / dz
    /// (left in `gp`), and d loss / d log β when β is learned.
    fn backprop_routing(&mut self, b: usize, beta: f32) {
        let (n, l) = (self.inner, self.leaves);
        let mut dlog_beta = 0f64;
        for row in 0..b {
            let p = &self.p[row * n..(row + 1) * n];
            let reach = &self.reach[row * n..(row + 1) * n];
            let z = &self.z[row * n..(row + 1) * n];
            let gleaf = &self.leaf_loss[row * l..(row + 1) * l];
            let gp = &mut self.gp[row * n..(row + 1) * n];
            let gr = &mut self.gr[row * n..(row + 1) * n];
            for node in (0..n).rev() {
                let (cl, cr) = (2 * node + 1, 2 * node + 2);
                let (g_left, g_right) = if cl < n {
                    (gr[cl], gr[cr])
                } else {
                    (gleaf[cl - n], gleaf[cr - n])
                };
                let pn = p[node];
                gp[node] += reach[node] * (g_right - g_left);
                gr[node] += g_left * (1.0 - pn) + g_right * pn;
                let dsig = pn * (1.0 - pn);
                if self.log_beta_slot.is_some() {
                    dlog_beta += (gp[node] * dsig * z[node] * beta) as f64;
                }
                gp[node] *= beta * dsig;
            }
        }
        if let Some(slot) = self.log_beta_slot {
            self.grads[slot][0] = dlog_beta as f32;
        }
    }
}

/// Per-row weight of the label term (α·mask / labelled rows) and the soft term's weight
/// (1 − α)·scale / B, when the batch is distilled.
fn weights(t: &Targets, b: usize) -> (Vec<f32>, Option<f64>) {
    let (alpha, kd) = match t.teacher {
        Some((_, kd)) if kd.alpha < 1.0 => (kd.alpha, Some(kd)),
        _ => (1.0, None),
    };
    let labelled = match t.mask {
        Some(m) => m.iter().map(|&v| v as f64).sum::<f64>().max(1.0),
        None => b as f64,
    };
    let cw = (0..b)
        .map(|i| (alpha * t.mask.map_or(1.0, |m| m[i] as f64) / labelled) as f32)
        .collect();
    let kw = kd.map(|kd| {
        let scale = if kd.t_squared {
            kd.temperature * kd.temperature
        } else {
            1.0
        };
        (1.0 - alpha) * scale / b as f64
    });
    (cw, kw)
}

#[cfg(test)]
mod tests;
