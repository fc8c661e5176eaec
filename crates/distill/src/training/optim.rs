//! AdamW. On the CPU a fused, in-place update: candle's `AdamW` builds ~14 temporary tensors
//! per parameter per step and was measured (NOTES.md) to dominate a training step; this one
//! touches each parameter, gradient and moment once. On CUDA candle's own `AdamW` runs.
use std::sync::Mutex;

use candle_core::backprop::GradStore;
use candle_core::{CpuStorage, InplaceOp1, Layout, Storage, Tensor, Var};
use candle_nn::{Optimizer as _, VarMap};
use rayon::prelude::*;

#[derive(Debug, Clone, Copy)]
pub struct AdamWConfig {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        AdamWConfig {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }
}

/// AdamW over a fixed list of variables, CPU-fused or candle's, by device.
pub enum AdamW {
    Fused(FusedAdamW),
    Candle(candle_nn::AdamW),
}

impl AdamW {
    /// Optimizes every variable of `varmap`, in name order.
    pub fn new(varmap: &VarMap, cfg: AdamWConfig) -> candle_core::Result<Self> {
        let mut named: Vec<(String, Var)> = varmap
            .data()
            .lock()
            .map_err(|_| candle_core::Error::Msg("parameter map poisoned".into()))?
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        named.sort_by(|a, b| a.0.cmp(&b.0));
        if named.iter().all(|(_, v)| v.device().is_cpu()) {
            return Ok(AdamW::Fused(FusedAdamW::new(named, cfg)));
        }
        let vars = named.into_iter().map(|(_, v)| v).collect();
        let params = candle_nn::ParamsAdamW {
            lr: cfg.lr,
            beta1: cfg.beta1,
            beta2: cfg.beta2,
            eps: cfg.eps,
            weight_decay: cfg.weight_decay,
        };
        Ok(AdamW::Candle(candle_nn::AdamW::new(vars, params)?))
    }

    pub fn set_lr(&mut self, lr: f64) {
        match self {
            AdamW::Fused(o) => o.cfg.lr = lr,
            AdamW::Candle(o) => o.set_learning_rate(lr),
        }
    }

    pub fn step(&mut self, grads: &GradStore) -> candle_core::Result<()> {
        match self {
            AdamW::Fused(o) => o.step(grads),
            AdamW::Candle(o) => o.step(grads),
        }
    }
}

/// `(parameter name, first moment, second moment)` per variable.
pub type Moments = Vec<(String, Vec<f32>, Vec<f32>)>;

pub struct FusedAdamW {
    names: Vec<String>,
    vars: Vec<Var>,
    moments: Vec<Mutex<(Vec<f32>, Vec<f32>)>>,
    step: u64,
    pub cfg: AdamWConfig,
}

impl FusedAdamW {
    pub fn new(named: Vec<(String, Var)>, cfg: AdamWConfig) -> Self {
        let (names, vars): (Vec<String>, Vec<Var>) = named.into_iter().unzip();
        let moments = vars
            .iter()
            .map(|v| Mutex::new((vec![0.0; v.elem_count()], vec![0.0; v.elem_count()])))
            .collect();
        FusedAdamW {
            names,
            vars,
            moments,
            step: 0,
            cfg,
        }
    }

    /// Step count and `(name, first moment, second moment)` per variable, for checkpoints.
    pub fn state(&self) -> (u64, Moments) {
        let moments = self
            .names
            .iter()
            .zip(&self.moments)
            .map(|(n, m)| {
                let (a, b) = &*m.lock().unwrap_or_else(|e| e.into_inner());
                (n.clone(), a.clone(), b.clone())
            })
            .collect();
        (self.step, moments)
    }

