//! Puts memory.x where the linker finds it, writes a 784-128-10 MLP, a depth-6 tree and a
//! small CNN on 1×28×28 (`CNN_LAYERS` in src/main.rs) artifact (deterministic pseudo-random
//! parameters, FORMAT.md layout) for the end-to-end instruction counts, and the host
//! runtime's logits for a few inputs, which the device's inference must reproduce exactly.
use std::{env, fs, path::PathBuf};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap());
    fs::copy("memory.x.in", out.join("memory.x")).unwrap();
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory.x.in");
    println!("cargo:rerun-if-changed=build.rs");
    let mlp = mlp(&[784, 128, 10]);
    let tree = tree(6, 784, 10);
    let cnn = cnn(&[1, 28, 28], CNN_LAYERS);
    let inputs = inputs(VECTORS, 784);
    fs::write(out.join("inputs.bin"), &inputs).unwrap();
    fs::write(out.join("mlp_expected.bin"), expected(&mlp, &inputs)).unwrap();
    fs::write(out.join("tree_expected.bin"), expected(&tree, &inputs)).unwrap();
    fs::write(out.join("cnn_expected.bin"), expected(&cnn, &inputs)).unwrap();
    fs::write(out.join("mlp.safetensors"), mlp).unwrap();
    fs::write(out.join("tree.safetensors"), tree).unwrap();
    fs::write(out.join("cnn.safetensors"), cnn).unwrap();
}

/// The CNN's layers; src/main.rs checks that its `CNN_LAYERS` array is the same list.
const CNN_LAYERS: &str = "conv 8 k3 s1 same;maxpool 2;dwconv k3 s1 same;conv 16 k1 s1 valid;\
                          maxpool 2;gap;dense 10";

/// Test vectors the device runs; must match `VECTORS` in src/main.rs.
const VECTORS: usize = 8;

fn inputs(n: usize, f: usize) -> Vec<u8> {
    let mut rng = Rng(0x5555_aaaa_1234_4321);
    (0..n * f).map(|_| rng.next() as u8).collect()
}

/// Per vector: the 10 int8 logits, then the class, from runtime-nostd on the host.
fn expected(artifact: &[u8], inputs: &[u8]) -> Vec<u8> {
    let m = runtime_nostd::Model::from_bytes(artifact).expect("generated artifact loads");
    let mut scratch = vec![0u8; m.scratch_len()];
    let mut out = Vec::new();
    for x in inputs.chunks(m.input_len()) {
        let x: Vec<i8> = x.iter().map(|&b| b as i8).collect();
        let mut logits = vec![0i8; m.num_classes()];
        let p = m
            .infer(&x, &mut scratch, &mut logits)
            .expect("host inference");
        out.extend(logits.iter().map(|&l| l as u8));
        out.push(p.class as u8);
    }
    out
}

/// A CNN with random weights: each weighted layer's seven tensors (OHWI conv, [C, KH, KW, 1]
/// dwconv, [O, I] dense), a shift scaled to the row length, ReLU but on the last layer.
fn cnn(input: &[usize], layers: &str) -> Vec<u8> {
    use runtime_nostd::format::cnn::{Layer, Plan};
    let mut rng = Rng(0x0c0f_fee0_1234_5678);
    let plan = Plan::parse(layers, input, 10).expect("CNN_LAYERS fit 1x28x28");
    let mut w = Writer {
        entries: vec![],
        data: vec![],
    };
    common(&mut w, input.iter().product());
    let last = plan.layers().len() - 1;
    for (k, (layer, i, _)) in plan.iter().enumerate() {
        let (kh, kw) = layer.window(plan.is_sequence());
        let shape = match layer {
            Layer::Conv { out, .. } => vec![out, kh, kw, i.c],
            Layer::DwConv { .. } => vec![i.c, kh, kw, 1],
            Layer::Dense(out) => vec![out, i.len()],
            _ => continue,
        };
        let (o, row) = (shape[0], shape[1..].iter().product::<usize>());
        let t = |s: &str| format!("layers.{k}.{s}");
        w.tensor(&t("weight_scale"), "F32", &[o], f32s(vec![0.01; o]));
        let bias = (0..o).map(|_| (rng.next() % 4001) as i32 - 2000);
        w.tensor(&t("bias"), "I32", &[o], i32s(bias.collect::<Vec<_>>()));
        let m = (0..o).map(|_| (1 << 30) + (rng.next() as i32 & 0x3fff_ffff));
        w.tensor(&t("multiplier"), "I32", &[o], i32s(m.collect::<Vec<_>>()));
        let shift = 31 + (row * 64).ilog2() as i32;
        w.tensor(&t("shift"), "I32", &[o], i32s(vec![shift; o]));
        let out = if k == last {
            [3, -128, 127]
        } else {
            [-7, -7, 127]
        };
        w.tensor(&t("output"), "I32", &[3], i32s(out));
        w.tensor(&t("output_scale"), "F32", &[1], f32s([0.05]));
        let weights = (0..o * row).map(|_| rng.w()).collect();
        w.tensor(&t("weight"), "I8", &shape, weights);
    }
    let shape: Vec<String> = input.iter().map(|d| d.to_string()).collect();
    let classes: Vec<String> = (0..10).map(|i| format!("c{i}")).collect();
    w.finish(&[
        ("format", "microdistill-int8".into()),
        ("format_version", "1".into()),
        ("kind", "cnn".into()),
        ("input_shape", shape.join("x")),
        ("classes", classes.join("|")),
        ("layers", layers.replace(";\n", ";")),
        ("source_sha256", "00".repeat(32)),
    ])
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn w(&mut self) -> u8 {
        ((self.next() % 255) as i32 - 127) as i8 as u8
    }
}

