//! A hand-written training step for CNNs on the CPU, generic over the layer list of
//! [`runtime_nostd::format::cnn::Plan`] (conv, dwconv, max/avg pool, gap, dense; images
//! `[C, H, W]` or sequences `[C, T]`), with inverted dropout on the inputs of chosen layers.
//! Forward, loss gradient and backward run over buffers allocated once; the update is
//! [`FusedAdamW`]'s on the model's own parameters, so checkpoints, validation and saving are
//! untouched. It serves the CNN teacher ([`crate::nn::Cnn`]) and any model whose parameters
//! are PyTorch-shaped tensors per weighted layer.
//!
//! How: the layers before the flatten run per sample group on channels-last activations,
//! the batch split between workers in parallel (each with its own scratch and gradient sums):
//! a conv is im2col + one `gemm` call for the forward pass, one for the weight gradient and
//! one (+ col2im) for the input gradient; max-pool keeps its winners' indices. The dense
//! layers after the flatten run over the whole batch as in [`crate::nn::fast_mlp`].
//!
//! Why by hand: candle's autograd allocates, zero-fills and accumulates a tensor per op and
//! per gradient; on the CNN teacher its gemm was ~30% of an epoch. Its reference twin is that
//! autograd path: the tests train both and compare every parameter.
mod conv;
mod dense;
mod pool;
mod spatial;

use candle_core::{DType, Result, Tensor};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use runtime_nostd::format::cnn::{Layer, Plan};

use crate::nn::fast_mlp::{Targets, count_correct, cpu_f32, head};
use crate::training::optim::FusedAdamW;
use dense::DenseStack;
use spatial::{Op, Shared, Spatial, Worker};

/// Inverted dropout with probability `p` on the input of layer `before` of the plan (the
/// teacher's: `before` its first dense layer, on the flattened activation, and before its
/// last). Masks are drawn per element in `[B, C, H, W]` order, as candle's path draws them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dropout {
    pub before: usize,
    pub p: f32,
}

/// Unfolded-input bytes one im2col + gemm call aims at: `gemm` packs its operands per call,
/// and on the teacher's second conv (225 KB per sample) 4 samples per call ran its products
/// at ~75 GFLOPS on one core here against ~55 for one sample.
const COLS_BYTES: usize = 1 << 20;
/// Random words drawn per call when filling dropout masks.
const MASK_CHUNK: usize = 4096;
/// Workers per rayon thread: more than one balances a machine shared with other work.
const WORKERS_PER_THREAD: usize = 4;

/// A spatial layer's geometry on one sample: input `[H, W, C]` → output `[OH, OW, OC]`,
/// windows KH×KW with stride `stride` and padding (`ph`, `pw`) on each side.
#[derive(Clone, Copy, Debug)]
struct Geom {
    c: usize,
    h: usize,
    w: usize,
    oc: usize,
    oh: usize,
    ow: usize,
    kh: usize,
    kw: usize,
    stride: usize,
    ph: usize,
    pw: usize,
}

impl Geom {
    fn in_len(&self) -> usize {
        self.c * self.h * self.w
    }

    fn out_len(&self) -> usize {
        self.oc * self.oh * self.ow
    }
}

/// A layer's parameter tensors and where the optimizer keeps them.
struct Weighted {
    weight: Tensor,
    bias: Tensor,
    /// Optimizer indices of the weight and the bias.
    slots: (usize, usize),
    /// For a conv (dwconv: `true`), the geometry its weights are packed for.
    conv: Option<(Geom, bool)>,
}

pub struct FastCnn {
    /// The layers before the first dense one.
    spatial: Vec<Spatial>,
    /// Every weighted layer in plan order (convs first, then the dense ones).
    weighted: Vec<Weighted>,
    /// This step's parameter values per weighted layer (conv weights packed).
    values: Vec<(Vec<f32>, Vec<f32>)>,
    /// Dropout probability on each layer's input (0: none).
    dropout: Vec<f32>,
    /// The drawn multipliers per layer input, `[batch, len]` in CHW order (empty: none).
    masks: Vec<Vec<f32>>,
    /// Values of each layer's input per sample.
    lens: Vec<usize>,
    workers: Vec<Worker>,
    group: usize,
    /// The lowest weighted spatial layer.
    lowest: Option<usize>,
    dense: DenseStack,
    /// Optimizer indices of the dense layers' weights and biases.
    dense_slots: Vec<(usize, usize)>,
    /// Random words for the dropout masks.
    bits: Vec<u32>,
    batch: usize,
    grads: Vec<Vec<f32>>,
}

impl Weighted {
    /// Values of its weights in the layout the step computes with.
    fn packed_len(&self) -> usize {
        match &self.conv {
            Some((g, depthwise)) => conv::packed_len(g, *depthwise),
            None => self.weight.elem_count(),
        }
    }
}

