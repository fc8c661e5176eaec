//! CNN student (FORMAT.md, "CNN"): the weighted layers' tensors validated at load, and the
//! forward pass on channels-last (HWC) activations through the window kernels and, for
//! `dense`, the MLP's layer code. The layer grammar and shapes are `format::cnn`'s.

use crate::container::Container;
use crate::format::cnn::{Layer, Plan, SEPARATOR, Shape};
use crate::format::{MAX_TENSORS, split_ascii};
use crate::kernels::{ChannelQuant, Window, selected_conv as conv, selected_pool as pool};
use crate::mlp::{Dense, load_layer};
use crate::scratch::{cnn_layout, cnn_scratch_bytes};
use crate::{Error, scratch};

/// Most weighted layers: the tensors of more (4 + 7 per layer) exceed `MAX_TENSORS`.
const MAX_WEIGHTED: usize = (MAX_TENSORS - 4) / 7;

/// A loaded CNN. It keeps its `layers` text, not the parsed [`Plan`] (468 B on a 32-bit
/// target): with the plan inline every `Model`, of any kind, would grow from about 500 B to
/// 960 B, and `from_bytes`'s stack by as much. `load` checks the text with `Plan::parse`;
/// after that, `walk` reads it one layer at a time (a few words of stack, a few thousand
/// cycles per inference against the convolutions' hundreds of thousands).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cnn<'a> {
    /// The `layers` metadata, checked by `Plan::parse` at load.
    layers: &'a str,
    /// The weighted layers' (conv, dwconv, dense) tensors, in layer order; pools have none.
    params: [Option<Dense<'a>>; MAX_WEIGHTED],
    /// The quantized input's zero point: the padding value of a first convolution.
    input_zero_point: i8,
    /// `scratch::cnn_layout`: prepared words of the widest dense input, arena bytes.
    prep_words: usize,
    arena: usize,
}

