//! Small models and data made in the test, deterministic (a fixed LCG).
#![allow(dead_code)]

use export::{CnnLayer, Dataset, Dense, FloatBody, FloatModel, SoftTree};
use runtime_nostd::format::cnn::Plan;

/// Deterministic uniform floats in [lo, hi).
pub struct Lcg(u64);

impl Lcg {
    pub fn new(seed: u64) -> Self {
        Self(
            seed.wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407),
        )
    }
    pub fn next(&mut self, lo: f32, hi: f32) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let u = (self.0 >> 40) as f32 / (1u64 << 24) as f32;
        lo + (hi - lo) * u
    }
    pub fn vec(&mut self, n: usize, lo: f32, hi: f32) -> Vec<f32> {
        (0..n).map(|_| self.next(lo, hi)).collect()
    }
}

pub fn classes(c: usize) -> Vec<String> {
    (0..c).map(|i| format!("c{i}")).collect()
}

/// An MLP `f → hidden.. → c` with uniform weights scaled by 1/sqrt(fan-in).
pub fn mlp(f: usize, hidden: &[usize], c: usize, seed: u64) -> FloatModel {
    let mut r = Lcg::new(seed);
    let mut widths = vec![f];
    widths.extend_from_slice(hidden);
    widths.push(c);
    let layers = widths
        .windows(2)
        .map(|w| {
            let a = 1.7 / (w[0] as f32).sqrt();
            Dense {
                out_features: w[1],
                in_features: w[0],
                weight: r.vec(w[0] * w[1], -a, a),
                bias: r.vec(w[1], -0.1, 0.1),
            }
        })
        .collect();
    FloatModel {
        input_shape: vec![f],
        classes: classes(c),
        mean: vec![0.5],
        std: vec![0.29],
        body: FloatBody::Mlp(layers),
        source_sha256: [7; 32],
        config: None,
    }
}

/// A CNN of `layers` (runtime-nostd's grammar) on `input`, weights scaled by 1/sqrt(fan-in).
pub fn cnn(layers: &str, input: &[usize], c: usize, seed: u64) -> FloatModel {
    let mut r = Lcg::new(seed);
    let plan = Plan::parse(layers, input, c).expect("a valid test CNN");
    let body = plan
        .iter()
        .map(|(layer, i, o)| {
            let (w, b) = match layer.has_weights() {
                true => (layer.weights(i, plan.is_sequence()), o.c),
                false => (0, 0),
            };
            let a = 1.7 / ((w / b.max(1)).max(1) as f32).sqrt();
            CnnLayer {
                layer,
                weight: r.vec(w, -a, a),
                bias: r.vec(b, -0.1, 0.1),
            }
        })
        .collect();
    FloatModel {
        input_shape: input.to_vec(),
        classes: classes(c),
        mean: vec![0.5],
        std: vec![0.29],
        body: FloatBody::Cnn(body),
        source_sha256: [5; 32],
        config: None,
    }
}

/// A tree of depth `depth` over `f` features and `c` classes.
pub fn tree(f: usize, depth: u32, c: usize, seed: u64) -> FloatModel {
    let mut r = Lcg::new(seed);
    let inner = (1usize << depth) - 1;
    let t = SoftTree {
        depth,
        inner_weight: r.vec(inner * f, -1.0, 1.0),
        inner_bias: r.vec(inner, -0.2, 0.2),
        leaves: r.vec((inner + 1) * c, -3.0, 3.0),
        beta: 2.0,
    };
    FloatModel {
        input_shape: vec![f],
        classes: classes(c),
        mean: r.vec(f, 0.4, 0.6),
        std: r.vec(f, 0.2, 0.4),
        body: FloatBody::Tree(t),
        source_sha256: [9; 32],
        config: None,
    }
}

/// `n` raw rows in [0, 1) with labels in 0..c.
pub fn data(n: usize, f: usize, c: usize, seed: u64) -> Dataset {
    let mut r = Lcg::new(seed);
    let x = r.vec(n * f, 0.0, 1.0);
    let y = (0..n)
        .map(|_| (r.next(0.0, c as f32) as u32).min(c as u32 - 1))
        .collect();
    Dataset::new(x, f, Some(y)).expect("valid test data")
}

/// Files in `dir`, sorted.
pub fn files(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    };
    v.sort();
    v
}
