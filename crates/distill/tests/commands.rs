//! The subcommands of `distill` on the committed fixtures: `inspect` and `eval` read an int8
//! artifact the way the device does, and refuse bad input with one line and a non-zero exit.
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sha2::{Digest, Sha256};

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

fn fixture(name: &str) -> PathBuf {
    repo("tests/fixtures").join(name)
}

fn distill(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_distill"))
        .args(args)
        .output()
        .expect("the distill binary runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs `distill ARGS…` (strings or paths).
macro_rules! run {
    ($($a:expr),* $(,)?) => { distill(&[$(std::ffi::OsStr::new(&$a)),*]) };
}

/// A failure is one line on stderr, naming `needle`, with exit status 1 and no panic.
fn refused(o: &Output, needle: &str) {
    let e = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(e.contains(needle), "expected {needle:?} in {e}");
    assert!(!e.contains("panicked"), "{e}");
    assert_eq!(e.trim_end().lines().count(), 1, "one line: {e}");
}

/// A change made to an artifact's bytes.
type Damage = fn(&mut Vec<u8>);

/// A copy of `name` in a fresh folder, changed by `damage`; the ONNX twin is not copied.
fn damaged(dir: &Path, name: &str, damage: impl Fn(&mut Vec<u8>)) -> PathBuf {
    let mut bytes = std::fs::read(fixture(name)).unwrap();
    damage(&mut bytes);
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn help_lists_every_subcommand() {
    let o = run!("--help");
    assert!(o.status.success());
    let h = text(&o.stdout);
    for cmd in [
        "export",
        "eval",
        "inspect",
        "explain",
        "sweep",
        "--student-epochs",
    ] {
        assert!(h.contains(cmd), "--help lacks {cmd}:\n{h}");
    }
}

#[test]
fn inspect_shows_what_the_artifact_holds() {
    let path = fixture("demo-mlp.int8.safetensors");
    let sha = Sha256::digest(std::fs::read(&path).unwrap());
    let sha: String = sha.iter().map(|b| format!("{b:02x}")).collect();
    let o = run!("inspect", path);
    let out = text(&o.stdout);
    assert!(o.status.success(), "{}", text(&o.stderr));
    for needle in [
        sha.as_str(),
        "kind       mlp, 2 dense layers",
        "784 → 128",
        "128 → 10",
        "(ReLU)",
        "MACs       101632 per inference",
        "Ankle boot",
        "nrf52840    fits",
        "microbit",
    ] {
        assert!(out.contains(needle), "inspect lacks {needle:?}:\n{out}");
    }
    let tree = run!("inspect", fixture("demo-tree.int8.safetensors"));
    let out = text(&tree.stdout);
    assert!(
        out.contains("kind       tree, depth 6 (63 inner nodes"),
        "{out}"
    );
}

#[test]
fn inspect_and_eval_refuse_damaged_artifacts_by_the_runtime_error_name() {
    let dir = tempfile::tempdir().unwrap();
    let name = "demo-mlp.int8.safetensors";
    let cases: [(&str, Damage); 4] = [
        ("TooShort", |b| b.truncate(5)),
        ("DataLengthMismatch", |b| b.truncate(b.len() - 100)),
        ("InvalidHeaderStart", |b| b[8] = b'x'),
        ("WrongFormat", |b| {
            let at = b.windows(9).position(|w| w == b"microdist").unwrap();
            b[at] = b'M';
        }),
    ];
    for (error, damage) in cases {
        let p = damaged(dir.path(), name, damage);
        refused(&run!("inspect", p), error);
        refused(
            &run!("eval", p, "--data", repo("data/fashion-mnist-subset")),
            error,
        );
    }
    refused(
        &run!("inspect", dir.path().join("absent.safetensors")),
        "cannot read",
    );
    refused(
        &run!("inspect", fixture(name), "--board", "esp32"),
        "unknown board `esp32`",
    );
}

#[test]
fn eval_runs_the_artifact_and_its_onnx_twin_on_a_test_split() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("confusion.png");
    let vectors = dir.path().join("all.vectors.safetensors");
    let o = run!(
        "eval",
        fixture("demo-mlp.int8.safetensors"),
        "--data",
        repo("data/fashion-mnist-subset"),
        "--out",
        png,
        "--vectors",
        vectors
    );
    let out = text(&o.stdout);
    assert!(o.status.success(), "{}\n{out}", text(&o.stderr));
    for needle in [
        "test split",
        "500 inputs",
        "demo-mlp.int8.onnx",
        "classes differ on 0 / 500",
        "Trouser",
    ] {
        assert!(out.contains(needle), "eval lacks {needle:?}:\n{out}");
    }
    // The demo MLP scores 89% on the full test set: far above chance on these 500.
    let acc: f64 = out
        .lines()
        .find_map(|l| l.strip_prefix("accuracy   "))
        .and_then(|l| l.split('%').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no accuracy line:\n{out}"));
    assert!(acc > 80.0, "{acc}");
    assert!(png.exists());
    // Every test input, raw and quantized, for another engine (scripts/onnxruntime_agree.py).
    let raw = std::fs::read(&vectors).unwrap();
    let st = safetensors::SafeTensors::deserialize(&raw).unwrap();
    use runtime_nostd::format::vectors as v;
    assert_eq!(st.tensor(v::X).unwrap().shape(), [500, 784]);
    assert_eq!(st.tensor(v::X_Q).unwrap().shape(), [500, 784]);
    assert_eq!(st.tensor(v::CLASS).unwrap().shape(), [500]);
}

#[test]
fn eval_index_prints_one_inputs_scores_and_a_trees_path() {
    let data = repo("data/fashion-mnist-subset");
    let o = run!(
        "eval",
        fixture("demo-mlp.int8.safetensors"),
        "--data",
        data,
        "--index",
        "3"
    );
    let out = text(&o.stdout);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        out.contains("input 3: true class") && out.contains("softmax"),
        "{out}"
    );
    assert_eq!(out.matches("%").count(), 10, "ten probabilities:\n{out}");
    assert!(out.contains("(the same class)"), "{out}");
    let o = run!(
        "eval",
        fixture("demo-tree.int8.safetensors"),
        "--data",
        data,
        "--index",
        "0"
    );
    let out = text(&o.stdout);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        out.contains("path     nodes 0 ") && out.contains("→ leaf"),
        "{out}"
    );
}

#[test]
fn eval_refuses_data_that_does_not_fit_and_an_index_out_of_range() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("table");
    std::fs::create_dir(&csv).unwrap();
    std::fs::write(csv.join("train.csv"), "a,b,label\n0,1,0\n1,0,1\n").unwrap();
    std::fs::write(csv.join("test.csv"), "a,b,label\n0,1,0\n").unwrap();
    let art = fixture("demo-mlp.int8.safetensors");
    refused(
        &run!("eval", art, "--data", csv),
        "the artifact takes 1x28x28 (784 values)",
    );
    let data = repo("data/fashion-mnist-subset");
    refused(
        &run!("eval", art, "--data", data, "--index", "500"),
        "--index 500 is out of range",
    );
    refused(
        &run!("eval", art, "--data", dir.path().join("none")),
        "none",
    );
}
