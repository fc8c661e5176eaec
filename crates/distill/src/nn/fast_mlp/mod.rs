//! A hand-written training step for MLPs on the CPU: forward, loss gradient and backward over
//! buffers allocated once, through the same `gemm` crate candle's matmul uses; the update is
//! [`FusedAdamW`]'s, on the model's own parameters, so checkpoints, validation and saving are
//! untouched.
//!
//! Why by hand: candle's autograd allocates, zero-fills and accumulates a tensor per op and per
//! gradient, and spends most of a small step outside the matmuls (README, "Training speed").
//! Its reference twin is that autograd path: the tests check this one against it, step by step.
pub(crate) mod gemm;
pub(crate) mod head;

use candle_core::{CpuStorage, Layout, Result, Storage, Tensor};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::nn::Mlp;
use crate::training::optim::FusedAdamW;
use gemm::{View, matmul};
pub use head::Targets;

pub struct FastMlp {
    /// Input, hidden and output widths.
    widths: Vec<usize>,
    dropout: f32,
    /// For each layer, the indices of its weight and bias in the optimizer's order.
    slots: Vec<(usize, usize)>,
    /// Batch inputs `[B, F]`, then each layer's output `[B, width]` (the last holds logits).
    acts: Vec<Vec<f32>>,
    /// Per hidden layer, d output / d pre-activation: 0, 1 or the dropout keep factor.
    gates: Vec<Vec<f32>>,
    /// Gradient with respect to the current layer's pre-activation, and to its input.
    dz: Vec<f32>,
    da: Vec<f32>,
    /// One gradient buffer per optimizer variable.
    grads: Vec<Vec<f32>>,
}

/// [`FastMlp`] bound to the MLP it trains.
pub struct MlpStep<'m>(pub &'m Mlp, pub FastMlp);

impl crate::nn::FastStep for MlpStep<'_> {
    fn step(
        &mut self,
        x: &[f32],
        rows: &[u32],
        targets: &Targets,
        rng: &mut ChaCha8Rng,
        opt: &mut FusedAdamW,
    ) -> Result<(f64, usize)> {
        self.1.step(self.0, x, rows, targets, rng, opt)
    }
}

impl FastMlp {
    /// `None` when `opt` does not hold exactly this MLP's parameters (then the autograd
    /// path trains it).
    pub fn new(mlp: &Mlp, opt: &FusedAdamW, batch: usize) -> Result<Option<Self>> {
        if mlp.compute_dtype() != candle_core::DType::F32 {
            return Ok(None);
        }
        let mut widths = Vec::new();
        let mut slots = Vec::new();
        for (k, layer) in mlp.layers().iter().enumerate() {
            let (out, inp) = layer.weight().dims2()?;
            let Some(bias) = layer.bias() else {
                return Ok(None);
            };
            if k == 0 {
                widths.push(inp);
            }
            if widths.last() != Some(&inp) || bias.dims() != [out] {
                return Ok(None);
            }
            widths.push(out);
            match (opt.index_of(layer.weight()), opt.index_of(bias)) {
                (Some(w), Some(b)) => slots.push((w, b)),
                _ => return Ok(None),
            }
        }
        if opt.len() != 2 * slots.len() {
            return Ok(None);
        }
        let widest = widths.iter().copied().max().unwrap_or(0);
        let grads = opt.lens().into_iter().map(|n| vec![0f32; n]).collect();
        Ok(Some(FastMlp {
            acts: widths.iter().map(|w| vec![0f32; batch * w]).collect(),
            gates: widths[1..widths.len() - 1]
                .iter()
                .map(|w| vec![0f32; batch * w])
                .collect(),
            dz: vec![0f32; batch * widest],
            da: vec![0f32; batch * widest],
            grads,
            dropout: mlp.dropout(),
            widths,
            slots,
        }))
    }

