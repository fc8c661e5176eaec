//! Builds small `*.int8.safetensors` artifacts per FORMAT.md with the safetensors crate,
//! so tests start from what a real writer produces and then edit one thing.
#![allow(dead_code)]

use runtime_nostd::format::{self, Dtype, LayerTensor, layer_name, meta};
use std::collections::HashMap;

/// One artifact under construction: metadata and named tensors (dtype, shape, LE bytes).
#[derive(Clone)]
pub struct Artifact {
    pub meta: HashMap<String, String>,
    pub tensors: Vec<(String, Dtype, Vec<usize>, Vec<u8>)>,
}

pub fn i32s(v: &[i32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}
pub fn f32s(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}
pub fn i8s(v: &[i8]) -> Vec<u8> {
    v.iter().map(|&x| x as u8).collect()
}

/// A tiny hand-checkable MLP 4 → 3 (ReLU) → 2; see `tiny_mlp_expected`.
pub const TINY_INPUT: [i8; 4] = [10, -20, 30, 5];

impl Artifact {
    fn common(kind: &str, input_shape: &str, classes: &str, features: usize) -> Self {
        let mut a = Artifact {
            meta: HashMap::new(),
            tensors: Vec::new(),
        };
        a.set_meta(meta::FORMAT, format::FORMAT_NAME);
        a.set_meta(meta::FORMAT_VERSION, format::FORMAT_VERSION);
        a.set_meta(meta::KIND, kind);
        a.set_meta(meta::INPUT_SHAPE, input_shape);
        a.set_meta(meta::CLASSES, classes);
        a.set_meta(meta::SOURCE_SHA256, &"ab".repeat(32));
        a.set_meta("producer", "runtime-nostd tests");
        a.set(format::INPUT_MEAN, Dtype::F32, &[1], f32s(&[0.5]));
        let _ = features;
        a.set(format::INPUT_STD, Dtype::F32, &[1], f32s(&[2.0]));
        a.set(format::INPUT_QUANT, Dtype::F32, &[1], f32s(&[0.25]));
        a.set(format::INPUT_ZERO_POINT, Dtype::I32, &[1], i32s(&[3]));
        a
    }

    /// Adds a dense layer; `mult_shift` per output row.
    #[allow(clippy::too_many_arguments)]
    pub fn layer(
        &mut self,
        k: usize,
        w: &[i8],
        outputs: usize,
        bias: &[i32],
        mult: &[i32],
        shift: &[i32],
        out: [i32; 3],
    ) {
        let inputs = w.len() / outputs;
        self.layer_shaped(k, &[outputs, inputs], w, bias, mult, shift, out);
    }

    /// Adds layer `k`'s seven tensors with the weight of shape `weight_shape` (`[outputs,
    /// ..]`): a dense layer, or a CNN's conv `[O, KH, KW, C]` or dwconv `[C, KH, KW, 1]`.
    #[allow(clippy::too_many_arguments)]
    pub fn layer_shaped(
        &mut self,
        k: usize,
        weight_shape: &[usize],
        w: &[i8],
        bias: &[i32],
        mult: &[i32],
        shift: &[i32],
        out: [i32; 3],
    ) {
        let outputs = weight_shape[0];
        let n = |t| layer_name(k, t).to_string();
        self.set(&n(LayerTensor::Weight), Dtype::I8, weight_shape, i8s(w));
        self.set(
            &n(LayerTensor::WeightScale),
            Dtype::F32,
            &[outputs],
            f32s(&vec![0.01; outputs]),
        );
        self.set(&n(LayerTensor::Bias), Dtype::I32, &[outputs], i32s(bias));
        self.set(
            &n(LayerTensor::Multiplier),
            Dtype::I32,
            &[outputs],
            i32s(mult),
        );
        self.set(&n(LayerTensor::Shift), Dtype::I32, &[outputs], i32s(shift));
        self.set(&n(LayerTensor::Output), Dtype::I32, &[3], i32s(&out));
        self.set(&n(LayerTensor::OutputScale), Dtype::F32, &[1], f32s(&[0.1]));
    }

    /// 4 → 3 → 2. For `TINY_INPUT` (see tests/tiny_models.rs for the hand computation):
    /// hidden [36, -5, 28], logits [35, 15], class 0.
    pub fn tiny_mlp() -> Self {
        let mut a = Self::common(format::KIND_MLP, "2x2", "cat|dog", 4);
        a.set_meta(meta::NUM_LAYERS, "2");
        let h = 1 << 30;
        a.layer(
            0,
            &[1, 2, 3, 4, -1, 0, 1, 0, 2, -2, 0, 1],
            3,
            &[1, -25, 0],
            &[h; 3],
            &[31; 3],
            [-5, -5, 127],
        );
        a.layer(
            1,
            &[1, 1, 1, 2, 0, -1],
            2,
            &[5, -10],
            &[h, 1_518_500_250],
            &[31, 32],
            [3, -128, 127],
        );
        a
    }

    /// Depth-2 tree over 4 features, 3 classes. For `TINY_INPUT`: left, right → leaf 1,
    /// class 1, logits [-118, 72, -83].
    pub fn tiny_tree() -> Self {
        let mut a = Self::common(format::KIND_TREE, "4", "a|b|c", 4);
        a.set_meta(meta::DEPTH, "2");
        a.set(
            format::TREE_WEIGHT,
            Dtype::I8,
            &[3, 4],
            i8s(&[1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0]),
        );
        a.set(format::TREE_WEIGHT_SCALE, Dtype::F32, &[3], f32s(&[0.1; 3]));
        a.set(format::TREE_BIAS, Dtype::I32, &[3], i32s(&[-10, 21, 0]));
        a.set(
            format::TREE_LEAF_PROBS,
            Dtype::U8,
            &[4, 3],
            vec![255, 0, 0, 10, 200, 45, 0, 0, 255, 85, 85, 85],
        );
        a.set(format::TREE_LEAF_CLASS, Dtype::U8, &[4], vec![0, 1, 2, 0]);
        a
    }

    /// A random MLP `widths[0] → … → widths[last]` with valid parameters (deterministic).
    pub fn random_mlp(widths: &[usize], seed: u64) -> Self {
        let mut rng = Rng(seed | 1);
        let f = widths[0];
        let classes: Vec<String> = (0..*widths.last().unwrap())
            .map(|i| format!("c{i}"))
            .collect();
        let mut a = Self::common(format::KIND_MLP, &f.to_string(), &classes.join("|"), f);
        a.set(format::INPUT_MEAN, Dtype::F32, &[f], f32s(&vec![0.1; f]));
        a.set_meta(meta::NUM_LAYERS, &(widths.len() - 1).to_string());
        for k in 0..widths.len() - 1 {
            let (i, o) = (widths[k], widths[k + 1]);
            let w: Vec<i8> = (0..i * o).map(|_| rng.i8().max(-127)).collect();
            let bias: Vec<i32> = (0..o).map(|_| rng.next() as i32 % 5000).collect();
            let mult: Vec<i32> = (0..o)
                .map(|_| (1 << 30) + (rng.next() as i32 & 0x3fff_ffff))
                .collect();
            let shift: Vec<i32> = (0..o).map(|_| 38 + (rng.next() % 4) as i32).collect();
            let last = k == widths.len() - 2;
            let z = (rng.next() % 20) as i32 - 10;
            let out = if last { [z, -128, 127] } else { [z, z, 127] };
            a.layer(k, &w, o, &bias, &mult, &shift, out);
        }
        a
    }

    /// A CNN artifact on `input` (`[C, H, W]` or `[C, T]`) with the `layers` metadata and
    /// `classes` classes, without layer tensors (`layer_shaped` adds them).
    pub fn cnn(input: &[usize], layers: &str, classes: usize) -> Self {
        let shape: Vec<String> = input.iter().map(usize::to_string).collect();
        let names: Vec<String> = (0..classes).map(|i| format!("k{i}")).collect();
        let f = input.iter().product();
        let mut a = Self::common(format::KIND_CNN, &shape.join("x"), &names.join("|"), f);
        a.set_meta(meta::LAYERS, layers);
        a
    }

    /// A random valid CNN (deterministic): every weighted layer of `layers` gets random
    /// weights and biases, M in [2^30, 2^31) (0 for one channel in 16), a shift scaled to the
    /// row length so that outputs spread over the int8 range, a zero point in [−10, 10];
    /// ReLU except on the last layer.
    pub fn random_cnn(input: &[usize], layers: &str, classes: usize, seed: u64) -> Self {
        use runtime_nostd::format::cnn::{Layer, Plan};
        let mut rng = Rng(seed | 1);
        let mut a = Self::cnn(input, layers, classes);
        let z_in = (rng.next() % 21) as i32 - 10;
        a.set(format::INPUT_ZERO_POINT, Dtype::I32, &[1], i32s(&[z_in]));
        let plan = Plan::parse(layers, input, classes).expect("a valid plan");
        let last = plan.layers().len() - 1;
        for (k, (layer, i, _)) in plan.iter().enumerate() {
            let (kh, kw) = layer.window(plan.is_sequence());
            let shape = match layer {
                Layer::Conv { out, .. } => vec![out, kh, kw, i.c],
                Layer::DwConv { .. } => vec![i.c, kh, kw, 1],
                Layer::Dense(out) => vec![out, i.len()],
                _ => continue,
            };
            let (rows, row) = (shape[0], shape[1..].iter().product::<usize>());
            let w: Vec<i8> = (0..rows * row).map(|_| rng.i8().max(-127)).collect();
            let bias: Vec<i32> = (0..rows).map(|_| rng.next() as i32 % 2000).collect();
            let mult: Vec<i32> = (0..rows)
                .map(|_| match rng.below(16) {
                    0 => 0,
                    _ => (1 << 30) + (rng.next() as i32 & 0x3fff_ffff),
                })
                .collect();
            let base = 31 + (row * 64).ilog2() as i32;
            let shift: Vec<i32> = (0..rows).map(|_| base - 1 + rng.below(3) as i32).collect();
            let z = (rng.next() % 21) as i32 - 10;
            let out = if k == last {
                [z, -128, 127]
            } else {
                [z, z, 127]
            };
            a.layer_shaped(k, &shape, &w, &bias, &mult, &shift, out);
        }
        a
    }

    /// The I8 or I32 values of tensor `name`, widened.
    pub fn values(&self, name: &str) -> Vec<i64> {
        let t = self.tensors.iter().find(|t| t.0 == name).expect(name);
        match t.1 {
            Dtype::I8 => t.3.iter().map(|&b| i64::from(b as i8)).collect(),
            Dtype::I32 => {
                t.3.chunks(4)
                    .map(|c| i64::from(i32::from_le_bytes(c.try_into().unwrap())))
                    .collect()
            }
            d => panic!("{name}: {d:?}"),
        }
    }

    /// A random tree of depth `d` over `f` features and `c` classes.
    pub fn random_tree(d: u32, f: usize, c: usize, seed: u64) -> Self {
        let mut rng = Rng(seed | 1);
        let classes: Vec<String> = (0..c).map(|i| format!("k{i}")).collect();
        let mut a = Self::common(format::KIND_TREE, &f.to_string(), &classes.join("|"), f);
        a.set_meta(meta::DEPTH, &d.to_string());
        let (inner, leaves) = ((1usize << d) - 1, 1usize << d);
        let w: Vec<i8> = (0..inner * f).map(|_| rng.i8().max(-127)).collect();
        a.set(format::TREE_WEIGHT, Dtype::I8, &[inner, f], i8s(&w));
        a.set(
            format::TREE_WEIGHT_SCALE,
            Dtype::F32,
            &[inner],
            f32s(&vec![0.1; inner]),
        );
        let b: Vec<i32> = (0..inner).map(|_| rng.next() as i32 % 3000).collect();
        a.set(format::TREE_BIAS, Dtype::I32, &[inner], i32s(&b));
        let probs: Vec<u8> = (0..leaves * c).map(|_| rng.next() as u8).collect();
        a.set(format::TREE_LEAF_PROBS, Dtype::U8, &[leaves, c], probs);
        let lc: Vec<u8> = (0..leaves).map(|_| (rng.next() % c as u64) as u8).collect();
        a.set(format::TREE_LEAF_CLASS, Dtype::U8, &[leaves], lc);
        a
    }

    pub fn set_meta(&mut self, k: &str, v: &str) -> &mut Self {
        self.meta.insert(k.to_string(), v.to_string());
        self
    }

    pub fn remove_meta(&mut self, k: &str) -> &mut Self {
        self.meta.remove(k);
        self
    }

    /// Sets (adds or replaces) a tensor.
    pub fn set(&mut self, name: &str, dtype: Dtype, shape: &[usize], data: Vec<u8>) -> &mut Self {
        self.tensors.retain(|t| t.0 != name);
        self.tensors
            .push((name.to_string(), dtype, shape.to_vec(), data));
        self
    }

    pub fn remove(&mut self, name: &str) -> &mut Self {
        self.tensors.retain(|t| t.0 != name);
        self
    }

    /// Serialized with `safetensors::serialize`, as `export` does.
    pub fn bytes(&self) -> Vec<u8> {
        use safetensors::tensor::TensorView;
        let views: Vec<(String, TensorView<'_>)> = self
            .tensors
            .iter()
            .map(|(n, d, s, b)| {
                let dt = match d {
                    Dtype::I8 => safetensors::Dtype::I8,
                    Dtype::U8 => safetensors::Dtype::U8,
                    Dtype::I32 => safetensors::Dtype::I32,
                    Dtype::F32 => safetensors::Dtype::F32,
                };
                (
                    n.clone(),
                    TensorView::new(dt, s.clone(), b).expect("consistent test tensor"),
                )
            })
            .collect();
        safetensors::serialize(views, Some(self.meta.clone())).expect("serialize")
    }
}

/// xorshift64: deterministic test data without a dependency.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn i8(&mut self) -> i8 {
        self.next() as i8
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// `[u64 LE length][header][data]`, for byte-literal tests.
pub fn raw(header: &str, data: &[u8]) -> Vec<u8> {
    let mut v = (header.len() as u64).to_le_bytes().to_vec();
    v.extend_from_slice(header.as_bytes());
    v.extend_from_slice(data);
    v
}