impl<'a> Cnn<'a> {
    /// Zeros and empty: filled in place by `load` (the tensor table is about 420 B on a
    /// 32-bit target, so it is never built on the stack and copied).
    pub const EMPTY: Cnn<'static> = Cnn {
        layers: "",
        params: [None; MAX_WEIGHTED],
        input_zero_point: 0,
        prep_words: 0,
        arena: 0,
    };

    /// Parses `layers` (the metadata) on `input` (`input_shape`, `[C, H, W]` or `[C, T]`) for
    /// `classes`, then loads and validates the tensors of every weighted layer, in place:
    /// `layers.{k}.weight` is `[O, kh, kw, C]` (conv), `[C, kh, kw, 1]` (dwconv) or `[O, I]`
    /// (dense, I in HWC order), and the other six tensors and every check are the MLP's
    /// (`mlp::load_layer`). Not inlined: its temporaries stay off the other kinds' stack.
    #[inline(never)]
    pub fn load(
        &mut self,
        c: &Container<'a, '_>,
        layers: &'a str,
        input: &[usize],
        classes: usize,
        input_zero_point: i32,
    ) -> Result<(), Error> {
        (self.prep_words, self.arena) = check(layers, input, classes)?;
        self.layers = layers;
        self.input_zero_point =
            i8::try_from(input_zero_point).map_err(|_| Error::ZeroPointRange)?;
        let seq = input.len() == 2;
        let mut slots = self.params.iter_mut();
        for (k, (layer, i, _)) in walk(layers, input).enumerate() {
            let (kh, kw) = layer.window(seq);
            let (outputs, row): (usize, &[usize]) = match layer {
                Layer::Conv { out, .. } => (out, &[kh, kw, i.c]),
                Layer::DwConv { .. } => (i.c, &[kh, kw, 1]),
                Layer::Dense(out) => (out, &[i.len()]),
                Layer::MaxPool(_) | Layer::AvgPool(_) | Layer::Gap => continue,
            };
            // More weighted layers than the tensor limit allows.
            let slot = slots.next().ok_or(Error::InvalidLayers)?;
            *slot = Some(load_layer(c, k, Some(outputs), row)?);
        }
        Ok(())
    }

    /// The plan, parsed again from the text `load` checked (so `Ok`), on the model's
    /// `input_shape` and `classes`.
    pub fn plan(&self, input: &[usize], classes: usize) -> Result<Plan, Error> {
        Plan::parse(self.layers, input, classes).map_err(|_| Error::InvalidLayers)
    }

    /// Layers, pools included. Not inlined, like `macs`: the plan (468 B) stays out of the
    /// callers' frames, whatever the model's kind (the firmware's boot stack is measured).
    #[inline(never)]
    pub fn num_layers(&self, input: &[usize], classes: usize) -> usize {
        self.plan(input, classes).map_or(0, |p| p.layers().len())
    }

    /// Multiply-accumulates of one inference, from the plan (not inlined: see `num_layers`).
    #[inline(never)]
    pub fn macs(&self, input: &[usize], classes: usize) -> usize {
        self.plan(input, classes).map_or(0, |p| p.macs())
    }

    /// Layers with tensors (7 each).
    pub fn weighted(&self) -> usize {
        self.params.iter().flatten().count()
    }

    /// Bytes of scratch `run` needs: `scratch::cnn_scratch_len` of this plan.
    pub fn scratch_len(&self) -> usize {
        cnn_scratch_bytes(self.prep_words, self.arena)
    }

    /// Runs every layer on `input` (CHW, of the model's `input_shape` `dims`); the caller
    /// checked the lengths of `input`, `logits` and `scratch`. Layout in `scratch.rs`:
    /// activation k at the arena's start when k is even, at its end when odd; layer k reads
    /// it and writes activation k + 1 at the other end, or the logits. Not inlined: its frame
    /// stays off the other kinds' `infer`.
    #[inline(never)]
    pub fn run(
        &self,
        dims: &[usize],
        input: &[i8],
        scratch: &mut [u8],
        logits: &mut [i8],
    ) -> Result<(), Error> {
        let (prep, arena) =
            scratch::split(scratch, self.prep_words).ok_or(Error::ScratchTooSmall)?;
        let arena = arena.get_mut(..self.arena).ok_or(Error::ScratchTooSmall)?;
        let first = Shape::of_input(dims).ok_or(Error::InputLength)?;
        chw_to_hwc(input, first, arena);
        let mut zero_point = self.input_zero_point;
        let last = split_ascii(self.layers, SEPARATOR as u8)
            .count()
            .saturating_sub(1);
        let mut weighted = self.params.iter().flatten();
        let seq = dims.len() == 2;
        let mut ran = 0;
        for (k, (layer, i, o)) in walk(self.layers, dims).enumerate() {
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
            let params = if layer.has_weights() {
                weighted.next()
            } else {
                None
            };
            let window = window(layer, i, o, seq);
            let ok = match (layer, params) {
                (Layer::Conv { .. }, Some(d)) => {
                    conv::conv2d(src, d.weight, &window, zero_point, &quant(d), dst)
                }
                (Layer::DwConv { .. }, Some(d)) => {
                    conv::depthwise_conv2d(src, d.weight, &window, zero_point, &quant(d), dst)
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
            ran += 1;
        }
        // Every layer ran (the text was checked at load, so the walk never stops early).
        if ran != last + 1 {
            return Err(Error::InvalidLayers);
        }
        Ok(())
    }
}

/// `load`'s check of the `layers` text: `Plan::parse` (the one definition of a valid list),
/// then the scratch regions. Not inlined, so that the plan is off the stack while the tensors
/// load.
#[inline(never)]
fn check(layers: &str, input: &[usize], classes: usize) -> Result<(usize, usize), Error> {
    let plan = Plan::parse(layers, input, classes).map_err(|_| Error::InvalidLayers)?;
    cnn_layout(input, plan.layers()).ok_or(Error::InvalidLayers)
}

/// A checked layer list walked without a `Plan`: `(layer, input shape, output shape)` in
/// order, as `Plan::iter` yields them, parsing one layer at a time.
fn walk<'t>(layers: &'t str, input: &[usize]) -> impl Iterator<Item = (Layer, Shape, Shape)> + 't {
    let is_sequence = input.len() == 2;
    let mut shape = Shape::of_input(input);
    split_ascii(layers, SEPARATOR as u8).map_while(move |text| {
        let layer = Layer::parse(text)?;
        let input = shape?;
        let output = layer.output(input, is_sequence)?;
        shape = Some(output);
        Some((layer, input, output))
    })
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