impl FastCnn {
    /// The step for the network `plan` whose weighted layers (conv, dwconv, dense, in plan
    /// order) hold `params` = (weight, bias): conv `[O, C, KH, KW]`, dwconv `[C, 1, KH, KW]`,
    /// dense `[O, I]` with I in CHW flatten order, biases `[O]` (PyTorch's layouts); batches
    /// of up to `batch` rows. `None` when these are not exactly `opt`'s variables or not f32
    /// CPU tensors (then the autograd path trains); an error when the shapes disagree with
    /// the plan or a dropout position is outside it.
    pub fn new(
        plan: &Plan,
        dropout: &[Dropout],
        params: &[(Tensor, Tensor)],
        opt: &FusedAdamW,
        batch: usize,
    ) -> Result<Option<Self>> {
        let seq = plan.is_sequence();
        let expected = plan.layers().iter().filter(|l| l.has_weights()).count();
        if params.len() != expected {
            candle_core::bail!(
                "the plan has {expected} weighted layers but {} parameter pairs were given",
                params.len()
            )
        }
        let usable = |t: &Tensor| t.dtype() == DType::F32 && t.device().is_cpu();
        if opt.len() != 2 * expected || !params.iter().all(|(w, b)| usable(w) && usable(b)) {
            return Ok(None);
        }
        let (mut spatial, mut weighted, mut widths) = (Vec::new(), Vec::new(), Vec::new());
        let mut next = params.iter();
        for (k, (layer, inp, out)) in plan.iter().enumerate() {
            let ((kh, kw), (ph, pw)) = (layer.window(seq), layer.padding(seq));
            let g = Geom {
                c: inp.c,
                h: inp.h,
                w: inp.w,
                oc: out.c,
                oh: out.h,
                ow: out.w,
                kh,
                kw,
                stride: layer.stride(),
                ph,
                pw,
            };
            let (op, shape) = match layer {
                Layer::Conv { .. } => (Some(Op::Conv), vec![out.c, inp.c, kh, kw]),
                Layer::DwConv { .. } => (Some(Op::DwConv), vec![inp.c, 1, kh, kw]),
                Layer::MaxPool(_) => (Some(Op::MaxPool), vec![]),
                Layer::AvgPool(_) => (Some(Op::AvgPool), vec![]),
                Layer::Gap => (Some(Op::Gap), vec![]),
                Layer::Dense(o) => (None, vec![o, inp.len()]),
            };
            if op.is_none() {
                if widths.is_empty() {
                    widths.push(inp.len());
                }
                widths.push(out.c);
            }
            let mut index = None;
            if layer.has_weights() {
                let Some((w, b)) = next.next() else {
                    unreachable!("counted above")
                };
                if w.dims() != shape || b.dims() != [out.c] {
                    candle_core::bail!(
                        "layer {k} ({layer}) has weight {:?} and bias {:?}; the plan needs {shape:?} and [{}]",
                        w.dims(),
                        b.dims(),
                        out.c
                    )
                }
                let slots = match (opt.index_of(w), opt.index_of(b)) {
                    (Some(a), Some(b)) => (a, b),
                    _ => return Ok(None),
                };
                index = Some(weighted.len());
                weighted.push(Weighted {
                    weight: w.clone(),
                    bias: b.clone(),
                    slots,
                    conv: op.map(|op| (g, op == Op::DwConv)),
                });
            }
            if let Some(op) = op {
                spatial.push(Spatial {
                    op,
                    g,
                    weighted: index,
                    raw: false,
                    relu: false,
                });
            }
        }
        let layers = plan.layers().len();
        let mut p = vec![0f32; layers];
        for d in dropout {
            if d.before >= layers || !(0.0..1.0).contains(&d.p) {
                candle_core::bail!("dropout {d:?} is not on the input of one of {layers} layers")
            }
            p[d.before] = d.p;
        }
        let lens: Vec<usize> = (0..layers)
            .map(|k| plan.input_of(k).map_or(0, |s| s.len()))
            .collect();
        let masks = p
            .iter()
            .zip(&lens)
            .map(|(&p, &len)| {
                if p > 0.0 {
                    vec![0f32; batch * len]
                } else {
                    Vec::new()
                }
            })
            .collect();
        for k in 1..spatial.len() {
            // Not across a dropout: that multiplies the conv's ReLU'd output.
            if spatial[k - 1].op == Op::Conv && spatial[k].op == Op::MaxPool && p[k] == 0.0 {
                spatial[k - 1].raw = true;
                spatial[k].relu = true;
            }
        }
        let lowest = spatial.iter().position(|l| l.weighted.is_some());
        let (workers, group) = workers(&spatial, &weighted, batch);
        Ok(Some(FastCnn {
            values: weighted
                .iter()
                .map(|w| (vec![0f32; w.packed_len()], vec![0f32; w.bias.elem_count()]))
                .collect(),
            grads: opt.lens().into_iter().map(|n| vec![0f32; n]).collect(),
            dense: DenseStack::new(widths, batch),
            bits: vec![0u32; MASK_CHUNK],
            dense_slots: weighted
                .iter()
                .filter(|w| w.conv.is_none())
                .map(|w| w.slots)
                .collect(),
            spatial,
            weighted,
            dropout: p,
            masks,
            lens,
            workers,
            group,
            lowest,
            batch,
        }))
    }

