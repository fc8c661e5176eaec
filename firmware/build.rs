//! Build-time inputs of the firmware:
//! * the board's `memory.x`, copied to OUT_DIR (a `memory.x` in the package root would shadow it);
//! * the int8 artifact (`MICRODISTILL_MODEL`, default: the committed demo model) and its test
//!   vectors (`MICRODISTILL_VECTORS`, default: the artifact's path with `.int8.safetensors`
//!   replaced by `.vectors.safetensors`), turned into static bytes plus `embedded.rs`.
//!   `MICRODISTILL_MAX_VECTORS` keeps only the first N vectors (for small flash parts).

use runtime_nostd::format::vectors as names;
use safetensors::SafeTensors;
use sha2::{Digest, Sha256};
use std::{env, fs, path::Path, path::PathBuf};

#[path = "build/vectors.rs"]
mod vectors;
use vectors::Vectors;

/// Relative to this package; the lead commits it from `export`'s output.
const DEFAULT_MODEL: &str = "../tests/fixtures/demo-mlp.int8.safetensors";
const BOARDS: [&str; 4] = ["qemu", "netduinoplus2", "microbit", "nrf52840"];
const BOARD_DIRS: [&str; 4] = ["mps2-an386", "netduinoplus2", "microbit", "nrf52840"];

type Res<T> = Result<T, String>;

fn main() {
    if let Err(e) = run() {
        eprintln!("firmware build.rs: {e}");
        std::process::exit(1);
    }
}

fn run() -> Res<()> {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=build/vectors.rs");
    // Host builds (unit tests of the board-independent logic) need no board and no model.
    if env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("none") {
        return Ok(());
    }
    let out = PathBuf::from(env::var("OUT_DIR").map_err(|e| e.to_string())?);
    copy_memory_x(&out)?;
    embed(&out)
}

fn copy_memory_x(out: &Path) -> Res<()> {
    let chosen: Vec<usize> = (0..BOARDS.len())
        .filter(|&i| env::var_os(format!("CARGO_FEATURE_{}", BOARDS[i].to_uppercase())).is_some())
        .collect();
    let [i] = chosen[..] else {
        return Err(format!("enable exactly one board feature of {BOARDS:?}"));
    };
    let src = Path::new("boards").join(BOARD_DIRS[i]).join("memory.x");
    println!("cargo:rerun-if-changed={}", src.display());
    fs::copy(&src, out.join("memory.x")).map_err(|e| format!("{}: {e}", src.display()))?;
    // cortex-m-rt's `device` feature (src/board/vectors.rs) makes link.x include a device.x
    // with the interrupt handlers' names; our table names none (all are DefaultHandler).
    // The nRF52840 PAC writes its own.
    if env::var_os("CARGO_FEATURE_OWN_VECTORS").is_some() {
        fs::write(
            out.join("device.x"),
            "/* No named interrupt handlers: see src/board/vectors.rs. */\n",
        )
        .map_err(|e| e.to_string())?;
    }
    println!("cargo:rustc-link-search={}", out.display());
    Ok(())
}

fn path_from_env(var: &str, default: impl FnOnce() -> String) -> PathBuf {
    println!("cargo:rerun-if-env-changed={var}");
    let p = PathBuf::from(env::var(var).unwrap_or_else(|_| default()));
    println!("cargo:rerun-if-changed={}", p.display());
    p
}

