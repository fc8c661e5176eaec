//! MLP student: validation of the `layers.{k}.*` tensors at load, and the forward pass.

use crate::container::Container;
use crate::format::{LayerTensor, MAX_LAYERS, MAX_SHIFT, MIN_MULTIPLIER, MIN_SHIFT, layer_name};
use crate::kernels::{prep_words, selected as kernel};
use crate::model::{check_rows, tensor};
use crate::quant::{I32s, OutputQuant, as_i8, requantize};
use crate::{Error, format::Dtype};

/// Output rows computed per kernel call: the accumulators live on the stack.
const BLOCK: usize = 16;

/// One layer's seven `layers.{k}.*` tensors, borrowed from the artifact: a dense layer, or
/// a CNN's convolution (`inputs` is then one output channel's weight count, kh·kw·C or kh·kw).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dense<'a> {
    pub weight: &'a [i8],
    pub inputs: usize,
    pub outputs: usize,
    pub bias: I32s<'a>,
    pub multiplier: I32s<'a>,
    pub shift: I32s<'a>,
    pub out: OutputQuant,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Mlp<'a> {
    /// The first `len` are `Some`. `None` is a null pointer (the niche of `&[i8]`), so an
    /// empty table is zeros, not a constant copied from flash.
    layers: [Option<Dense<'a>>; MAX_LAYERS],
    len: usize,
}

impl<'a> Mlp<'a> {
    pub const EMPTY: Mlp<'static> = Mlp {
        layers: [None; MAX_LAYERS],
        len: 0,
    };

    /// Loads and validates `num_layers` layers chained from `features` to `classes`, in
    /// place: the layer table (about 420 B on a 32-bit target) is never copied on the stack.
    pub fn load(
        &mut self,
        c: &Container<'a, '_>,
        num_layers: usize,
        features: usize,
        classes: usize,
    ) -> Result<(), Error> {
        let mut inputs = features;
        for k in 0..num_layers {
            let slot = self.layers.get_mut(k).ok_or(Error::InvalidNumLayers)?;
            let layer = slot.insert(load_layer(c, k, None, &[inputs])?);
            inputs = layer.outputs;
        }
        self.len = num_layers;
        if inputs != classes {
            return Err(Error::WrongShape);
        }
        Ok(())
    }

    pub fn layers(&self) -> impl Iterator<Item = &Dense<'a>> {
        self.layers.iter().flatten()
    }

    pub fn num_layers(&self) -> usize {
        self.len
    }

    /// Widest input of any layer, and of any layer but the first (the hidden activations).
    fn widest_inputs(&self) -> (usize, usize) {
        let max_in = self.layers().map(|l| l.inputs).max().unwrap_or(0);
        let hidden = self.layers().skip(1).map(|l| l.inputs).max().unwrap_or(0);
        (max_in, hidden)
    }

    /// Bytes of scratch `run` needs: `scratch::mlp_scratch_len` of this MLP's widths.
    pub fn scratch_len(&self) -> usize {
        let (max_in, hidden) = self.widest_inputs();
        crate::scratch::mlp_scratch_bytes(self.len, max_in, hidden)
    }

    /// Runs every layer; the caller checked the lengths of `input`, `logits` and `scratch`.
    pub fn run(&self, input: &[i8], scratch: &mut [u8], logits: &mut [i8]) -> Result<(), Error> {
        let (max_in, hidden) = self.widest_inputs();
        let (prep, acts) =
            crate::scratch::split(scratch, prep_words(max_in)).ok_or(Error::ScratchTooSmall)?;
        let (buf_a, rest) = acts
            .split_at_mut_checked(hidden)
            .ok_or(Error::ScratchTooSmall)?;
        let buf_b = rest
            .get_mut(..if self.len > 2 { hidden } else { 0 })
            .ok_or(Error::ScratchTooSmall)?;
        for (k, layer) in self.layers().enumerate() {
            // Layer k reads buffer (k−1) % 2 and writes buffer k % 2; the last writes logits.
            let (src, dst): (&[i8], &mut [i8]) = match (k, k + 1 == self.len, k % 2) {
                (0, true, _) => (input, &mut *logits),
                (0, false, _) => (input, &mut *buf_a),
                (_, true, 1) => (&*buf_a, &mut *logits),
                (_, true, _) => (&*buf_b, &mut *logits),
                (_, false, 1) => (&*buf_a, &mut *buf_b),
                (_, false, _) => (&*buf_b, &mut *buf_a),
            };
            let src = src.get(..layer.inputs).ok_or(Error::InputLength)?;
            let dst = dst.get_mut(..layer.outputs).ok_or(Error::ScratchTooSmall)?;
            layer.run(src, prep, dst)?;
        }
        Ok(())
    }
}

