//! The CNN student as a [`Classifier`]: candle ops in channels-first layout (PyTorch's and
//! the float model's), trained on the CPU through `nn::fast_cnn`'s hand-written step and
//! elsewhere through candle's autograd.
use candle_core::{Device, Module, Result, Tensor};
use candle_nn::{Linear, VarMap};
use rand_chacha::ChaCha8Rng;
use runtime_nostd::format::cnn::{Layer, Padding, Plan};
use runtime_nostd::format::{LayerTensor, layer_name};

use crate::error::{Error, ensure};
use crate::nn::FastStep;
use crate::nn::fast_cnn::FastCnn;
use crate::training::optim::FusedAdamW;

use super::bias_relu::bias_relu;
use super::pool::{avg_pool, max_pool};
use crate::nn::{Classifier, Mode, host_f32, param};

/// One layer, ready to run.
enum Op {
    /// conv (groups 1) or dwconv (groups = channels), then ReLU.
    Conv {
        weight: Tensor,
        bias: Tensor,
        window: (usize, usize),
        stride: usize,
        /// Zeros on each side of (height, width).
        pad: (usize, usize),
        groups: usize,
        /// The output's (height, width).
        out: (usize, usize),
    },
    MaxPool((usize, usize)),
    AvgPool((usize, usize)),
    Gap,
    Dense {
        linear: Linear,
        relu: bool,
    },
}

pub struct CnnNet {
    plan: Plan,
    /// One sample as `[C, H, W]` (H = 1 for a sequence).
    input: [usize; 3],
    ops: Vec<Op>,
}

impl CnnNet {
    /// Seeded parameters `layers.{k}.weight|bias` in `varmap` (k counts every layer, pools
    /// included), drawn as PyTorch's defaults: U(±1/√fan_in), fan_in = C/groups · KH · KW.
    pub fn new(varmap: &VarMap, plan: &Plan, rng: &mut ChaCha8Rng, dev: &Device) -> Result<Self> {
        let seq = plan.is_sequence();
        let last = plan.layers().len().saturating_sub(1);
        let mut ops = Vec::new();
        for (k, (layer, i, o)) in plan.iter().enumerate() {
            let (kh, kw) = layer.window(seq);
            let mut params = |shape: &[usize], fan_in: usize| -> Result<(Tensor, Tensor)> {
                let w = layer_name(k, LayerTensor::Weight).to_string();
                let b = layer_name(k, LayerTensor::Bias).to_string();
                let weight = param(varmap, &w, shape, fan_in, rng, dev)?;
                let bias = param(varmap, &b, &shape[..1], fan_in, rng, dev)?;
                Ok((weight, bias))
            };
            let op = match layer {
                Layer::Conv {
                    stride, padding, ..
                }
                | Layer::DwConv {
                    stride, padding, ..
                } => {
                    let groups = match layer {
                        Layer::DwConv { .. } => i.c,
                        _ => 1,
                    };
                    let per_group = i.c / groups;
                    let (weight, bias) = params(&[o.c, per_group, kh, kw], per_group * kh * kw)?;
                    Op::Conv {
                        weight,
                        bias,
                        window: (kh, kw),
                        stride,
                        pad: match padding {
                            Padding::Same => ((kh - 1) / 2, (kw - 1) / 2),
                            Padding::Valid => (0, 0),
                        },
                        groups,
                        out: (o.h, o.w),
                    }
                }
                Layer::MaxPool(_) => Op::MaxPool((kh, kw)),
                Layer::AvgPool(_) => Op::AvgPool((kh, kw)),
                Layer::Gap => Op::Gap,
                Layer::Dense(out) => {
                    let (weight, bias) = params(&[out, i.len()], i.len())?;
                    Op::Dense {
                        linear: Linear::new(weight, Some(bias)),
                        relu: k < last,
                    }
                }
            };
            ops.push(op);
        }
        let first = plan
            .input_of(0)
            .ok_or_else(|| candle_core::Error::msg("a CNN plan without layers"))?;
        Ok(CnnNet {
            plan: *plan,
            input: [first.c, first.h, first.w],
            ops,
        })
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The float model's layers, with the parameters `varmap` holds now (the map must hold
    /// exactly this network's, nothing the file would silently drop).
    pub fn float_layers(&self, varmap: &VarMap) -> crate::Result<Vec<export::CnnLayer>> {
        let data = varmap.data().lock().map_err(|_| Error::Poisoned)?;
        let weighted = self
            .plan
            .layers()
            .iter()
            .filter(|l| l.has_weights())
            .count();
        ensure!(
            data.len() == 2 * weighted,
            Internal,
            "the CNN's parameter map holds {} tensors, its {weighted} weighted layers need {}",
            data.len(),
            2 * weighted
        );
        let get = |k: usize, t: LayerTensor| -> crate::Result<Vec<f32>> {
            let name = layer_name(k, t).to_string();
            let v = data
                .get(&name)
                .ok_or_else(|| Error::Internal(format!("the CNN has no parameter {name}")))?;
            Ok(host_f32(v.as_tensor())?)
        };
        self.plan
            .layers()
            .iter()
            .enumerate()
            .map(|(k, &layer)| {
                let (weight, bias) = match layer.has_weights() {
                    true => (get(k, LayerTensor::Weight)?, get(k, LayerTensor::Bias)?),
                    false => (Vec::new(), Vec::new()),
                };
                Ok(export::CnnLayer {
                    layer,
                    weight,
                    bias,
                })
            })
            .collect()
    }
}

impl Op {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match self {
            Op::Conv {
                weight,
                bias,
                window,
                stride,
                pad,
                groups,
                out,
            } => {
                let y = conv(x, weight, *window, *stride, *pad, *groups, *out)?;
                bias_relu(&y, bias)
            }
            Op::MaxPool(window) => max_pool(x, *window),
            Op::AvgPool(window) => avg_pool(x, *window),
            Op::Gap => x.mean_keepdim(3)?.mean_keepdim(2),
            Op::Dense { linear, relu } => {
                let y = linear.forward(&x.flatten_from(1)?)?;
                if *relu { y.relu() } else { Ok(y) }
            }
        }
    }
}

