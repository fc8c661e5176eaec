//! `distill explain`: the path one test input takes down a trained soft tree, as a PNG — the
//! input, each visited node's filter with w·x + b and the branch taken, and the reached leaf.
//!
//! `cargo run --release -p distill -- explain --model RUN/student.safetensors --index 3`
use distill::Error;
use distill::cli::ExplainArgs;
use distill::error::Context;
use distill::students::tree::plots::{TreeView, path_png};

pub fn run(a: &ExplainArgs) -> distill::Result<()> {
    let model = export::FloatModel::load(&a.model)
        .with_context(|| format!("{}: cannot load the model", a.model.display()))?;
    let view = TreeView::from_model(&model).with_context(|| a.model.display().to_string())?;
    let dir = if a.data.exists() {
        a.data.clone()
    } else {
        distill::run::bundled_subset()
    };
    let bundle = distill::data::load_dir(&dir, &a.label_column)?;
    let test = &bundle.test;
    let f = model.features();
    if test.x.len() / test.y.len().max(1) != f {
        return Err(Error::Mismatch(format!(
            "{}: inputs of {} features, the model takes {f}",
            dir.display(),
            test.x.len() / test.y.len().max(1)
        )));
    }
    if a.index >= test.y.len() {
        return Err(Error::Config(format!(
            "--index {} is out of range: the test split of {} has {} inputs",
            a.index,
            dir.display(),
            test.y.len()
        )));
    }
    let raw = &test.x[a.index * f..(a.index + 1) * f];
    let mut x_n = Vec::with_capacity(f);
    export::float_forward::normalize(&model, raw, &mut x_n);
    let (visited, leaf) = view.walk(&x_n);
    let c = view.classes.len();
    let class = export::float_forward::argmax(&view.leaf_probs[leaf * c..(leaf + 1) * c]);
    let truth = test.y[a.index] as usize;
    let name = |k: usize| {
        view.classes
            .get(k)
            .cloned()
            .unwrap_or_else(|| k.to_string())
    };
    for (level, (node, z)) in visited.iter().enumerate() {
        let dir = if *z > 0.0 { "right" } else { "left" };
        println!("level {level}: node {node:4}  w·x+b = {z:9.3}  → {dir}");
    }
    println!("leaf {leaf}: {} (true class: {})", name(class), name(truth));
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| a.model.with_file_name(format!("explain-{}.png", a.index)));
    let title = format!(
        "Test input {} ({}): predicted {} at leaf {leaf}",
        a.index,
        name(truth),
        name(class)
    );
    path_png(&out, &title, &view, raw, &visited, leaf)?;
    println!("wrote {}", out.display());
    Ok(())
}
