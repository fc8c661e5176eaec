//! Teachers and students: small modules built from seeded parameters so that a fixed seed
//! gives the same network twice (candle's CPU RNG cannot be seeded).
mod cnn;
pub mod fast_cnn;
pub mod fast_mlp;
mod im2col;
mod mlp;

mod relu_pool;

use candle_core::{DType, Device, Result, Tensor, Var};
use candle_nn::{Linear, VarMap};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

pub use cnn::{Cnn, CnnSpec};
pub use mlp::Mlp;

pub use fast_mlp::Targets as StepTargets;

use crate::training::loss::Targets;
use crate::training::optim::FusedAdamW;

/// Whether a forward pass trains (dropout active, drawing from the RNG) or evaluates.
pub enum Mode<'a> {
    Eval,
    Train(&'a mut ChaCha8Rng),
}

/// A training step written by hand for the CPU, standing in for candle's autograd (each is
/// tested step for step against it).
pub trait FastStep {
    /// One step on the rows `rows` of the host inputs `x` (`[N, F]`, normalized); returns the
    /// loss and how many rows were classified as their label.
    fn step(
        &mut self,
        x: &[f32],
        rows: &[u32],
        targets: &StepTargets,
        rng: &mut ChaCha8Rng,
        opt: &mut FusedAdamW,
    ) -> Result<(f64, usize)>;
}

/// A network mapping normalized inputs `[batch, features]` to logits `[batch, classes]`.
pub trait Classifier {
    fn forward(&self, x: &Tensor, mode: &mut Mode) -> Result<Tensor>;

    /// A hand-written CPU training step for this model with `opt` holding its parameters
    /// and batches of up to `batch` rows; `None` trains it through candle's autograd.
    fn fast_step(
        &self,
        _opt: &FusedAdamW,
        _batch: usize,
    ) -> Result<Option<Box<dyn FastStep + '_>>> {
        Ok(None)
    }

    /// The logits whose argmax the device computes, when that is not `forward`'s (a soft
    /// tree runs its maximum-probability path). Validation measures this prediction.
    fn device_logits(&self, _x: &Tensor) -> Result<Option<Tensor>> {
        Ok(None)
    }

    /// Called before each training epoch (0-based) of `epochs`, resumed ones included.
    fn start_epoch(&self, _epoch: usize, _epochs: usize) {}

    /// Training state that is not a parameter but must survive `--resume` (checkpointed).
    fn train_state(&self) -> crate::training::checkpoint::TrainState {
        Vec::new()
    }

    /// Takes back what `train_state` gave; names it does not know are errors.
    fn restore_train_state(&self, state: crate::training::checkpoint::TrainState) -> Result<()> {
        match state.first() {
            Some((name, _)) => candle_core::bail!("checkpoint holds unknown state {name}"),
            None => Ok(()),
        }
    }

    /// The training loss of one batch and the logits it was computed from. Students whose
    /// loss is not a function of their logits alone (the soft tree) override it.
    fn batch_loss(&self, x: &Tensor, t: &Targets, mode: &mut Mode) -> Result<(Tensor, Tensor)> {
        let logits = self.forward(x, mode)?.to_dtype(DType::F32)?;
        Ok((t.logits_loss(&logits)?, logits))
    }
}

/// A tensor's values as f32 on the host, row-major (any device, any float dtype): what the
/// files distill writes hold.
pub fn host_f32(t: &Tensor) -> Result<Vec<f32>> {
    t.to_device(&Device::Cpu)?
        .to_dtype(DType::F32)?
        .flatten_all()?
        .to_vec1::<f32>()
}

/// Creates a parameter in `varmap` under `name`, drawn U(−1/√fan_in, 1/√fan_in) like
/// PyTorch's default, or reuses the one already there (a loaded checkpoint).
pub fn param(
    varmap: &VarMap,
    name: &str,
    shape: &[usize],
    fan_in: usize,
    rng: &mut ChaCha8Rng,
    dev: &Device,
) -> Result<Tensor> {
    let mut data = varmap
        .data()
        .lock()
        .map_err(|_| candle_core::Error::Msg("parameter map poisoned".into()))?;
    if let Some(v) = data.get(name) {
        if v.dims() != shape {
            candle_core::bail!(
                "parameter {name} has shape {:?} in the checkpoint but the config needs {shape:?}",
                v.dims()
            )
        }
        return Ok(v.as_tensor().clone());
    }
    let bound = 1.0 / (fan_in.max(1) as f32).sqrt();
    let n: usize = shape.iter().product();
    let values: Vec<f32> = (0..n).map(|_| rng.random_range(-bound..bound)).collect();
    let var = Var::from_tensor(&Tensor::from_vec(values, shape, dev)?)?;
    let t = var.as_tensor().clone();
    data.insert(name.to_string(), var);
    Ok(t)
}

