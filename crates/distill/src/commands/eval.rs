//! `distill eval`: an int8 artifact on a data folder's test split, run by runtime-nostd — the
//! code the device runs — and, when its ONNX twin lies beside it, by tract, input by input.
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use export::{QuantBody, QuantModel};
use runtime_nostd::Model;

use distill::cli::EvalArgs;
use distill::data::Dataset;
use distill::error::Context;
use distill::{Error, Result};

/// What runtime-nostd computed for each input.
struct Runtime {
    x_q: Vec<i8>,
    logits: Vec<i8>,
    class: Vec<usize>,
    /// Trees only: the path each input took.
    path: Vec<Option<runtime_nostd::TreePath>>,
}

pub fn run(a: &EvalArgs) -> Result<()> {
    let bytes = std::fs::read(&a.artifact)
        .with_context(|| format!("{}: cannot read", a.artifact.display()))?;
    let (model, qm) =
        export::read_artifact(&bytes).with_context(|| a.artifact.display().to_string())?;
    let bundle = distill::data::load_dir(&a.data, &a.label_column)?;
    let test = &bundle.test;
    check_fits(&model, test, &a.data)?;
    let names: Vec<String> = (0..model.num_classes())
        .map(|i| model.class_name(i).unwrap_or_default().to_string())
        .collect();
    let onnx = onnx_twin(&a.artifact).filter(|_| !a.no_onnx);
    if let Some(i) = a.index {
        if i >= test.len() {
            return Err(Error::Config(format!(
                "--index {i} is out of range: the test split of {} has {} inputs (0..={})",
                a.data.display(),
                test.len(),
                test.len().saturating_sub(1)
            )));
        }
        let one = test.select(&[i]);
        return one_input(&model, &qm, &one, i, &names, onnx.as_deref());
    }
    let rt = runtime(&model, test)?;
    let c = names.len();
    let mut counts = vec![0u32; c * c];
    for (&p, &y) in rt.class.iter().zip(&test.y) {
        counts[y as usize * c + p] += 1;
    }
    let hits: u32 = (0..c).map(|k| counts[k * c + k]).sum();
    let n = test.len();
    let kind = model.kind().name();
    println!("artifact   {} ({kind})", a.artifact.display());
    println!("data       test split of {}: {n} inputs", a.data.display());
    println!(
        "accuracy   {:.2}% ({hits} / {n}), int8 in runtime-nostd",
        pct(hits as usize, n)
    );
    if let Some(path) = &onnx {
        tract(path, &model, test, &rt)?;
    }
    if let Some(path) = &a.vectors {
        write_vectors(path, &bytes, &model, test, &rt)?;
        println!(
            "vectors    {} ({n} inputs, raw and quantized)",
            path.display()
        );
    }
    let mut t = String::from("per class  class                  inputs  accuracy\n");
    for (k, name) in names.iter().enumerate() {
        let row: u32 = counts[k * c..(k + 1) * c].iter().sum();
        let acc = if row == 0 {
            "—".to_string()
        } else {
            format!("{:.2}%", pct(counts[k * c + k] as usize, row as usize))
        };
        writeln!(t, "           {name:<22} {row:>6}  {acc:>8}")?;
    }
    print!("{t}");
    let png = a
        .out
        .clone()
        .unwrap_or_else(|| sibling(&a.artifact, "confusion.png"));
    let title = format!(
        "int8 artifact on {}: {:.2}%",
        a.data.display(),
        pct(hits as usize, n)
    );
    // A picture is a side product: failing to draw it never fails the evaluation.
    match distill::report::plots::confusion_matrix(&png, &title, &counts, &names) {
        Ok(()) => println!("confusion  {}", png.display()),
        Err(e) => eprintln!("warning: {} not drawn: {e}", png.display()),
    }
    Ok(())
}