/// candle's conv2d with `pad` zeros on each side of (height, width). candle pads both sides
/// alike, and its backward derives the input's size from the height alone; so when the two
/// paddings differ (a sequence: none on the height) or a stride leaves rows or columns unread,
/// the input is padded and cut to exactly what the windows read, and candle pads nothing.
fn conv(
    x: &Tensor,
    weight: &Tensor,
    (kh, kw): (usize, usize),
    stride: usize,
    (ph, pw): (usize, usize),
    groups: usize,
    (oh, ow): (usize, usize),
) -> Result<Tensor> {
    let (_, _, h, w) = x.dims4()?;
    let (read_h, read_w) = ((oh - 1) * stride + kh, (ow - 1) * stride + kw);
    if ph == pw && h + 2 * ph == read_h && w + 2 * pw == read_w {
        return x.conv2d(weight, ph, stride, 1, groups);
    }
    let x = x
        .pad_with_zeros(2, ph, ph)?
        .pad_with_zeros(3, pw, pw)?
        .narrow(2, 0, read_h)?
        .narrow(3, 0, read_w)?
        .contiguous()?;
    x.conv2d(weight, 0, stride, 1, groups)
}

impl CnnNet {
    /// (weight, bias) of each weighted layer in plan order: what [`FastCnn`] trains.
    fn weighted_params(&self) -> Vec<(Tensor, Tensor)> {
        self.ops
            .iter()
            .filter_map(|op| match op {
                Op::Conv { weight, bias, .. } => Some((weight.clone(), bias.clone())),
                Op::Dense { linear, .. } => Some((linear.weight().clone(), linear.bias()?.clone())),
                _ => None,
            })
            .collect()
    }
}

impl Classifier for CnnNet {
    /// The hand-written CPU step (`nn::fast_cnn`) on f32 CPU tensors; candle's autograd, this
    /// model's `forward`, elsewhere (CUDA) and as the step's reference twin in its tests.
    fn fast_step(&self, opt: &FusedAdamW, batch: usize) -> Result<Option<Box<dyn FastStep + '_>>> {
        let fast = FastCnn::new(&self.plan, &[], &self.weighted_params(), opt, batch)?;
        Ok(fast.map(|f| Box::new(f) as Box<dyn FastStep>))
    }

    fn forward(&self, x: &Tensor, _mode: &mut Mode) -> Result<Tensor> {
        let b = x.dim(0)?;
        let [c, h, w] = self.input;
        let mut t = x.reshape((b, c, h, w))?;
        for op in &self.ops {
            t = op.forward(&t)?;
        }
        Ok(t)
    }
}