/// Inverted dropout with a mask drawn from our seeded RNG.
pub fn dropout(x: &Tensor, p: f32, mode: &mut Mode) -> Result<Tensor> {
    let Mode::Train(rng) = mode else {
        return Ok(x.clone());
    };
    if p <= 0.0 {
        return Ok(x.clone());
    }
    let keep = 1.0 / (1.0 - p);
    let mask: Vec<f32> = (0..x.elem_count())
        .map(|_| if rng.random::<f32>() < p { 0.0 } else { keep })
        .collect();
    x * Tensor::from_vec(mask, x.shape(), x.device())?.to_dtype(x.dtype())?
}

/// `layer` with its parameters cast to `dtype` (itself when they already are).
pub fn cast_linear(layer: &Linear, dtype: DType) -> Result<Linear> {
    if layer.weight().dtype() == dtype {
        return Ok(layer.clone());
    }
    Ok(Linear::new(
        layer.weight().to_dtype(dtype)?,
        layer.bias().map(|b| b.to_dtype(dtype)).transpose()?,
    ))
}

/// Number of scalar parameters in a map.
pub fn count_params(varmap: &VarMap) -> usize {
    varmap.all_vars().iter().map(|v| v.elem_count()).sum()
}

/// Logits for many samples, evaluated in chunks to bound memory.
pub fn predict_logits(model: &dyn Classifier, x: &Tensor, batch: usize) -> Result<Tensor> {
    let n = x.dim(0)?;
    let mut out = Vec::new();
    let mut start = 0;
    while start < n {
        let len = batch.min(n - start);
        // Detached per chunk, so each chunk's activations are freed before the next one.
        out.push(
            model
                .forward(&x.narrow(0, start, len)?, &mut Mode::Eval)?
                .detach(),
        );
        start += len;
    }
    Tensor::cat(&out, 0)?.to_dtype(DType::F32)
}

#[cfg(test)]
mod precision_tests {
    use super::*;
    use rand::SeedableRng;

    /// bf16 compute from f32 weights: logits close to f32's, gradients reach the f32 weights.
    fn check(model: &dyn Classifier, varmap: &VarMap, x: &Tensor, f32_logits: &Tensor) {
        let got = model.forward(x, &mut Mode::Eval).unwrap();
        assert_eq!(got.dtype(), DType::F32);
        let diff = (&got - f32_logits).unwrap().abs().unwrap();
        let scale = f32_logits
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        let worst = diff.max_all().unwrap().to_scalar::<f32>().unwrap();
        // bf16 keeps 8 bits of mantissa: a few parts in a thousand per op.
        assert!(
            worst < 0.05 * scale.max(1.0),
            "bf16 logits off by {worst} (scale {scale})"
        );
        let grads = got.sqr().unwrap().sum_all().unwrap().backward().unwrap();
        for var in varmap.all_vars() {
            let g = grads
                .get(var.as_tensor())
                .expect("every weight gets a gradient");
            assert_eq!(g.dtype(), DType::F32);
            assert!(
                g.abs()
                    .unwrap()
                    .sum_all()
                    .unwrap()
                    .to_scalar::<f32>()
                    .unwrap()
                    > 0.0
            );
        }
    }

    #[test]
    fn bf16_mlp_follows_its_f32_self() {
        // The CNN's bf16 path is candle's conv2d, which has no bf16 kernel on the CPU (the
        // teacher refuses that combination); it runs on CUDA only.
        let dev = Device::Cpu;
        let x = Tensor::randn(0f32, 1.0, (3, 64), &dev).unwrap();
        let varmap = VarMap::new();
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let mlp = Mlp::new(&varmap, 64, &[32], 5, 0.0, &mut rng, &dev).unwrap();
        let want = mlp.forward(&x, &mut Mode::Eval).unwrap();
        check(&mlp.with_compute(DType::BF16), &varmap, &x, &want);
    }
}
