//! The layers before the flatten, one sample group at a time: each worker owns a slice of the
//! batch, its activations, its scratch and its own weight-gradient sums, so workers run in
//! parallel without sharing anything they write.
use super::{Geom, conv, pool};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Op {
    Conv,
    DwConv,
    MaxPool,
    AvgPool,
    Gap,
}

pub(super) struct Spatial {
    pub op: Op,
    pub g: Geom,
    /// Index of its weights among the weighted layers (conv, dwconv).
    pub weighted: Option<usize>,
    /// A conv followed by a max pool skips its ReLU: the pool applies it to its maxima (it
    /// commutes with the maximum), a quarter of the values.
    pub raw: bool,
    /// A max pool applying the ReLU of the conv before it.
    pub relu: bool,
}

/// What every worker reads.
pub(super) struct Shared<'a> {
    pub layers: &'a [Spatial],
    /// Per weighted layer: weights (packed, see `conv`) and bias.
    pub values: &'a [(Vec<f32>, Vec<f32>)],
    /// Per layer input position: the batch's dropout multipliers `[B, len]` in CHW order
    /// (the order they are drawn in); empty: no dropout there.
    pub masks: &'a [Vec<f32>],
    /// Samples per im2col + gemm call.
    pub group: usize,
    /// The lowest weighted layer: backward stops there (`None`: no backward here).
    pub lowest: Option<usize>,
}

impl Shared<'_> {
    /// Sample `s`'s dropout multipliers on the input of layer `k` (empty: none).
    fn mask(&self, k: usize, s: usize, len: usize) -> &[f32] {
        match self.masks.get(k) {
            Some(m) if !m.is_empty() => &m[s * len..(s + 1) * len],
            _ => &[],
        }
    }

    fn weights(&self, layer: &Spatial) -> (&[f32], &[f32]) {
        let (w, b) = &self.values[layer.weighted.expect("a conv has weights")];
        (w, b)
    }

    /// The input shape of layer `k` (`k` = len: the flattened output) as (C, H·W).
    fn shape(&self, k: usize) -> (usize, usize) {
        match self.layers.get(k) {
            Some(l) => (l.g.c, l.g.h * l.g.w),
            None => {
                let g = &self.layers[k - 1].g;
                (g.oc, g.oh * g.ow)
            }
        }
    }
}

pub(super) struct Worker {
    /// Each layer's input for this worker's samples, then the last one's output (HWC).
    acts: Vec<Vec<f32>>,
    /// Two channel rows for the max pool's backward.
    pool: Vec<f32>,
    cols: Vec<f32>,
    /// d loss / d output of the current layer, and / d its input.
    ga: Vec<f32>,
    gb: Vec<f32>,
    /// Weight and bias gradients summed over this worker's samples, per weighted layer
    /// (empty for dense ones).
    pub dw: Vec<Vec<f32>>,
    pub db: Vec<Vec<f32>>,
}

impl Worker {
    /// Room for `cap` samples; `sizes` gives each weighted layer's (weights, bias) lengths
    /// (0, 0 for dense layers, whose gradients the dense stack computes).
    pub fn new(layers: &[Spatial], cap: usize, group: usize, sizes: &[(usize, usize)]) -> Self {
        let lens: Vec<usize> = std::iter::once(layers[0].g.in_len())
            .chain(layers.iter().map(|l| l.g.out_len()))
            .collect();
        let cols = layers
            .iter()
            .filter(|l| l.op == Op::Conv)
            .map(|l| l.g.oh * l.g.ow * conv::width(&l.g))
            .max()
            .unwrap_or(0);
        let widest = lens.iter().copied().max().unwrap_or(0);
        Worker {
            acts: lens.iter().map(|l| vec![0f32; cap * l]).collect(),
            pool: vec![0f32; 2 * layers.iter().map(|l| l.g.c).max().unwrap_or(0)],
            cols: vec![0f32; group * cols],
            ga: vec![0f32; group * widest],
            gb: vec![0f32; group * widest],
            dw: sizes.iter().map(|s| vec![0f32; s.0]).collect(),
            db: sizes.iter().map(|s| vec![0f32; s.1]).collect(),
        }
    }

    /// Forward for the batch samples `start..start + rows.len()` (rows of `x`, CHW), writing
    /// their flattened outputs (CHW, before the flatten's dropout) to `flat`.
    pub fn forward(
        &mut self,
        sh: &Shared,
        x: &[f32],
        rows: &[u32],
        start: usize,
        flat: &mut [f32],
    ) {
        let d = sh.layers.len();
        let (c0, hw0) = sh.shape(0);
        let (fc, fhw) = sh.shape(d);
        let (l0, fl) = (c0 * hw0, fc * fhw);
        let n = rows.len();
        for g0 in (0..n).step_by(sh.group) {
            let gn = sh.group.min(n - g0);
            for (i, &r) in rows.iter().enumerate().skip(g0).take(gn) {
                let r = r as usize;
                let mask = sh.mask(0, start + i, l0);
                to_hwc(
                    &x[r * l0..(r + 1) * l0],
                    &mut self.acts[0][i * l0..(i + 1) * l0],
                    c0,
                    mask,
                );
            }
            for (k, layer) in sh.layers.iter().enumerate() {
                let (g, il, ol) = (&layer.g, layer.g.in_len(), layer.g.out_len());
                let (lo, hi) = self.acts.split_at_mut(k + 1);
                let x = &lo[k][g0 * il..(g0 + gn) * il];
                let y = &mut hi[0][g0 * ol..(g0 + gn) * ol];
                match layer.op {
                    Op::Conv => {
                        let w = sh.weights(layer);
                        conv::forward(g, w, x, y, &mut self.cols, gn, layer.raw)
                    }
                    Op::DwConv => conv::dw_forward(g, sh.weights(layer), x, y, gn),
                    Op::MaxPool => pool::max_forward(g, x, y, gn, layer.relu),
                    Op::AvgPool => pool::avg_forward(g, x, y, gn),
                    Op::Gap => pool::gap_forward(g, x, y, gn),
                }
                if k + 1 < d {
                    for (i, y) in y.chunks_exact_mut(ol).enumerate() {
                        mask_hwc(y, sh.mask(k + 1, start + g0 + i, ol), g.oc);
                    }
                }
            }
            for i in g0..g0 + gn {
                let (src, dst) = (&self.acts[d][i * fl..], &mut flat[i * fl..(i + 1) * fl]);
                to_chw(&src[..fl], dst, fc);
            }
        }
    }

