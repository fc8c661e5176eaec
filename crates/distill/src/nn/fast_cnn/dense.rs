//! The dense layers after the flatten, over the whole batch at once as in the fast MLP, with
//! `gemm`'s own threads.
use crate::nn::fast_mlp::gemm::{View, matmul};

pub(super) struct DenseStack {
    /// The flattened input's width, then each layer's output width (the last: classes).
    widths: Vec<usize>,
    /// `[B, I]` flattened inputs (CHW order, after their dropout), then each layer's output
    /// `[B, width]`; the last holds the logits.
    pub acts: Vec<Vec<f32>>,
    /// Per hidden layer, d output / d pre-activation: 0, 1 or the dropout keep factor.
    gates: Vec<Vec<f32>>,
    /// d loss / d pre-activation of the current layer (the head writes the logits' here).
    pub dz: Vec<f32>,
    /// d loss / d input of the current layer: after `backward`, of the flattened input.
    pub da: Vec<f32>,
}

impl DenseStack {
    pub fn new(widths: Vec<usize>, batch: usize) -> Self {
        let widest = widths.iter().copied().max().unwrap_or(0);
        DenseStack {
            acts: widths.iter().map(|w| vec![0f32; batch * w]).collect(),
            gates: widths[1..widths.len() - 1]
                .iter()
                .map(|w| vec![0f32; batch * w])
                .collect(),
            dz: vec![0f32; batch * widest],
            da: vec![0f32; batch * widest],
            widths,
        }
    }

    pub fn classes(&self) -> usize {
        self.widths[self.widths.len() - 1]
    }

    /// Layer k computes `ReLU(a·Wᵀ + bias)` (no ReLU on the last) with `params[k]` = (`[O, I]`
    /// weight, bias), then the dropout multipliers `masks[k]` (`[B, O]` at least, empty:
    /// none).
    pub fn forward(&mut self, b: usize, params: &[(Vec<f32>, Vec<f32>)], masks: &[Vec<f32>]) {
        let layers = self.widths.len() - 1;
        for k in 0..layers {
            let (inp, out) = (self.widths[k], self.widths[k + 1]);
            let (before, after) = self.acts.split_at_mut(k + 1);
            let (a, z) = (&before[k][..b * inp], &mut after[0][..b * out]);
            let (w, bias) = &params[k];
            matmul(z, View::rows(a, b, inp), View::rows(w, out, inp).t());
            for row in z.chunks_exact_mut(out) {
                row.iter_mut().zip(bias).for_each(|(v, bb)| *v += bb);
            }
            if k + 1 == layers {
                break;
            }
            let gate = &mut self.gates[k][..b * out];
            let mask = &masks[k];
            for (i, (v, g)) in z.iter_mut().zip(gate.iter_mut()).enumerate() {
                let mut m = if *v > 0.0 { 1.0 } else { 0.0 };
                if !mask.is_empty() {
                    m *= mask[i];
                }
                *v *= m;
                *g = m;
            }
        }
    }

    /// From `dz` holding d loss / d logits: each layer's weight and bias gradients into
    /// `grads[slots[k].0]`, `grads[slots[k].1]`; with `input_grad`, d loss / d flattened input
    /// into `da[..B·I]`.
    pub fn backward(
        &mut self,
        b: usize,
        params: &[(Vec<f32>, Vec<f32>)],
        slots: &[(usize, usize)],
        grads: &mut [Vec<f32>],
        input_grad: bool,
    ) {
        let layers = self.widths.len() - 1;
        for k in (0..layers).rev() {
            let (inp, out) = (self.widths[k], self.widths[k + 1]);
            let dz = &self.dz[..b * out];
            let (wi, bi) = slots[k];
            let a = View::rows(&self.acts[k][..b * inp], b, inp);
            matmul(&mut grads[wi], View::rows(dz, b, out).t(), a);
            let gb = &mut grads[bi];
            gb.fill(0.0);
            for row in dz.chunks_exact(out) {
                gb.iter_mut().zip(row).for_each(|(g, d)| *g += d);
            }
            if k == 0 && !input_grad {
                break;
            }
            let da = &mut self.da[..b * inp];
            matmul(
                da,
                View::rows(dz, b, out),
                View::rows(&params[k].0, out, inp),
            );
            if k > 0 {
                let gate = &self.gates[k - 1][..b * inp];
                self.dz[..b * inp]
                    .iter_mut()
                    .zip(da.iter().zip(gate))
                    .for_each(|(d, (g, m))| *d = g * m);
            }
        }
    }
}