struct Writer {
    entries: Vec<String>,
    data: Vec<u8>,
}

impl Writer {
    fn tensor(&mut self, name: &str, dtype: &str, shape: &[usize], bytes: Vec<u8>) {
        let begin = self.data.len();
        self.data.extend_from_slice(&bytes);
        let shape: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
        self.entries.push(format!(
            r#""{name}":{{"dtype":"{dtype}","shape":[{}],"data_offsets":[{begin},{}]}}"#,
            shape.join(","),
            self.data.len()
        ));
    }
    fn finish(self, meta: &[(&str, String)]) -> Vec<u8> {
        let meta: Vec<String> = meta
            .iter()
            .map(|(k, v)| format!(r#""{k}":"{v}""#))
            .collect();
        let mut h = format!(
            r#"{{"__metadata__":{{{}}},{}}}"#,
            meta.join(","),
            self.entries.join(",")
        );
        while h.len() % 8 != 0 {
            h.push(' ');
        }
        let mut v = (h.len() as u64).to_le_bytes().to_vec();
        v.extend_from_slice(h.as_bytes());
        v.extend_from_slice(&self.data);
        v
    }
}

fn i32s(v: impl IntoIterator<Item = i32>) -> Vec<u8> {
    v.into_iter().flat_map(|x| x.to_le_bytes()).collect()
}
fn f32s(v: impl IntoIterator<Item = f32>) -> Vec<u8> {
    v.into_iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn common(w: &mut Writer, f: usize) {
    w.tensor("input.mean", "F32", &[1], f32s([0.2]));
    w.tensor("input.std", "F32", &[1], f32s([0.3]));
    w.tensor("input.quant", "F32", &[1], f32s([0.02]));
    w.tensor("input.zero_point", "I32", &[1], i32s([-10]));
    let _ = f;
}

fn meta(kind: &str, f: usize, key: &str, value: usize) -> Vec<(&'static str, String)> {
    let kind = kind.to_string();
    let classes: Vec<String> = (0..10).map(|i| format!("c{i}")).collect();
    vec![
        ("format", "microdistill-int8".into()),
        ("format_version", "1".into()),
        ("kind", kind),
        ("input_shape", f.to_string()),
        ("classes", classes.join("|")),
        (
            if key == "num_layers" {
                "num_layers"
            } else {
                "depth"
            },
            value.to_string(),
        ),
        ("source_sha256", "00".repeat(32)),
    ]
}

fn mlp(widths: &[usize]) -> Vec<u8> {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let mut w = Writer {
        entries: vec![],
        data: vec![],
    };
    common(&mut w, widths[0]);
    let layers = widths.len() - 1;
    for k in 0..layers {
        let (i, o) = (widths[k], widths[k + 1]);
        let last = k + 1 == layers;
        w.tensor(
            &format!("layers.{k}.weight_scale"),
            "F32",
            &[o],
            f32s(vec![0.01; o]),
        );
        w.tensor(
            &format!("layers.{k}.bias"),
            "I32",
            &[o],
            i32s((0..o).map(|_| (rng.next() % 20001) as i32 - 10000)),
        );
        w.tensor(
            &format!("layers.{k}.multiplier"),
            "I32",
            &[o],
            i32s((0..o).map(|_| (1 << 30) + (rng.next() as i32 & 0x3fff_ffff))),
        );
        w.tensor(&format!("layers.{k}.shift"), "I32", &[o], i32s(vec![42; o]));
        let out = if last { [3, -128, 127] } else { [-7, -7, 127] };
        w.tensor(&format!("layers.{k}.output"), "I32", &[3], i32s(out));
        w.tensor(
            &format!("layers.{k}.output_scale"),
            "F32",
            &[1],
            f32s([0.05]),
        );
        w.tensor(
            &format!("layers.{k}.weight"),
            "I8",
            &[o, i],
            (0..o * i).map(|_| rng.w()).collect(),
        );
    }
    w.finish(&meta("mlp", widths[0], "num_layers", layers))
}

fn tree(d: u32, f: usize, c: usize) -> Vec<u8> {
    let mut rng = Rng(0x0fed_cba9_8765_4321);
    let (inner, leaves) = ((1usize << d) - 1, 1usize << d);
    let mut w = Writer {
        entries: vec![],
        data: vec![],
    };
    common(&mut w, f);
    w.tensor(
        "tree.weight_scale",
        "F32",
        &[inner],
        f32s(vec![0.01; inner]),
    );
    w.tensor(
        "tree.bias",
        "I32",
        &[inner],
        i32s((0..inner).map(|_| (rng.next() % 2001) as i32 - 1000)),
    );
    w.tensor(
        "tree.weight",
        "I8",
        &[inner, f],
        (0..inner * f).map(|_| rng.w()).collect(),
    );
    w.tensor(
        "tree.leaf_probs",
        "U8",
        &[leaves, c],
        (0..leaves * c).map(|_| rng.next() as u8).collect(),
    );
    w.tensor(
        "tree.leaf_class",
        "U8",
        &[leaves],
        (0..leaves).map(|_| (rng.next() % c as u64) as u8).collect(),
    );
    w.finish(&meta("tree", f, "depth", d as usize))
}