fn embed(out: &Path) -> Res<()> {
    let model_path = path_from_env("MICRODISTILL_MODEL", || DEFAULT_MODEL.into());
    let model_str = model_path.display().to_string();
    let vectors_path = path_from_env("MICRODISTILL_VECTORS", || {
        model_str.replace(".int8.safetensors", ".vectors.safetensors")
    });
    println!("cargo:rerun-if-env-changed=MICRODISTILL_MAX_VECTORS");
    let max: Option<usize> = match env::var("MICRODISTILL_MAX_VECTORS") {
        Ok(s) => Some(
            s.parse()
                .map_err(|e| format!("MICRODISTILL_MAX_VECTORS={s}: {e}"))?,
        ),
        Err(_) => None,
    };

    let model =
        fs::read(&model_path).map_err(|e| format!("model {}: {e}", model_path.display()))?;
    let sha: [u8; 32] = Sha256::digest(&model).into();
    let parsed = runtime_nostd::Model::from_bytes(&model).map_err(|e| {
        format!(
            "model {}: runtime-nostd rejects it: {e}",
            model_path.display()
        )
    })?;
    let layers = dense_layers(&model)?;
    let tree = tree_weight(&model)?;
    fs::write(out.join("model.bin"), &model).map_err(|e| e.to_string())?;

    let raw =
        fs::read(&vectors_path).map_err(|e| format!("vectors {}: {e}", vectors_path.display()))?;
    let sha_hex: String = sha.iter().map(|b| format!("{b:02x}")).collect();
    let v = Vectors::parse(&raw, max, &sha_hex)
        .map_err(|e| format!("vectors {}: {e}", vectors_path.display()))?;
    // Without labels, `label.bin` is empty (LABELS = 0): the self-test says so and checks
    // agreement with the host runtime only.
    let label = v.label.as_deref().unwrap_or_default();
    for (name, bytes) in [
        (names::X_Q, &v.x_q[..]),
        (names::CLASS, &v.class),
        (names::LOGITS, &v.logits),
        (names::LABEL, label),
    ] {
        fs::write(out.join(format!("{name}.bin")), bytes).map_err(|e| e.to_string())?;
    }

    if (v.f, v.c) != (parsed.input_len(), parsed.num_classes()) {
        return Err(format!(
            "vectors are [{}] inputs x [{}] logits, the model has {} inputs and {} classes",
            v.f,
            v.c,
            parsed.input_len(),
            parsed.num_classes()
        ));
    }

    let file_name = |p: &Path| {
        p.file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let code = format!(
        "// Generated by build.rs from {model:?} and {vectors:?}.\n\
         pub const MODEL_NAME: &str = {model_name:?};\n\
         pub const TARGET: &str = {target:?};\n\
         pub const MODEL_LEN: usize = {len};\n\
         pub const MODEL_SHA256: [u8; 32] = {sha:?};\n\
         pub const VECTORS: usize = {n};\n\
         /// Dataset labels embedded: `VECTORS`, or 0 when the vectors file had none.\n\
         pub const LABELS: usize = {labels};\n\
         pub const FEATURES: usize = {f};\n\
         pub const CLASSES: usize = {c};\n\
         /// Bytes of scratch `Model::infer` needs for this artifact.\n\
         pub const SCRATCH_LEN: usize = {scratch};\n\
         /// MLP dense layers: (byte offset of the int8 weights in the artifact, rows, cols).\n\
         pub const DENSE_LAYERS: &[(usize, usize, usize)] = &{layers:?};\n\
         /// The artifact is a soft decision tree (its kind, read at build time: code only a\n\
         /// tree needs, such as the self-test's path log, is left out of MLP images).\n\
         pub const IS_TREE: bool = {is_tree};\n\
         /// Tree: (byte offset of its int8 node rows in the artifact, inner nodes, row length);\n\
         /// `None` for an MLP.\n\
         pub const TREE_WEIGHT: Option<(usize, usize, usize)> = {tree:?};\n\
         /// The widest dot product the benchmark runs (dense layers, tree node rows).\n\
         pub const MAX_DENSE_ROWS: usize = {max_rows};\n\
         pub const MAX_DENSE_COLS: usize = {max_cols};\n",
        model = model_path.display().to_string(),
        vectors = vectors_path.display().to_string(),
        model_name = file_name(&model_path),
        target = env::var("TARGET").unwrap_or_default(),
        len = model.len(),
        n = v.n,
        labels = label.len(),
        f = v.f,
        c = v.c,
        scratch = parsed.scratch_len(),
        is_tree = parsed.kind() == runtime_nostd::Kind::Tree,
        // The benchmark times one tree node (one row) at a time.
        max_rows = layers
            .iter()
            .map(|l| l.1)
            .chain(tree.map(|_| 1))
            .max()
            .unwrap_or(0),
        max_cols = layers.iter().chain(&tree).map(|l| l.2).max().unwrap_or(0),
    );
    fs::write(out.join("embedded.rs"), code).map_err(|e| e.to_string())
}

/// Where each MLP layer's weights sit in the artifact, for the kernel benchmark.
fn dense_layers(model: &[u8]) -> Res<Vec<(usize, usize, usize)>> {
    let st = SafeTensors::deserialize(model).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    while let Ok(t) = st.tensor(&format!("layers.{}.weight", out.len())) {
        let offset = t.data().as_ptr() as usize - model.as_ptr() as usize;
        out.push((offset, t.shape()[0], t.shape()[1]));
    }
    Ok(out)
}

/// Where a tree's node rows sit in the artifact, for the benchmark's one-node dot product.
fn tree_weight(model: &[u8]) -> Res<Option<(usize, usize, usize)>> {
    let st = SafeTensors::deserialize(model).map_err(|e| e.to_string())?;
    let Ok(t) = st.tensor(runtime_nostd::format::TREE_WEIGHT) else {
        return Ok(None);
    };
    let offset = t.data().as_ptr() as usize - model.as_ptr() as usize;
    match t.shape() {
        &[nodes, features] => Ok(Some((offset, nodes, features))),
        s => Err(format!(
            "{}: shape {s:?}, want [nodes, features]",
            runtime_nostd::format::TREE_WEIGHT
        )),
    }
}
