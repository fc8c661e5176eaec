//! The convolutional teacher: two conv–ReLU–maxpool blocks, a dense layer, the classifier.
use candle_core::{DType, Device, Module, Result, Tensor};
use candle_nn::{Linear, VarMap};
use rand_chacha::ChaCha8Rng;

use runtime_nostd::format::cnn::{Layer, Padding, Plan};

use super::fast_cnn::{Dropout, FastCnn};
use super::im2col::conv3x3_nhwc;
use super::relu_pool::relu_pool_nhwc;
use super::{Classifier, FastStep, Mode, cast_linear, dropout, param};
use crate::training::optim::FusedAdamW;

/// The shape of a CNN teacher.
#[derive(Debug, Clone, Copy)]
pub struct CnnSpec<'a> {
    /// One sample's `[channels, height, width]`.
    pub input: [usize; 3],
    /// Output channels of each conv block (3×3, ReLU, 2×2 max-pool).
    pub channels: &'a [usize],
    pub dense: usize,
    pub classes: usize,
    pub dropout: f32,
}

pub struct Cnn {
    /// (weight `[O, C, 3, 3]`, bias `[O]`) per block.
    convs: Vec<(Tensor, Tensor)>,
    dense: Linear,
    out: Linear,
    input: [usize; 3],
    dropout: f32,
    /// The dtype the forward pass computes in; parameters stay f32 (see `with_compute`).
    compute: DType,
}

impl Cnn {
    pub fn new(
        varmap: &VarMap,
        spec: &CnnSpec,
        rng: &mut ChaCha8Rng,
        dev: &Device,
    ) -> Result<Self> {
        let CnnSpec {
            input,
            channels,
            dense,
            classes,
            dropout,
        } = *spec;
        let (mut c, mut h, mut w) = (input[0], input[1], input[2]);
        let mut convs = Vec::new();
        for (k, &out) in channels.iter().enumerate() {
            let fan_in = c * 9;
            let weight = param(
                varmap,
                &format!("conv.{k}.weight"),
                &[out, c, 3, 3],
                fan_in,
                rng,
                dev,
            )?;
            let bias = param(varmap, &format!("conv.{k}.bias"), &[out], fan_in, rng, dev)?;
            convs.push((weight, bias));
            (c, h, w) = (out, h / 2, w / 2);
        }
        if h == 0 || w == 0 {
            candle_core::bail!(
                "input {input:?} is too small for {} pooling stages",
                channels.len()
            )
        }
        let flat = c * h * w;
        let dw = param(varmap, "dense.weight", &[dense, flat], flat, rng, dev)?;
        let db = param(varmap, "dense.bias", &[dense], flat, rng, dev)?;
        let ow = param(varmap, "out.weight", &[classes, dense], dense, rng, dev)?;
        let ob = param(varmap, "out.bias", &[classes], dense, rng, dev)?;
        Ok(Cnn {
            convs,
            dense: Linear::new(dw, Some(db)),
            out: Linear::new(ow, Some(ob)),
            input,
            dropout,
            compute: DType::F32,
        })
    }

    /// Its architecture as a CNN layer list: per block `conv O k3 s1 same;maxpool 2`, then
    /// `dense D;dense C` (`None` when that list is not a valid plan, e.g. too many blocks).
    pub fn plan(&self) -> Result<Option<Plan>> {
        let mut layers = Vec::new();
        for (weight, _) in &self.convs {
            layers.push(Layer::Conv {
                out: weight.dim(0)?,
                kernel: 3,
                stride: 1,
                padding: Padding::Same,
            });
            layers.push(Layer::MaxPool(2));
        }
        layers.push(Layer::Dense(self.dense.weight().dim(0)?));
        let classes = self.out.weight().dim(0)?;
        layers.push(Layer::Dense(classes));
        Ok(Plan::new(&layers, &self.input, classes).ok())
    }

    /// The parameters of its weighted layers in plan order, as `(weight, bias)`:
    /// `conv.{k}.*`, `dense.*`, `out.*`.
    fn weighted_params(&self) -> Option<Vec<(Tensor, Tensor)>> {
        let mut params = self.convs.clone();
        for layer in [&self.dense, &self.out] {
            params.push((layer.weight().clone(), layer.bias()?.clone()));
        }
        Some(params)
    }

    /// Computes the forward pass in `dtype` (bf16: mixed precision) from f32 master
    /// parameters, as `Mlp::with_compute` does.
    pub fn with_compute(self, dtype: DType) -> Self {
        Cnn {
            compute: dtype,
            ..self
        }
    }
}

impl Classifier for Cnn {
    /// [`FastCnn`] on its plan, with its dropout on the flatten and on the hidden dense
    /// layer's output (f32 only).
    fn fast_step(&self, opt: &FusedAdamW, batch: usize) -> Result<Option<Box<dyn FastStep + '_>>> {
        let (Some(plan), Some(params)) = (self.plan()?, self.weighted_params()) else {
            return Ok(None);
        };
        if self.compute != DType::F32 {
            return Ok(None);
        }
        let dense = 2 * self.convs.len();
        let dropout = [dense, dense + 1].map(|before| Dropout {
            before,
            p: self.dropout,
        });
        Ok(FastCnn::new(&plan, &dropout, &params, opt, batch)?
            .map(|f| Box::new(f) as Box<dyn FastStep>))
    }

    fn forward(&self, x: &Tensor, mode: &mut Mode) -> Result<Tensor> {
        let b = x.dim(0)?;
        let [c, h, w] = self.input;
        let dt = self.compute;
        let mut t = x.reshape((b, c, h, w))?.to_dtype(dt)?;
        for (weight, bias) in &self.convs {
            let (weight, bias) = (weight.to_dtype(dt)?, bias.to_dtype(dt)?);
            t = relu_pool_nhwc(&conv(&t, &weight, &bias)?)?;
        }
        let t = dropout(&t.flatten_from(1)?, self.dropout, mode)?;
        let dense = cast_linear(&self.dense, dt)?;
        let t = dropout(&dense.forward(&t)?.relu()?, self.dropout, mode)?;
        cast_linear(&self.out, dt)?
            .forward(&t)?
            .to_dtype(DType::F32)
    }
}

/// Channels-last 3×3 convolution: im2col on the CPU in f32 (fast backward), candle's conv2d
/// elsewhere. Both compute the same thing (tested in `im2col`).
fn conv(x: &Tensor, weight: &Tensor, bias: &Tensor) -> Result<Tensor> {
    if x.device().is_cpu() && x.dtype() == DType::F32 {
        conv3x3_nhwc(x, weight, bias)
    } else {
        let o = bias.dim(0)?;
        x.conv2d(weight, 1, 1, 1, 1)?
            .broadcast_add(&bias.reshape((1, o, 1, 1))?)?
            .permute((0, 2, 3, 1))
    }
}
