//! `distill inspect`: what an int8 artifact holds and what it costs, read through the
//! device's own reader (runtime-nostd), so a damaged file gets the device's error by name.
use std::fmt::Write as _;

use export::board::{FLASH_RESERVE, RAM_RESERVE, model_ram};
use export::{Board, QuantBody, QuantDense, QuantTree};
use sha2::{Digest, Sha256};

use distill::cli::InspectArgs;
use distill::error::Context;
use distill::{Error, Result};

pub fn run(a: &InspectArgs) -> Result<()> {
    let board = a.board.as_deref().map(str::parse::<Board>).transpose()?;
    let bytes = std::fs::read(&a.artifact)
        .with_context(|| format!("{}: cannot read", a.artifact.display()))?;
    let (model, qm) =
        export::read_artifact(&bytes).with_context(|| a.artifact.display().to_string())?;
    let mut s = String::new();
    let sha = export::artifact::hex(&Sha256::digest(&bytes));
    writeln!(s, "artifact   {}", a.artifact.display())?;
    writeln!(s, "  sha256   {sha}")?;
    writeln!(
        s,
        "  source   {} (SHA-256 of the float model it was quantized from)",
        model.source_sha256()
    )?;
    let shape: Vec<String> = qm.input_shape.iter().map(usize::to_string).collect();
    let norm = if qm.mean.len() == 1 {
        format!("one mean {} and std {}", qm.mean[0], qm.std[0])
    } else {
        format!("a mean and std per feature ({})", qm.mean.len())
    };
    writeln!(
        s,
        "input      {} = {} int8 values: (x − mean) / std with {norm}, then scale {} zero point {}",
        shape.join("x"),
        model.input_len(),
        qm.input.scale,
        qm.input.zero_point
    )?;
    writeln!(
        s,
        "classes    {}: {}",
        qm.classes.len(),
        qm.classes.join(", ")
    )?;
    match &qm.body {
        QuantBody::Mlp(layers) => mlp(&mut s, layers)?,
        QuantBody::Tree(t) => tree(&mut s, t, model.input_len(), qm.classes.len())?,
        QuantBody::Cnn(c) => cnn(&mut s, &qm, c)?,
    }
    let (flash, ram) = (bytes.len(), model_ram(&model));
    writeln!(s, "MACs       {} per inference", model.macs())?;
    writeln!(s, "flash      {flash} B (the artifact, embedded as is)")?;
    writeln!(
        s,
        "RAM        {ram} B per inference (scratch {} B + int8 input {} B + int8 logits {} B)",
        model.scratch_len(),
        model.input_len(),
        model.num_classes()
    )?;
    writeln!(
        s,
        "boards     after {} KiB flash and {} KiB RAM kept for code, stack and buffers:",
        FLASH_RESERVE / 1024,
        RAM_RESERVE / 1024
    )?;
    let boards = board.map_or(Board::ALL.to_vec(), |b| vec![b]);
    let mut misfit = None;
    for b in boards {
        let (ft, rt) = b.memory();
        let (fa, ra) = (
            ft.saturating_sub(FLASH_RESERVE),
            rt.saturating_sub(RAM_RESERVE),
        );
        let verdict = match b.check(flash, ram) {
            Ok(()) => "fits",
            Err(e) => {
                misfit = Some(e);
                "does not fit"
            }
        };
        writeln!(
            s,
            "  {:<11} {verdict}: flash {flash} of {fa} B, RAM {ram} of {ra} B",
            b.name()
        )?;
    }
    print!("{s}");
    match (a.board.is_some(), misfit) {
        (true, Some(e)) => Err(e.into()),
        _ => Ok(()),
    }
}

fn mlp(s: &mut String, layers: &[QuantDense]) -> Result<()> {
    writeln!(s, "kind       mlp, {} dense layers", layers.len())?;
    writeln!(s, "{LAYER_HEADER}")?;
    for (k, l) in layers.iter().enumerate() {
        layer_line(s, k, &format!("{} → {}", l.in_features, l.out_features), l)?;
    }
    Ok(())
}

const LAYER_HEADER: &str = "  layer  shape         weight scale per channel   requant M·2^−S per channel   out scale  zero pt  clamp";

fn cnn(s: &mut String, qm: &export::QuantModel, c: &export::QuantCnn) -> Result<()> {
    let plan = qm
        .cnn_plan()
        .ok_or_else(|| Error::Artifact("the CNN's layers do not fit its input".into()))?;
    writeln!(
        s,
        "kind       cnn, {} layers ({} with weights), {} parameters; activations channels-last",
        c.layers.len(),
        c.weighted.iter().flatten().count(),
        plan.params()
    )?;
    writeln!(s, "{LAYER_HEADER}")?;
    for (k, ((layer, i, o), q)) in plan.iter().zip(&c.weighted).enumerate() {
        let shape = format!("{}x{}x{} → {}x{}x{}", i.c, i.h, i.w, o.c, o.h, o.w);
        match q {
            Some(q) => {
                writeln!(s, "  {k:<5}  {layer}")?;
                layer_line(s, k, &shape, q)?;
            }
            None => writeln!(s, "  {k:<5}  {layer}: {shape}, quantization passes through")?,
        }
    }
    Ok(())
}

/// One weighted layer's quantization, under `LAYER_HEADER`.
fn layer_line(s: &mut String, k: usize, shape: &str, l: &QuantDense) -> Result<()> {
    let effective: Vec<f64> = l
        .multiplier
        .iter()
        .zip(&l.shift)
        .map(|(&m, &sh)| f64::from(m) * 2f64.powi(-sh))
        .collect();
    let relu = if l.act_min == l.z_out { " (ReLU)" } else { "" };
    writeln!(
        s,
        "  {k:<5}  {:<12}  {:<25}  {:<27}  {:<9.4e}  {:<7}  [{}, {}]{relu}",
        shape,
        range(l.weight_scale.iter().map(|&v| f64::from(v))),
        range(effective.into_iter()),
        l.output_scale,
        l.z_out,
        l.act_min,
        l.act_max
    )?;
    Ok(())
}

fn tree(s: &mut String, t: &QuantTree, features: usize, classes: usize) -> Result<()> {
    let inner = t.bias.len();
    writeln!(
        s,
        "kind       tree, depth {} ({inner} inner nodes over {features} inputs, {} leaves)",
        t.depth,
        inner + 1
    )?;
    writeln!(
        s,
        "  nodes    int8 weights, scale per node {}; go right iff w·q + b > 0",
        range(t.weight_scale.iter().map(|&v| f64::from(v)))
    )?;
    let mut used = t.leaf_class.clone();
    used.sort_unstable();
    used.dedup();
    writeln!(
        s,
        "  leaves   {} × {classes} probabilities as u8 (p·255); {} of {classes} classes are some leaf's class",
        inner + 1,
        used.len()
    )?;
    Ok(())
}

/// `min .. max` of the values, in engineering notation.
fn range(v: impl Iterator<Item = f64>) -> String {
    let (lo, hi) = v.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
        (lo.min(x), hi.max(x))
    });
    format!("{lo:.3e} .. {hi:.3e}")
}
