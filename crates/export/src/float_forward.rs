//! Float inference of the student: the reference the int8 model is calibrated and judged against.

use crate::float_model::{Dense, FloatBody, FloatModel, SoftTree};

/// `(x − mean) / std`, elementwise, broadcasting a one-value mean/std; the same f32 operations,
/// in the same order, as the artifact's input rule (FORMAT.md, "Input quantization").
pub fn normalize(model: &FloatModel, x: &[f32], out: &mut Vec<f32>) {
    out.clear();
    let one = model.mean.len() == 1;
    out.extend(x.iter().enumerate().map(|(i, &v)| {
        let k = if one { 0 } else { i };
        (v - model.mean[k]) / model.std[k]
    }));
}

/// `W x + b` for one layer, accumulated in f64 so the reference does not depend on order.
pub fn dense(l: &Dense, x: &[f32], relu: bool, out: &mut Vec<f32>) {
    out.clear();
    for (row, &b) in l.weight.chunks_exact(l.in_features).zip(&l.bias) {
        let s: f64 = row
            .iter()
            .zip(x)
            .map(|(&w, &v)| f64::from(w) * f64::from(v))
            .sum::<f64>()
            + f64::from(b);
        let s = s as f32;
        out.push(if relu { s.max(0.0) } else { s });
    }
}

/// Every MLP activation for one normalized input: element k is layer k's output (after ReLU
/// for hidden layers); the last element is the logits.
pub fn mlp_activations(layers: &[Dense], x_n: &[f32]) -> Vec<Vec<f32>> {
    let mut acts: Vec<Vec<f32>> = Vec::with_capacity(layers.len());
    for (k, l) in layers.iter().enumerate() {
        let input = if k == 0 { x_n } else { &acts[k - 1] };
        let mut out = Vec::with_capacity(l.out_features);
        dense(l, input, k + 1 < layers.len(), &mut out);
        acts.push(out);
    }
    acts
}

/// The leaf reached by the maximum-probability path: right iff `w·x + b > 0`.
pub fn tree_leaf(t: &SoftTree, x_n: &[f32]) -> usize {
    tree_path(t, x_n).1
}

/// The maximum-probability path itself: `(node, w·x + b)` per level, then the leaf. The one
/// float definition of the branch rule, shared by export's evaluation and distill's pictures.
pub fn tree_path(t: &SoftTree, x_n: &[f32]) -> (Vec<(usize, f32)>, usize) {
    let f = x_n.len();
    let mut node = 0usize;
    let mut visited = Vec::with_capacity(t.depth as usize);
    for _ in 0..t.depth {
        let w = &t.inner_weight[node * f..(node + 1) * f];
        let s: f64 = w
            .iter()
            .zip(x_n)
            .map(|(&a, &b)| f64::from(a) * f64::from(b))
            .sum::<f64>()
            + f64::from(t.inner_bias[node]);
        visited.push((node, s as f32));
        node = 2 * node + if s > 0.0 { 2 } else { 1 };
    }
    (visited, node - ((1usize << t.depth) - 1))
}

/// Index of the first maximum (the runtime's tie rule).
pub fn argmax<T: PartialOrd + Copy>(v: &[T]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

/// Predicted class of one raw input row.
pub fn predict(model: &FloatModel, x: &[f32]) -> usize {
    let mut x_n = Vec::with_capacity(x.len());
    normalize(model, x, &mut x_n);
    match &model.body {
        FloatBody::Mlp(layers) => {
            let acts = mlp_activations(layers, &x_n);
            acts.last().map_or(0, |logits| argmax(logits))
        }
        FloatBody::Tree(t) => {
            let c = model.num_classes();
            let leaf = tree_leaf(t, &x_n);
            argmax(&t.leaves[leaf * c..(leaf + 1) * c])
        }
        FloatBody::Cnn(layers) => match model.cnn_plan() {
            Some(Ok(plan)) => {
                let acts = crate::float_cnn::cnn_activations(&plan, layers, &x_n);
                acts.last().map_or(0, |logits| argmax(logits))
            }
            // `FloatModel::validate` refuses such a model before anything predicts with it.
            _ => 0,
        },
    }
}
