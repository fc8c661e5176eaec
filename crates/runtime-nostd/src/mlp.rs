//! MLP student: validation of the `layers.{k}.*` tensors at load, and the forward pass.

use crate::container::Container;
use crate::format::{LayerTensor, MAX_LAYERS, MAX_SHIFT, MIN_MULTIPLIER, MIN_SHIFT, layer_name};
use crate::kernels::{prep_words, selected as kernel};
use crate::model::{check_rows, tensor};
use crate::quant::{I32s, OutputQuant, as_i8, requantize};
use crate::{Error, format::Dtype};

/// Output rows computed per kernel call: the accumulators live on the stack.
const BLOCK: usize = 16;

/// One dense layer, borrowing its tensors from the artifact.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dense<'a> {
    pub weight: &'a [i8],
    pub inputs: usize,
    pub outputs: usize,
    bias: I32s<'a>,
    multiplier: I32s<'a>,
    shift: I32s<'a>,
    out: OutputQuant,
}

impl Dense<'_> {
    const EMPTY: Dense<'static> = Dense {
        weight: &[],
        inputs: 0,
        outputs: 0,
        bias: I32s::EMPTY,
        multiplier: I32s::EMPTY,
        shift: I32s::EMPTY,
        out: OutputQuant {
            zero_point: 0,
            act_min: 0,
            act_max: 0,
        },
    };
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Mlp<'a> {
    layers: [Dense<'a>; MAX_LAYERS],
    len: usize,
}

impl<'a> Mlp<'a> {
    /// Loads and validates `num_layers` layers chained from `features` to `classes`.
    pub fn load(
        c: &Container<'a>,
        num_layers: usize,
        features: usize,
        classes: usize,
    ) -> Result<Self, Error> {
        let mut mlp = Mlp {
            layers: [Dense::EMPTY; MAX_LAYERS],
            len: num_layers,
        };
        let mut inputs = features;
        for k in 0..num_layers {
            let layer = load_layer(c, k, inputs)?;
            inputs = layer.outputs;
            *mlp.layers.get_mut(k).ok_or(Error::InvalidNumLayers)? = layer;
        }
        if inputs != classes {
            return Err(Error::WrongShape);
        }
        Ok(mlp)
    }

    pub fn layers(&self) -> &[Dense<'a>] {
        self.layers.get(..self.len).unwrap_or(&[])
    }

    /// `[inputs, hidden.., classes]`, for `scratch::mlp_scratch_len`.
    pub fn scratch_len(&self) -> usize {
        let mut widths = [0usize; MAX_LAYERS + 1];
        let layers = self.layers();
        for (w, l) in widths.iter_mut().zip(layers) {
            *w = l.inputs;
        }
        if let Some(last) = layers.last() {
            widths[layers.len()] = last.outputs;
        }
        crate::scratch::mlp_scratch_len(&widths[..=layers.len()])
    }

    /// Runs every layer; the caller checked the lengths of `input`, `logits` and `scratch`.
    pub fn run(&self, input: &[i8], scratch: &mut [u8], logits: &mut [i8]) -> Result<(), Error> {
        let layers = self.layers();
        let max_in = layers.iter().map(|l| l.inputs).max().unwrap_or(0);
        let hidden = layers.iter().skip(1).map(|l| l.inputs).max().unwrap_or(0);
        let (prep, acts) =
            crate::scratch::split(scratch, prep_words(max_in)).ok_or(Error::ScratchTooSmall)?;
        let (buf_a, rest) = acts
            .split_at_mut_checked(hidden)
            .ok_or(Error::ScratchTooSmall)?;
        let buf_b = rest
            .get_mut(..if layers.len() > 2 { hidden } else { 0 })
            .ok_or(Error::ScratchTooSmall)?;
        for (k, layer) in layers.iter().enumerate() {
            // Layer k reads buffer (k−1) % 2 and writes buffer k % 2; the last writes logits.
            let (src, dst): (&[i8], &mut [i8]) = match (k, k + 1 == layers.len(), k % 2) {
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
    fn run(&self, input: &[i8], prep: &mut [u32], output: &mut [i8]) -> Result<(), Error> {
        if !kernel::prepare(input, prep) {
            return Err(Error::ScratchTooSmall);
        }
        let mut acc = [0i32; BLOCK];
        for (b, (rows, out)) in self
            .weight
            .chunks(BLOCK * self.inputs.max(1))
            .zip(output.chunks_mut(BLOCK))
            .enumerate()
        {
            let acc = &mut acc[..out.len()];
            if !kernel::dot_rows(rows, input, prep, acc) {
                return Err(Error::ScratchTooSmall);
            }
            for (i, (o, &a)) in out.iter_mut().zip(acc.iter()).enumerate() {
                let j = b * BLOCK + i;
                let a = a.wrapping_add(self.bias.get(j));
                *o = requantize(a, self.multiplier.get(j), self.shift.get(j), self.out);
            }
        }
        Ok(())
    }
}

fn load_layer<'a>(c: &Container<'a>, k: usize, inputs: usize) -> Result<Dense<'a>, Error> {
    let find = |t: LayerTensor| {
        let name = layer_name(k, t);
        c.find_tensor(|n| name.matches(n))
            .ok_or(Error::MissingTensor)
    };
    let w = find(LayerTensor::Weight)?;
    if w.dtype != Dtype::I8 {
        return Err(Error::WrongDtype);
    }
    let &[outputs, w_inputs] = w.shape() else {
        return Err(Error::WrongShape);
    };
    if w_inputs != inputs || outputs == 0 {
        return Err(Error::WrongShape);
    }
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