/// Every test input, raw and quantized, with runtime-nostd's logits and class, through
/// export's writer of the vectors format.
fn write_vectors(
    path: &Path,
    artifact: &[u8],
    model: &Model,
    test: &Dataset,
    rt: &Runtime,
) -> Result<()> {
    use sha2::Digest;
    let c = model.num_classes();
    let bytes = export::vectors::Vectors {
        features: model.input_len(),
        classes: c,
        x_q: rt.x_q.clone(),
        logits: rt.logits.clone(),
        // check_fits bounded the labels, and the artifact format the classes, below 256.
        class: rt.class.iter().map(|&k| k as u8).collect(),
        label: Some(test.y.iter().map(|&y| y as u8).collect()),
        x: Some(test.x.clone()),
    }
    .to_bytes(&export::artifact::hex(&sha2::Sha256::digest(artifact)))?;
    export::fsutil::write_atomic(path, &bytes)
        .with_context(|| format!("{}: cannot write", path.display()))
}

/// The data must be what the artifact takes: same number of inputs, labels within its classes.
fn check_fits(model: &Model, test: &Dataset, dir: &Path) -> Result<()> {
    let shape: Vec<String> = model.input_shape().iter().map(usize::to_string).collect();
    if test.features() != model.input_len() {
        return Err(Error::Mismatch(format!(
            "{}: inputs of shape {:?} ({} values), but the artifact takes {} ({} values)",
            dir.display(),
            test.shape,
            test.features(),
            shape.join("x"),
            model.input_len()
        )));
    }
    if let Some((i, y)) = test
        .y
        .iter()
        .enumerate()
        .find(|&(_, &y)| y as usize >= model.num_classes())
    {
        return Err(Error::Mismatch(format!(
            "{}: test label {y} at index {i}, but the artifact has {} classes",
            dir.display(),
            model.num_classes()
        )));
    }
    Ok(())
}

fn runtime(model: &Model, data: &Dataset) -> Result<Runtime> {
    let (f, c) = (model.input_len(), model.num_classes());
    let mut scratch = vec![0u8; model.scratch_len()];
    let mut r = Runtime {
        x_q: vec![0; data.len() * f],
        logits: vec![0; data.len() * c],
        class: Vec::with_capacity(data.len()),
        path: Vec::with_capacity(data.len()),
    };
    for i in 0..data.len() {
        let q = &mut r.x_q[i * f..(i + 1) * f];
        let e = |e| Error::Artifact(format!("input {i}: runtime-nostd: {e:?} ({e})"));
        model.quantize_input(data.row(i), q).map_err(e)?;
        let p = model
            .infer(q, &mut scratch, &mut r.logits[i * c..(i + 1) * c])
            .map_err(e)?;
        r.class.push(p.class);
        r.path.push(p.path);
    }
    Ok(r)
}

/// Runs the ONNX twin in tract and compares it with runtime-nostd input by input. The rule
/// (runtime-nostd's docs): given the same quantized input, the two agree exactly; tract may
/// quantize an input one step apart (it multiplies by 1/scale), and only there may differ.
fn tract(path: &Path, model: &Model, test: &Dataset, rt: &Runtime) -> Result<()> {
    let f = model.input_len();
    // MLPs and CNNs output int8 logits; a tree its leaf.
    let is_mlp = model.kind() != runtime_nostd::Kind::Tree;
    let onnx = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let tr = export::run_onnx(&onnx, &test.x, f, is_mlp)
        .with_context(|| format!("{}: tract cannot run it", path.display()))?;
    if tr.class.len() != rt.class.len() || tr.x_q.len() != rt.x_q.len() {
        return Err(Error::Artifact(format!(
            "{}: tract's outputs have other sizes than the artifact's: not its twin",
            path.display()
        )));
    }
    let c = model.num_classes();
    let (mut xq_diff, mut class_diff, mut max_dlogit, mut unexplained) = (0, 0, 0u32, 0);
    for i in 0..rt.class.len() {
        let same_q = rt.x_q[i * f..(i + 1) * f] == tr.x_q[i * f..(i + 1) * f];
        let dl = if is_mlp {
            (0..c)
                .map(|k| {
                    (i32::from(rt.logits[i * c + k]) - i32::from(tr.logits[i * c + k]))
                        .unsigned_abs()
                })
                .max()
                .unwrap_or(0)
        } else {
            0
        };
        let same_class = rt.class[i] == tr.class[i];
        xq_diff += usize::from(!same_q);
        class_diff += usize::from(!same_class);
        max_dlogit = max_dlogit.max(dl);
        unexplained += usize::from(same_q && (dl != 0 || !same_class));
    }
    let hits = tr
        .class
        .iter()
        .zip(&test.y)
        .filter(|&(&p, &y)| p == y as usize)
        .count();
    if test.len() == 1 {
        let same = if class_diff == 0 {
            "the same class"
        } else {
            "another class"
        };
        println!(
            "tract      {} says {} ({same}), max |Δlogit| {max_dlogit}",
            path.display(),
            tr.class[0]
        );
    } else {
        println!(
            "tract      {:.2}% on {}: classes differ on {class_diff} / {}, quantized inputs on {xq_diff}, max |Δlogit| {max_dlogit}",
            pct(hits, test.len()),
            path.display(),
            test.len()
        );
    }
    if unexplained != 0 {
        return Err(Error::Artifact(format!(
            "{}: tract and runtime-nostd disagree on {unexplained} inputs quantized identically: \
             the ONNX graph and the artifact compute different things",
            path.display()
        )));
    }
    Ok(())
}