    /// Backward for this worker's samples from `d_flat` (their d loss / d flattened input,
    /// before the flatten's dropout): zeroes, then fills `dw` and `db`.
    pub fn backward(&mut self, sh: &Shared, d_flat: &[f32], start: usize) {
        self.dw
            .iter_mut()
            .chain(&mut self.db)
            .for_each(|v| v.fill(0.0));
        let Some(lowest) = sh.lowest else { return };
        let d = sh.layers.len();
        let (fc, fhw) = sh.shape(d);
        let fl = fc * fhw;
        let n = d_flat.len() / fl;
        for g0 in (0..n).step_by(sh.group) {
            let gn = sh.group.min(n - g0);
            for i in 0..gn {
                let s = g0 + i;
                let mask = sh.mask(d, start + s, fl);
                to_hwc(
                    &d_flat[s * fl..(s + 1) * fl],
                    &mut self.ga[i * fl..(i + 1) * fl],
                    fc,
                    mask,
                );
            }
            for k in (lowest..d).rev() {
                let layer = &sh.layers[k];
                let (g, il, ol) = (&layer.g, layer.g.in_len(), layer.g.out_len());
                let x = &self.acts[k][g0 * il..(g0 + gn) * il];
                let y = &self.acts[k + 1][g0 * ol..(g0 + gn) * ol];
                let dy = &mut self.ga[..gn * ol];
                let mut dx = (k > lowest).then_some(&mut self.gb[..gn * il]);
                match (layer.op, layer.weighted) {
                    (Op::Conv, Some(j)) => conv::backward(
                        g,
                        &sh.values[j].0,
                        (x, y),
                        dy,
                        dx.as_deref_mut(),
                        (&mut self.dw[j], &mut self.db[j]),
                        &mut self.cols,
                        gn,
                        layer.raw,
                    ),
                    (Op::DwConv, Some(j)) => conv::dw_backward(
                        g,
                        &sh.values[j].0,
                        (x, y),
                        dy,
                        dx.as_deref_mut(),
                        (&mut self.dw[j], &mut self.db[j]),
                        gn,
                    ),
                    (op, _) => {
                        let Some(dx) = dx.as_deref_mut() else {
                            continue;
                        };
                        match op {
                            Op::MaxPool => {
                                let relu = layer.relu.then_some(y);
                                pool::max_backward(g, x, dy, dx, gn, relu, &mut self.pool)
                            }
                            Op::AvgPool => pool::avg_backward(g, dy, dx, gn),
                            _ => pool::gap_backward(g, dy, dx, gn),
                        }
                    }
                }
                if let Some(dx) = dx {
                    for (i, dx) in dx.chunks_exact_mut(il).enumerate() {
                        mask_hwc(dx, sh.mask(k, start + g0 + i, il), g.c);
                    }
                    std::mem::swap(&mut self.ga, &mut self.gb);
                }
            }
        }
    }
}

/// `dst` (`[HW, C]`) = `src` (`[C, HW]`) times `mask` (CHW; empty: none).
fn to_hwc(src: &[f32], dst: &mut [f32], c: usize, mask: &[f32]) {
    let hw = src.len() / c;
    if mask.is_empty() {
        for (j, plane) in src.chunks_exact(hw).enumerate() {
            for (d, v) in dst[j..].iter_mut().step_by(c).zip(plane) {
                *d = *v;
            }
        }
        return;
    }
    for (j, (plane, m)) in src.chunks_exact(hw).zip(mask.chunks_exact(hw)).enumerate() {
        for (d, (v, m)) in dst[j..].iter_mut().step_by(c).zip(plane.iter().zip(m)) {
            *d = v * m;
        }
    }
}

/// `dst` (`[C, HW]`) = `src` (`[HW, C]`).
fn to_chw(src: &[f32], dst: &mut [f32], c: usize) {
    let hw = src.len() / c;
    for (j, plane) in dst.chunks_exact_mut(hw).enumerate() {
        for (d, v) in plane.iter_mut().zip(src[j..].iter().step_by(c)) {
            *d = *v;
        }
    }
}

/// `act` (`[HW, C]`) times `mask` (CHW; empty: none).
fn mask_hwc(act: &mut [f32], mask: &[f32], c: usize) {
    if mask.is_empty() {
        return;
    }
    let hw = act.len() / c;
    for (j, m) in mask.chunks_exact(hw).enumerate() {
        for (v, m) in act[j..].iter_mut().step_by(c).zip(m) {
            *v *= m;
        }
    }
}