    /// One training step on the rows `rows` of `x` (`[N, C·H·W]`, CHW, normalized); returns
    /// the loss and how many rows the logits classified as their label. Dropout masks are
    /// drawn from `rng` in the order the autograd path draws them.
    pub fn step(
        &mut self,
        x: &[f32],
        rows: &[u32],
        targets: &Targets,
        rng: &mut ChaCha8Rng,
        opt: &mut FusedAdamW,
    ) -> Result<(f64, usize)> {
        let b = rows.len();
        let features = self.lens[0];
        if b > self.batch || targets.labels.len() != b || !x.len().is_multiple_of(features.max(1)) {
            candle_core::bail!(
                "a step of {b} rows ({} labels, batch {}) on inputs of {features} values",
                targets.labels.len(),
                self.batch
            )
        }
        self.load_values()?;
        self.forward(x, rows, rng);
        let classes = self.dense.classes();
        let logits = &self.dense.acts[self.dense.acts.len() - 1][..b * classes];
        let correct = count_correct(logits, classes, targets.labels);
        let loss = head::loss_and_grad(logits, classes, targets, &mut self.dense.dz[..b * classes]);
        if !loss.is_finite() {
            return Ok((loss, correct));
        }
        self.backward(b);
        opt.step_slices(&self.grads)?;
        Ok((loss, correct))
    }

    /// Copies this step's parameters in (conv weights packed); the update then writes them.
    fn load_values(&mut self) -> Result<()> {
        for (wt, (w, b)) in self.weighted.iter().zip(&mut self.values) {
            let (ws, wl) = wt.weight.storage_and_layout();
            let (bs, bl) = wt.bias.storage_and_layout();
            let (wv, bv) = (cpu_f32(&ws, wl)?, cpu_f32(&bs, bl)?);
            match &wt.conv {
                Some((g, depthwise)) => conv::pack(g, *depthwise, (wv, bv), w),
                None => w.copy_from_slice(wv),
            }
            b.copy_from_slice(bv);
        }
        Ok(())
    }

    fn shared(&self) -> Shared<'_> {
        Shared {
            layers: &self.spatial,
            values: &self.values,
            masks: &self.masks,
            group: self.group,
            lowest: self.lowest,
        }
    }

    /// Forward pass; draws the dropout masks on the way, in layer order. Those after the
    /// convolutions are drawn while the workers run them (one RNG stream: a serial draw of
    /// ~400 k values per teacher step).
    fn forward(&mut self, x: &[f32], rows: &[u32], rng: &mut ChaCha8Rng) {
        let b = rows.len();
        let d = self.spatial.len();
        let fl = self.lens[d];
        let (early, late) = self.masks.split_at_mut(d);
        let (p_early, p_late) = self.dropout.split_at(d);
        let (l_early, l_late) = self.lens.split_at(d);
        draw(early, p_early, l_early, b, rng, &mut self.bits);
        let mut flat = std::mem::take(&mut self.dense.acts[0]);
        if d == 0 {
            draw(late, p_late, l_late, b, rng, &mut self.bits);
            for (dst, &r) in flat.chunks_exact_mut(fl).zip(rows) {
                let r = r as usize;
                dst.copy_from_slice(&x[r * fl..(r + 1) * fl]);
            }
        } else {
            let per = b.div_ceil(self.workers.len());
            let shared = Shared {
                layers: &self.spatial,
                values: &self.values,
                masks: early,
                group: self.group,
                lowest: self.lowest,
            };
            let (workers, bits) = (&mut self.workers, &mut self.bits);
            rayon::join(
                || draw(late, p_late, l_late, b, rng, bits),
                || {
                    workers
                        .par_iter_mut()
                        .zip(flat[..b * fl].par_chunks_mut(per * fl))
                        .enumerate()
                        .for_each(|(w, (worker, chunk))| {
                            let start = w * per;
                            let n = chunk.len() / fl;
                            worker.forward(&shared, x, &rows[start..start + n], start, chunk);
                        })
                },
            );
        }
        if let Some(mask) = self.masks.get(d).filter(|m| !m.is_empty()) {
            flat[..b * fl]
                .iter_mut()
                .zip(mask)
                .for_each(|(v, m)| *v *= m);
        }
        self.dense.acts[0] = flat;
        let sw = self.spatial_weighted();
        self.dense
            .forward(b, &self.values[sw..], &self.masks[d + 1..]);
    }

    /// How many weighted layers come before the flatten.
    fn spatial_weighted(&self) -> usize {
        self.weighted.iter().filter(|w| w.conv.is_some()).count()
    }

    fn backward(&mut self, b: usize) {
        let sw = self.spatial_weighted();
        self.dense.backward(
            b,
            &self.values[sw..],
            &self.dense_slots,
            &mut self.grads,
            self.lowest.is_some(),
        );
        if self.lowest.is_none() {
            return;
        }
        let fl = self.lens[self.spatial.len()];
        let per = b.div_ceil(self.workers.len());
        let d_flat = std::mem::take(&mut self.dense.da);
        let mut workers = std::mem::take(&mut self.workers);
        let shared = self.shared();
        workers.par_iter_mut().enumerate().for_each(|(w, worker)| {
            let (s, e) = ((w * per).min(b), ((w + 1) * per).min(b));
            worker.backward(&shared, &d_flat[s * fl..e * fl], s);
        });
        self.dense.da = d_flat;
        let (first, rest) = workers.split_first_mut().expect("at least one worker");
        for (j, wt) in self.weighted[..sw].iter().enumerate() {
            for other in rest.iter() {
                first.dw[j]
                    .iter_mut()
                    .zip(&other.dw[j])
                    .for_each(|(a, v)| *a += v);
            }
            let Some((g, depthwise)) = &wt.conv else {
                continue;
            };
            let (ws, bs) = wt.slots;
            let mut gb = std::mem::take(&mut self.grads[bs]);
            conv::unpack(g, *depthwise, &first.dw[j], (&mut self.grads[ws], &mut gb));
            if !conv::bias_column(g, *depthwise) {
                gb.copy_from_slice(&first.db[j]);
                for other in rest.iter() {
                    gb.iter_mut().zip(&other.db[j]).for_each(|(a, v)| *a += v);
                }
            }
            self.grads[bs] = gb;
        }
        self.workers = workers;
    }
}

