//! CNN student (FORMAT.md, "CNN"): the weighted layers' tensors validated at load, and the
//! forward pass on channels-last (HWC) activations through the window kernels and, for
//! `dense`, the MLP's layer code. The layer grammar and shapes are `format::cnn`'s.

use crate::container::Container;
use crate::format::cnn::{Layer, MAX_OPS, Plan, Shape};
use crate::kernels::{ChannelQuant, Window, selected_conv as conv, selected_pool as pool};
use crate::mlp::{Dense, load_layer};
use crate::scratch::{cnn_layout, cnn_scratch_bytes};
use crate::{Error, scratch};

#[derive(Debug, Clone, Copy)]
pub(crate) struct Cnn<'a> {
    plan: Plan,
    /// Layer k's tensors when it has weights (conv, dwconv, dense); `None` for a pool.
    params: [Option<Dense<'a>>; MAX_OPS],
    /// The quantized input's zero point: the padding value of a first convolution.
    input_zero_point: i8,
    /// `scratch::cnn_layout`: prepared words of the widest dense input, arena bytes.
    prep_words: usize,
    arena: usize,
}

impl<'a> Cnn<'a> {
    /// Loads and validates the tensors of every weighted layer of `plan` (whose input is
    /// `input`, the artifact's `input_shape`): `layers.{k}.weight` is `[O, kh, kw, C]`
    /// (conv), `[C, kh, kw, 1]` (dwconv) or `[O, I]` (dense, I in HWC order), and the other
    /// six tensors and every check are the MLP's (`mlp::load_layer`).
    pub fn load(
        c: &Container<'a, '_>,
        plan: Plan,
        input: &[usize],
        input_zero_point: i32,
    ) -> Result<Self, Error> {
        let (prep_words, arena) = cnn_layout(input, plan.layers()).ok_or(Error::InvalidLayers)?;
        let input_zero_point = i8::try_from(input_zero_point).map_err(|_| Error::ZeroPointRange)?;
        let mut params = [None; MAX_OPS];
        let seq = plan.is_sequence();
        for (k, (slot, (layer, i, _))) in params.iter_mut().zip(plan.iter()).enumerate() {
            let (kh, kw) = layer.window(seq);
            let (outputs, row): (usize, &[usize]) = match layer {
                Layer::Conv { out, .. } => (out, &[kh, kw, i.c]),
                Layer::DwConv { .. } => (i.c, &[kh, kw, 1]),
                Layer::Dense(out) => (out, &[i.len()]),
                Layer::MaxPool(_) | Layer::AvgPool(_) | Layer::Gap => continue,
            };
            *slot = Some(load_layer(c, k, Some(outputs), row)?);
        }
        Ok(Cnn {
            plan,
            params,
            input_zero_point,
            prep_words,
            arena,
        })
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Layers with tensors (7 each).
    pub fn weighted(&self) -> usize {
        self.params.iter().flatten().count()
    }

    /// Bytes of scratch `run` needs: `scratch::cnn_scratch_len` of this plan.
    pub fn scratch_len(&self) -> usize {
        cnn_scratch_bytes(self.prep_words, self.arena)
    }

    /// Runs every layer; the caller checked the lengths of `input` (CHW), `logits` and
    /// `scratch`. Layout in `scratch.rs`: activation k at the arena's start when k is even,
    /// at its end when odd; layer k reads it and writes activation k + 1 at the other end,
    /// or the logits.
    pub fn run(&self, input: &[i8], scratch: &mut [u8], logits: &mut [i8]) -> Result<(), Error> {
        let (prep, arena) =
            scratch::split(scratch, self.prep_words).ok_or(Error::ScratchTooSmall)?;
        let arena = arena.get_mut(..self.arena).ok_or(Error::ScratchTooSmall)?;
        let first = self.plan.input_of(0).ok_or(Error::InputLength)?;
        chw_to_hwc(input, first, arena);
        let mut zero_point = self.input_zero_point;
        let last = self.plan.layers().len().saturating_sub(1);
        for (k, (layer, i, o)) in self.plan.iter().enumerate() {
            let even = k % 2 == 0;
            let at = if even {
                Some(i.len())
            } else {
                arena.len().checked_sub(i.len())
            };
            let (lo, hi) = at
                .and_then(|at| arena.split_at_mut_checked(at))
                .ok_or(Error::ScratchTooSmall)?;
            let (src, free): (&[i8], &mut [i8]) = if even { (lo, hi) } else { (hi, lo) };
            let dst = match (k == last, even) {
                (true, _) => Some(&mut *logits),
                (false, true) => free
                    .len()
                    .checked_sub(o.len())
                    .and_then(|a| free.get_mut(a..)),
                (false, false) => free.get_mut(..o.len()),
            };
            let dst = dst.ok_or(Error::ScratchTooSmall)?;
            let params = self.params.get(k).copied().flatten();
            let window = window(layer, i, o, self.plan.is_sequence());
            let ok = match (layer, params) {
                (Layer::Conv { .. }, Some(d)) => {
                    conv::conv2d(src, d.weight, &window, zero_point, &quant(&d), dst)
                }
                (Layer::DwConv { .. }, Some(d)) => {
                    conv::depthwise_conv2d(src, d.weight, &window, zero_point, &quant(&d), dst)
                }
                (Layer::Dense(_), Some(d)) => d.run(src, prep, dst).is_ok(),
                (Layer::MaxPool(_), _) => pool::max_pool(src, &window, dst),
                (Layer::AvgPool(_) | Layer::Gap, _) => pool::avg_pool(src, &window, dst),
                (_, None) => false,
            };
            if !ok {
                return Err(Error::ScratchTooSmall);
            }
            // Pools pass their input's quantization through.
            if let Some(d) = params {
                // The loader checked every zero point is in [−128, 127].
                zero_point = i8::try_from(d.out.zero_point).unwrap_or(0);
            }
        }
        Ok(())
    }
}

/// The kernels' geometry of `layer` on `input`: its window, stride and padding
/// (`format::cnn::Layer`), `gap` being one window over the whole input.
fn window(layer: Layer, input: Shape, output: Shape, is_sequence: bool) -> Window {
    let (kh, kw) = match layer {
        Layer::Gap => (input.h, input.w),
        _ => layer.window(is_sequence),
    };
    let (pad_top, pad_left) = layer.padding(is_sequence);
    Window {
        input,
        output,
        kh,
        kw,
        stride: layer.stride(),
        pad_top,
        pad_left,
    }
}

fn quant<'a>(d: &Dense<'a>) -> ChannelQuant<'a> {
    ChannelQuant {
        bias: d.bias.words_from(0),
        multiplier: d.multiplier.words_from(0),
        shift: d.shift.words_from(0),
        out: d.out,
    }
}

/// Copies the input from the data's order, CHW (`[C, T]`: h = 1), to the runtime's HWC.
fn chw_to_hwc(input: &[i8], shape: Shape, out: &mut [i8]) {
    let plane = shape.h.saturating_mul(shape.w).max(1);
    for (c, values) in input.chunks(plane).enumerate() {
        for (p, &v) in values.iter().enumerate() {
            if let Some(dst) = out.get_mut(p * shape.c + c) {
                *dst = v;
            }
        }
    }
}
