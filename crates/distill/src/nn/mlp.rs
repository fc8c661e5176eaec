//! Fully connected networks: the wide teacher (Hinton's 1200-1200) and the MLP students.
//! Parameter names `layers.{k}.weight|bias` are the float-model contract export reads.
use candle_core::{DType, Device, Module, Result, Tensor};
use candle_nn::{Linear, VarMap};
use rand_chacha::ChaCha8Rng;
use runtime_nostd::format::{LAYER_PREFIX, LayerTensor};

use super::{Classifier, Mode, dropout, param};

pub struct Mlp {
    layers: Vec<Linear>,
    dropout: f32,
    /// The dtype the forward pass computes in; parameters stay f32 (see `with_compute`).
    compute: DType,
}

impl Mlp {
    /// `inputs` → each of `hidden` (ReLU) → `classes`, with dropout after each hidden layer.
    pub fn new(
        varmap: &VarMap,
        inputs: usize,
        hidden: &[usize],
        classes: usize,
        dropout: f32,
        rng: &mut ChaCha8Rng,
        dev: &Device,
    ) -> Result<Self> {
        let mut widths = vec![inputs];
        widths.extend_from_slice(hidden);
        widths.push(classes);
        let mut layers = Vec::new();
        for (k, w) in widths.windows(2).enumerate() {
            let (fan_in, fan_out) = (w[0], w[1]);
            let name = |t: LayerTensor| format!("{LAYER_PREFIX}{k}.{}", t.suffix());
            let weight = param(
                varmap,
                &name(LayerTensor::Weight),
                &[fan_out, fan_in],
                fan_in,
                rng,
                dev,
            )?;
            let bias = param(
                varmap,
                &name(LayerTensor::Bias),
                &[fan_out],
                fan_in,
                rng,
                dev,
            )?;
            layers.push(Linear::new(weight, Some(bias)));
        }
        Ok(Mlp {
            layers,
            dropout,
            compute: DType::F32,
        })
    }

    /// Computes the forward pass in `dtype` (bf16: mixed precision) from f32 master
    /// parameters: each step casts them, and the casts carry the gradients back to f32.
    pub fn with_compute(self, dtype: DType) -> Self {
        Mlp {
            compute: dtype,
            ..self
        }
    }

    pub fn compute_dtype(&self) -> DType {
        self.compute
    }

    pub fn layers(&self) -> &[Linear] {
        &self.layers
    }

    /// Dropout probability after each hidden layer while training.
    pub fn dropout(&self) -> f32 {
        self.dropout
    }
}

impl Classifier for Mlp {
    fn fast_step(
        &self,
        opt: &crate::training::optim::FusedAdamW,
        batch: usize,
    ) -> Result<Option<Box<dyn super::FastStep + '_>>> {
        Ok(super::fast_mlp::FastMlp::new(self, opt, batch)?
            .map(|f| Box::new(super::fast_mlp::MlpStep(self, f)) as Box<dyn super::FastStep>))
    }

    fn forward(&self, x: &Tensor, mode: &mut Mode) -> Result<Tensor> {
        let mut h = x.to_dtype(self.compute)?;
        let last = self.layers.len() - 1;
        for (k, layer) in self.layers.iter().enumerate() {
            h = super::cast_linear(layer, self.compute)?.forward(&h)?;
            if k < last {
                h = dropout(&h.relu()?, self.dropout, mode)?;
            }
        }
        h.to_dtype(DType::F32)
    }
}