impl crate::nn::FastStep for FastCnn {
    fn step(
        &mut self,
        x: &[f32],
        rows: &[u32],
        targets: &Targets,
        rng: &mut ChaCha8Rng,
        opt: &mut FusedAdamW,
    ) -> Result<(f64, usize)> {
        FastCnn::step(self, x, rows, targets, rng, opt)
    }
}

/// Draws the dropout multipliers of `b` samples at each position with a probability:
/// `rng.random::<f32>() < p` per value in order (0, else 1/(1 − p)), as candle's path draws
/// them, from words taken in bulk (the same stream: ChaCha's `fill` consumes whole words).
fn draw(
    masks: &mut [Vec<f32>],
    dropout: &[f32],
    lens: &[usize],
    b: usize,
    rng: &mut ChaCha8Rng,
    bits: &mut [u32],
) {
    for ((mask, &p), &len) in masks.iter_mut().zip(dropout).zip(lens) {
        if p <= 0.0 {
            continue;
        }
        let keep = 1.0 / (1.0 - p);
        for chunk in mask[..b * len].chunks_mut(bits.len()) {
            let bits = &mut bits[..chunk.len()];
            rng.fill(bits);
            for (m, &u) in chunk.iter_mut().zip(bits.iter()) {
                // rand's `StandardUniform` f32: the top 24 bits over 2^24.
                let r = (u >> 8) as f32 * (1.0 / (1u32 << 24) as f32);
                *m = if r < p { 0.0 } else { keep };
            }
        }
    }
}

/// The workers for batches of `batch` rows and the samples each im2col + gemm call takes.
fn workers(spatial: &[Spatial], weighted: &[Weighted], batch: usize) -> (Vec<Worker>, usize) {
    if spatial.is_empty() {
        return (Vec::new(), 1);
    }
    let count = (WORKERS_PER_THREAD * rayon::current_num_threads()).clamp(1, batch.max(1));
    let cap = batch.max(1).div_ceil(count);
    let cols = spatial
        .iter()
        .filter(|l| l.op == Op::Conv)
        .map(|l| l.g.oh * l.g.ow * conv::width(&l.g) * 4)
        .max()
        .unwrap_or(1);
    let group = (COLS_BYTES / cols.max(1)).clamp(1, cap);
    let sizes: Vec<(usize, usize)> = weighted
        .iter()
        .map(|w| match w.conv {
            Some(_) => (w.packed_len(), w.bias.elem_count()),
            None => (0, 0),
        })
        .collect();
    let workers = (0..count)
        .map(|_| Worker::new(spatial, cap, group, &sizes))
        .collect();
    (workers, group)
}

#[cfg(test)]
mod tests;
