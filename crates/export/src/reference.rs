//! A second, deliberately plain integer forward pass over the in-memory [`QuantModel`], using
//! runtime-nostd's `requantize` (the one requantization rule). The round trip compares
//! runtime-nostd's outputs, computed from the tensors it parsed, with these, computed from the
//! tensors export meant to write: any misread tensor shows up as a difference.

use runtime_nostd::{OutputQuant, requantize};

use crate::quantized::{QuantBody, QuantModel};

/// Int8 logits (MLP) or the reached leaf index as the single element (tree), and the class.
pub fn forward(m: &QuantModel, x_q: &[i8]) -> (Vec<i8>, usize) {
    match &m.body {
        QuantBody::Mlp(layers) => {
            let mut a = x_q.to_vec();
            for l in layers {
                let out = OutputQuant {
                    zero_point: l.z_out,
                    act_min: l.act_min,
                    act_max: l.act_max,
                };
                a = l
                    .weight
                    .chunks_exact(l.in_features)
                    .enumerate()
                    .map(|(j, row)| {
                        let acc = row
                            .iter()
                            .zip(&a)
                            .fold(l.bias[j], |s, (&w, &q)| s + i32::from(w) * i32::from(q));
                        requantize(acc, l.multiplier[j], l.shift[j], out)
                    })
                    .collect();
            }
            let class = crate::float_forward::argmax(&a);
            (a, class)
        }
        QuantBody::Tree(t) => {
            let f = x_q.len();
            let mut node = 0usize;
            for _ in 0..t.depth {
                let row = &t.weight[node * f..(node + 1) * f];
                let acc = row
                    .iter()
                    .zip(x_q)
                    .fold(t.bias[node], |s, (&w, &q)| s + i32::from(w) * i32::from(q));
                node = 2 * node + if acc > 0 { 2 } else { 1 };
            }
            let leaf = node - t.bias.len();
            (vec![leaf as i8], usize::from(t.leaf_class[leaf]))
        }
    }
}