fn one_input(
    model: &Model,
    qm: &QuantModel,
    one: &Dataset,
    index: usize,
    names: &[String],
    onnx: Option<&Path>,
) -> Result<()> {
    let rt = runtime(model, one)?;
    let (class, truth) = (rt.class[0], one.y[0] as usize);
    println!(
        "input {index}: true class {} ({}), runtime-nostd says {} ({})",
        truth, names[truth], class, names[class]
    );
    let last_layer = match &qm.body {
        QuantBody::Mlp(layers) => layers.last(),
        QuantBody::Cnn(c) => c.weighted.last().and_then(Option::as_ref),
        QuantBody::Tree(_) => None,
    };
    match &qm.body {
        QuantBody::Mlp(_) | QuantBody::Cnn(_) => {
            let last =
                last_layer.ok_or_else(|| Error::Artifact("a network with no last layer".into()))?;
            // Dequantized logits and their softmax: what the int8 logits stand for.
            let scores: Vec<f64> = rt
                .logits
                .iter()
                .map(|&q| f64::from(last.output_scale) * f64::from(i32::from(q) - last.z_out))
                .collect();
            let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let z: f64 = scores.iter().map(|s| (s - max).exp()).sum();
            println!("  class                   int8 logit     score  softmax");
            for (k, name) in names.iter().enumerate() {
                let mark = if k == class { " ←" } else { "" };
                println!(
                    "  {k:>3} {name:<20} {:>9} {:>9.3}  {:>6.2}%{mark}",
                    rt.logits[k],
                    scores[k],
                    100.0 * (scores[k] - max).exp() / z
                );
            }
        }
        QuantBody::Tree(_) => {
            let path = rt.path[0].ok_or_else(|| Error::Artifact("a tree without a path".into()))?;
            let steps: Vec<String> = (0..u32::from(path.depth))
                .map(|l| {
                    let side = if path.went_right(l) { "R" } else { "L" };
                    format!("{} {side}", path.node_at(l))
                })
                .collect();
            println!("  path     nodes {} → leaf {}", steps.join(", "), path.leaf);
            let probs = model.leaf_probs(usize::from(path.leaf)).unwrap_or(&[]);
            println!("  class                   leaf probability");
            for (k, name) in names.iter().enumerate() {
                let mark = if k == class { " ←" } else { "" };
                let p = probs.get(k).copied().unwrap_or(0);
                println!("  {k:>3} {name:<20} {:>7.2}%{mark}", f64::from(p) / 2.55);
            }
        }
    }
    if let Some(path) = onnx {
        tract(path, model, one, &rt)?;
    }
    Ok(())
}

/// `X.int8.onnx` beside `X.int8.safetensors`, when it exists.
fn onnx_twin(artifact: &Path) -> Option<PathBuf> {
    let p = artifact.with_extension("onnx");
    (p != artifact && p.is_file()).then_some(p)
}

/// `X.int8.<suffix>` beside `X.int8.safetensors`.
fn sibling(artifact: &Path, suffix: &str) -> PathBuf {
    let stem = artifact
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "artifact".into());
    artifact.with_file_name(format!("{stem}.{suffix}"))
}

fn pct(hits: usize, n: usize) -> f64 {
    100.0 * hits as f64 / n.max(1) as f64
}