    /// Restores what `state` returned; moments of unknown names or wrong length are errors.
    pub fn restore(&mut self, step: u64, moments: Moments) -> candle_core::Result<()> {
        for (name, m, v) in moments {
            let Some(i) = self.names.iter().position(|n| *n == name) else {
                candle_core::bail!("optimizer state for unknown parameter {name}")
            };
            let mut slot = self.moments[i].lock().unwrap_or_else(|e| e.into_inner());
            if m.len() != slot.0.len() || v.len() != slot.1.len() {
                candle_core::bail!("optimizer state for {name} has the wrong length")
            }
            *slot = (m, v);
        }
        self.step = step;
        Ok(())
    }

    /// Position of the variable holding `t` in this optimizer's (name) order.
    pub fn index_of(&self, t: &Tensor) -> Option<usize> {
        self.vars.iter().position(|v| v.as_tensor().id() == t.id())
    }

    pub fn len(&self) -> usize {
        self.vars.len()
    }

    pub fn is_empty(&self) -> bool {
        self.vars.is_empty()
    }

    /// Element count of each variable, in order.
    pub fn lens(&self) -> Vec<usize> {
        self.vars.iter().map(|v| v.elem_count()).collect()
    }

    pub fn step(&mut self, grads: &GradStore) -> candle_core::Result<()> {
        let update = self.next_update();
        for (var, moments) in self.vars.iter().zip(&self.moments) {
            let Some(grad) = grads.get(var) else { continue };
            let grad = grad.contiguous()?;
            let (storage, layout) = grad.storage_and_layout();
            let Storage::Cpu(CpuStorage::F32(g)) = &*storage else {
                candle_core::bail!("fused AdamW needs f32 CPU gradients")
            };
            let g = match layout.contiguous_offsets() {
                Some((a, b)) => &g[a..b],
                None => candle_core::bail!("gradient is not contiguous"),
            };
            var.as_tensor().inplace_op1(&InPlace {
                update,
                grad: g,
                moments,
            })?;
        }
        Ok(())
    }

    /// The same step with one gradient slice per variable, in this optimizer's order.
    pub fn step_slices(&mut self, grads: &[Vec<f32>]) -> candle_core::Result<()> {
        if grads.len() != self.vars.len() {
            candle_core::bail!(
                "{} gradients for {} variables",
                grads.len(),
                self.vars.len()
            )
        }
        let update = self.next_update();
        for ((var, moments), grad) in self.vars.iter().zip(&self.moments).zip(grads) {
            var.as_tensor().inplace_op1(&InPlace {
                update,
                grad,
                moments,
            })?;
        }
        Ok(())
    }

    fn next_update(&mut self) -> Update {
        self.step += 1;
        let c = self.cfg;
        let t = self.step as i32;
        Update {
            lr: c.lr as f32,
            beta1: c.beta1 as f32,
            beta2: c.beta2 as f32,
            eps: c.eps as f32,
            decay: (1.0 - c.lr * c.weight_decay) as f32,
            bias1: (1.0 - c.beta1.powi(t)) as f32,
            bias2: (1.0 - c.beta2.powi(t)) as f32,
        }
    }
}

#[derive(Clone, Copy)]
struct Update {
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    decay: f32,
    bias1: f32,
    bias2: f32,
}

impl Update {
    fn apply(&self, p: &mut [f32], m: &mut [f32], v: &mut [f32], grad: &[f32]) {
        let step = self.lr / self.bias1;
        let inv_b2 = 1.0 / self.bias2;
        for i in 0..p.len() {
            let g = grad[i];
            m[i] = self.beta1 * m[i] + (1.0 - self.beta1) * g;
            v[i] = self.beta2 * v[i] + (1.0 - self.beta2) * g * g;
            p[i] = p[i] * self.decay - step * m[i] / ((v[i] * inv_b2).sqrt() + self.eps);
        }
    }
}

/// Elements per parallel task of the update.
const CHUNK: usize = 1 << 15;

struct InPlace<'a> {
    update: Update,
    grad: &'a [f32],
    moments: &'a Mutex<(Vec<f32>, Vec<f32>)>,
}