impl Dense<'_> {
    /// `output = requantize(bias + W·input)`, row by row through the selected `dot_rows`;
    /// `prep` holds `prep_words(inputs)` words.
    #[inline(always)]
    pub fn run(&self, input: &[i8], prep: &mut [u32], output: &mut [i8]) -> Result<(), Error> {
        if !kernel::prepare(input, prep) {
            return Err(Error::ScratchTooSmall);
        }
        let mut acc = [0i32; BLOCK];
        // Slices taken with `get`, parameters walked as 4-byte chunks: no panicking path and
        // no per-output bounds checks (the loader checked every length).
        for (b, out) in output.chunks_mut(BLOCK).enumerate() {
            let rows = self.weight.get(b * BLOCK * self.inputs..).unwrap_or(&[]);
            let acc = acc.get_mut(..out.len()).ok_or(Error::ScratchTooSmall)?;
            if !kernel::dot_rows(rows, input, prep, acc) {
                return Err(Error::ScratchTooSmall);
            }
            let (bias, mult, shift) = (
                self.bias.words_from(b * BLOCK),
                self.multiplier.words_from(b * BLOCK),
                self.shift.words_from(b * BLOCK),
            );
            for ((((o, &a), b), m), s) in out
                .iter_mut()
                .zip(acc.iter())
                .zip(bias)
                .zip(mult)
                .zip(shift)
            {
                let a = a.wrapping_add(i32::from_le_bytes(*b));
                let (m, s) = (i32::from_le_bytes(*m), i32::from_le_bytes(*s));
                *o = requantize(a, m, s, self.out);
            }
        }
        Ok(())
    }
}

/// Loads and validates layer `k`'s tensors. The weight's shape must be `[outputs, row..]`:
/// `outputs` as given (any, for an MLP, whose next width it sets), each output channel's
/// weights being `row` (MLP `[inputs]`; CNN `[kh, kw, C]`, `[kh, kw, 1]` or `[I]`).
pub(crate) fn load_layer<'a>(
    c: &Container<'a, '_>,
    k: usize,
    outputs: Option<usize>,
    row: &[usize],
) -> Result<Dense<'a>, Error> {
    let find = |t: LayerTensor| {
        let name = layer_name(k, t);
        c.find_tensor(|n| name.matches(n))
            .ok_or(Error::MissingTensor)
    };
    let w = find(LayerTensor::Weight)?;
    if w.dtype != Dtype::I8 {
        return Err(Error::WrongDtype);
    }
    let Some((&w_outputs, w_row)) = w.shape().split_first() else {
        return Err(Error::WrongShape);
    };
    if w_row != row || w_outputs == 0 || outputs.is_some_and(|o| o != w_outputs) {
        return Err(Error::WrongShape);
    }
    let outputs = w_outputs;
    // The container checked that the weight's bytes match its shape: no overflow.
    let inputs = row
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or(Error::WrongShape)?;
    let get = |t: LayerTensor, dtype: Dtype, shape: &[usize]| tensor(find(t)?, dtype, shape);
    get(LayerTensor::WeightScale, Dtype::F32, &[outputs])?;
    get(LayerTensor::OutputScale, Dtype::F32, &[1])?;
    let bias = I32s(get(LayerTensor::Bias, Dtype::I32, &[outputs])?);
    let multiplier = I32s(get(LayerTensor::Multiplier, Dtype::I32, &[outputs])?);
    let shift = I32s(get(LayerTensor::Shift, Dtype::I32, &[outputs])?);
    let output = I32s(get(LayerTensor::Output, Dtype::I32, &[3])?);
    let weight = as_i8(w.data);
    check_rows(weight, inputs, bias)?;
    if multiplier.iter().any(|m| m != 0 && m < MIN_MULTIPLIER) {
        return Err(Error::MultiplierRange);
    }
    if shift.iter().any(|s| !(MIN_SHIFT..=MAX_SHIFT).contains(&s)) {
        return Err(Error::ShiftRange);
    }
    let out = OutputQuant {
        zero_point: output.get(0),
        act_min: output.get(1),
        act_max: output.get(2),
    };
    if !(-128..=127).contains(&out.zero_point) {
        return Err(Error::ZeroPointRange);
    }
    if out.act_min > out.act_max || out.act_min < -128 || out.act_max > 127 {
        return Err(Error::ActivationRange);
    }
    Ok(Dense {
        weight,
        inputs,
        outputs,
        bias,
        multiplier,
        shift,
        out,
    })
}