    /// One training step on the rows `rows` of `x` (`[N, F]`, normalized); returns the loss
    /// and how many rows the logits classified as their label. Dropout masks are drawn from
    /// `rng` in the order the autograd path draws them, so both paths see the same masks.
    pub fn step(
        &mut self,
        mlp: &Mlp,
        x: &[f32],
        rows: &[u32],
        targets: &Targets,
        rng: &mut ChaCha8Rng,
        opt: &mut FusedAdamW,
    ) -> Result<(f64, usize)> {
        let b = rows.len();
        let f = self.widths[0];
        for (dst, &r) in self.acts[0].chunks_exact_mut(f).zip(rows) {
            let r = r as usize;
            dst.copy_from_slice(&x[r * f..(r + 1) * f]);
        }
        let guards = mlp
            .layers()
            .iter()
            .flat_map(|l| [Some(l.weight()), l.bias()])
            .map(|t| t.map(|t| t.storage_and_layout()))
            .collect::<Vec<_>>();
        let mut params = Vec::with_capacity(guards.len() / 2);
        for pair in guards.chunks_exact(2) {
            let [Some(w), Some(b)] = pair else {
                candle_core::bail!("the fast MLP path needs biases")
            };
            params.push((cpu_f32(&w.0, w.1)?, cpu_f32(&b.0, b.1)?));
        }
        let layers = self.slots.len();
        for k in 0..layers {
            let (inp, out) = (self.widths[k], self.widths[k + 1]);
            let (before, after) = self.acts.split_at_mut(k + 1);
            let (a, z) = (&before[k][..b * inp], &mut after[0][..b * out]);
            let (w, bias) = params[k];
            matmul(z, View::rows(a, b, inp), View::rows(w, out, inp).t());
            for row in z.chunks_exact_mut(out) {
                row.iter_mut().zip(bias).for_each(|(v, bb)| *v += bb);
            }
            if k + 1 < layers {
                self.relu_dropout(k, b, rng);
            }
        }
        let classes = self.widths[layers];
        let logits = &self.acts[layers][..b * classes];
        let correct = count_correct(logits, classes, targets.labels);
        let loss = head::loss_and_grad(logits, classes, targets, &mut self.dz[..b * classes]);
        if !loss.is_finite() {
            return Ok((loss, correct));
        }
        for k in (0..layers).rev() {
            let (inp, out) = (self.widths[k], self.widths[k + 1]);
            let dz = &self.dz[..b * out];
            let (wi, bi) = self.slots[k];
            let a = View::rows(&self.acts[k][..b * inp], b, inp);
            matmul(&mut self.grads[wi], View::rows(dz, b, out).t(), a);
            let gb = &mut self.grads[bi];
            gb.fill(0.0);
            for row in dz.chunks_exact(out) {
                gb.iter_mut().zip(row).for_each(|(g, d)| *g += d);
            }
            if k > 0 {
                let da = &mut self.da[..b * inp];
                matmul(
                    da,
                    View::rows(dz, b, out),
                    View::rows(params[k].0, out, inp),
                );
                let gate = &self.gates[k - 1][..b * inp];
                self.dz[..b * inp]
                    .iter_mut()
                    .zip(da.iter().zip(gate))
                    .for_each(|(d, (g, m))| *d = g * m);
            }
        }
        // The update takes each parameter's write lock.
        drop(params);
        drop(guards);
        opt.step_slices(&self.grads)?;
        Ok((loss, correct))
    }

    /// ReLU then inverted dropout on layer `k`'s output, remembering the derivative.
    fn relu_dropout(&mut self, k: usize, b: usize, rng: &mut ChaCha8Rng) {
        let n = b * self.widths[k + 1];
        let (h, gate) = (&mut self.acts[k + 1][..n], &mut self.gates[k][..n]);
        let p = self.dropout;
        let keep = 1.0 / (1.0 - p);
        for (v, g) in h.iter_mut().zip(gate.iter_mut()) {
            let mut m = if *v > 0.0 { 1.0 } else { 0.0 };
            if p > 0.0 {
                m *= if rng.random::<f32>() < p { 0.0 } else { keep };
            }
            *v *= m;
            *g = m;
        }
    }
}

/// The contiguous f32 values of a CPU tensor's storage.
pub(crate) fn cpu_f32<'a>(storage: &'a Storage, layout: &Layout) -> Result<&'a [f32]> {
    match (storage, layout.contiguous_offsets()) {
        (Storage::Cpu(CpuStorage::F32(v)), Some((a, b))) => Ok(&v[a..b]),
        _ => candle_core::bail!("the fast MLP path needs contiguous f32 CPU parameters"),
    }
}

pub(crate) fn count_correct(logits: &[f32], classes: usize, labels: &[u32]) -> usize {
    logits
        .chunks_exact(classes)
        .zip(labels)
        .filter(|(row, y)| {
            let best = row
                .iter()
                .enumerate()
                .fold(
                    (0, f32::NEG_INFINITY),
                    |acc, (i, &v)| {
                        if v > acc.1 { (i, v) } else { acc }
                    },
                );
            best.0 == **y as usize
        })
        .count()
}

/// A tensor's values as one `Vec` (the fast path reads whole datasets once per job).
pub fn host_vec<T: candle_core::WithDType>(t: &Tensor) -> Result<Vec<T>> {
    t.flatten_all()?.to_vec1::<T>()
}

#[cfg(test)]
mod tests;