impl InplaceOp1 for InPlace<'_> {
    fn name(&self) -> &'static str {
        "fused-adamw"
    }

    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> candle_core::Result<()> {
        let CpuStorage::F32(p) = storage else {
            candle_core::bail!("fused AdamW needs f32 parameters")
        };
        let Some((a, b)) = layout.contiguous_offsets() else {
            candle_core::bail!("parameter is not contiguous")
        };
        let p = &mut p[a..b];
        let mut guard = self
            .moments
            .lock()
            .map_err(|_| candle_core::Error::Msg("optimizer state poisoned".into()))?;
        let (m, v) = &mut *guard;
        if p.len() != self.grad.len() || p.len() != m.len() || p.len() != v.len() {
            candle_core::bail!("parameter, gradient and moment lengths differ")
        }
        // Split across threads: the 1200×1200 teacher layer alone is 1.4 M updates a step.
        let u = self.update;
        p.par_chunks_mut(CHUNK)
            .zip(m.par_chunks_mut(CHUNK))
            .zip(v.par_chunks_mut(CHUNK))
            .zip(self.grad.par_chunks(CHUNK))
            .for_each(|(((p, m), v), g)| u.apply(p, m, v, g));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Tensor};
    use candle_nn::Optimizer;

    /// The fused update must follow candle's (PyTorch's) AdamW step for step.
    #[test]
    fn fused_matches_candle_adamw() {
        let dev = Device::Cpu;
        let init = Tensor::new(&[[0.3f32, -1.2, 2.0], [0.0, 0.7, -0.4]], &dev).unwrap();
        let target = Tensor::new(&[[1.0f32, 0.0, -1.0], [0.5, 0.5, 0.5]], &dev).unwrap();
        let cfg = AdamWConfig {
            lr: 0.05,
            weight_decay: 0.01,
            ..AdamWConfig::default()
        };
        let a = Var::from_tensor(&init).unwrap();
        let b = Var::from_tensor(&init).unwrap();
        let mut fused = FusedAdamW::new(vec![("w".into(), a.clone())], cfg);
        let params = candle_nn::ParamsAdamW {
            lr: cfg.lr,
            beta1: cfg.beta1,
            beta2: cfg.beta2,
            eps: cfg.eps,
            weight_decay: cfg.weight_decay,
        };
        let mut reference = candle_nn::AdamW::new(vec![b.clone()], params).unwrap();
        for _ in 0..25 {
            let la = (a.as_tensor() - &target)
                .unwrap()
                .sqr()
                .unwrap()
                .sum_all()
                .unwrap();
            fused.step(&la.backward().unwrap()).unwrap();
            let lb = (b.as_tensor() - &target)
                .unwrap()
                .sqr()
                .unwrap()
                .sum_all()
                .unwrap();
            reference.step(&lb.backward().unwrap()).unwrap();
        }
        let x: Vec<f32> = a.as_tensor().flatten_all().unwrap().to_vec1().unwrap();
        let y: Vec<f32> = b.as_tensor().flatten_all().unwrap().to_vec1().unwrap();
        for (i, (p, q)) in x.iter().zip(&y).enumerate() {
            assert!((p - q).abs() < 1e-5, "element {i}: fused {p} candle {q}");
        }
        assert!(x != init.flatten_all().unwrap().to_vec1::<f32>().unwrap());
    }

    #[test]
    fn state_round_trips() {
        let v = Var::from_tensor(&Tensor::new(&[1.0f32, 2.0], &Device::Cpu).unwrap()).unwrap();
        let mut o = FusedAdamW::new(vec![("v".into(), v)], AdamWConfig::default());
        o.restore(7, vec![("v".into(), vec![0.1, 0.2], vec![0.3, 0.4])])
            .unwrap();
        let (step, m) = o.state();
        assert_eq!((step, m[0].1.clone()), (7, vec![0.1, 0.2]));
        assert!(o.restore(1, vec![("w".into(), vec![], vec![])]).is_err());
        assert!(
            o.restore(1, vec![("v".into(), vec![1.0], vec![1.0])])
                .is_err()
        );
    }
}
