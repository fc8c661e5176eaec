//! The distill binary end to end on the committed subset: outputs, determinism, resume, and
//! clear errors for bad input.
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn subset() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/fashion-mnist-subset")
}

/// A quick run: MLP teacher, 600 training images, one epoch each, no export unless asked.
fn distill(out: &Path, extra: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_distill"));
    cmd.args(["--no-progress", "--teacher", "mlp", "--teacher-epochs", "1"])
        .args([
            "--student-epochs",
            "2",
            "--student-hidden",
            "16",
            "--train-limit",
            "600",
        ])
        .arg("--out")
        .arg(out)
        .arg("--cache")
        .arg(out.join("cache"))
        .arg("--data")
        .arg(subset())
        .args(extra);
    cmd.output().expect("the distill binary runs")
}

/// A run on the data folder `data` (not the subset), writing under `out`.
fn distill_on(out: &Path, data: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_distill"))
        .arg("--no-progress")
        .arg("--out")
        .arg(out)
        .arg("--cache")
        .arg(out.join("cache"))
        .arg("--data")
        .arg(data)
        .args(extra)
        .output()
        .expect("the distill binary runs")
}

/// Every tensor of a safetensors file: (name, shape, bytes), sorted by name.
fn tensors(bytes: &[u8]) -> Vec<(String, Vec<usize>, Vec<u8>)> {
    let st = safetensors::SafeTensors::deserialize(bytes).unwrap();
    let mut v: Vec<_> = st
        .tensors()
        .into_iter()
        .map(|(n, t)| (n, t.shape().to_vec(), t.data().to_vec()))
        .collect();
    v.sort();
    v
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_run_writes_everything_and_is_deterministic() {
    // `--min-val-rows 50`: the 60 validation rows of this quick run are kept, so the KD
    // settings are searched.
    let dir = tempfile::tempdir().unwrap();
    let o = distill(
        dir.path(),
        &["--name", "a", "--no-export", "--min-val-rows", "50"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let run = dir.path().join("a");
    for f in [
        "config.toml",
        "metrics.jsonl",
        "student.safetensors",
        "student-labels.safetensors",
        "report.md",
        "summary.json",
        "training.png",
    ] {
        assert!(run.join(f).exists(), "missing {f}");
    }
    let report = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(
        report.contains("| KD student |")
            && report.contains("| label-only student |")
            && report.contains("| linear baseline (labels, no hidden layer) |")
            && report.contains("Against the linear baseline"),
        "{report}"
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("summary.json")).unwrap()).unwrap();
    let models = summary["models"].as_array().unwrap();
    assert_eq!(
        models.len(),
        4,
        "teacher, KD, label-only, linear: {summary}"
    );
    assert!(
        models
            .iter()
            .all(|m| m["test_acc"].as_f64().unwrap() > 10.0),
        "{summary}"
    );
    // α and T were not given: the KD student was chosen from the grid on validation, and
    // the saved student records the chosen settings, not the search.
    assert!(report.contains("(chosen)"), "{report}");
    let bytes = std::fs::read(run.join("student.safetensors")).unwrap();
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let config = &header.metadata().as_ref().unwrap()["config"];
    assert!(config.contains("search = false"), "{config}");
    // Teacher 1 epoch + the KD grid, the label-only twin and the linear baseline × 2 epochs.
    let grid = distill::students::kd_grid().len();
    let lines = std::fs::read_to_string(run.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .count();
    assert_eq!(lines, 1 + 2 * (grid + 2));

    // Same seed, same numbers: a second run (reusing the cached teacher) gives the same student.
    let o = distill(
        dir.path(),
        &["--name", "b", "--no-export", "--min-val-rows", "50"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("reusing the cached"), "{}", stderr(&o));
    let a = std::fs::read(run.join("student.safetensors")).unwrap();
    let b = std::fs::read(dir.path().join("b/student.safetensors")).unwrap();
    // The metadata differs (it records the run name); every tensor must be equal.
    let (ta, tb) = (tensors(&a), tensors(&b));
    assert!(!ta.is_empty());
    assert!(ta == tb, "same seed gave different students");

    // --resume on a finished run trains nothing more and reproduces the same files.
    let o = distill(
        dir.path(),
        &[
            "--name",
            "a",
            "--no-export",
            "--resume",
            "--min-val-rows",
            "50",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("resumed from"), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(run.join("metrics.jsonl"))
            .unwrap()
            .lines()
            .count(),
        1 + 2 * (grid + 2)
    );
    assert!(std::fs::read(run.join("student.safetensors")).unwrap() == a);
}

#[test]
fn bad_data_names_the_file_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    for f in std::fs::read_dir(subset()).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, data.join(f.file_name().unwrap())).unwrap();
    }
    // Truncate the training images.
    let images = data.join("train-images-idx3-ubyte.gz");
    let bytes = std::fs::read(&images).unwrap();
    std::fs::write(&images, &bytes[..bytes.len() / 2]).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_distill"));
    let o = cmd
        .args(["--no-progress", "--out"])
        .arg(dir.path())
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("train-images-idx3-ubyte.gz") && e.contains("gzip"),
        "{e}"
    );
    assert!(!e.contains("panicked"), "{e}");

    let out = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_distill"))
        .args(["--no-progress", "--data", "/nonexistent/dir", "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(stderr(&o).contains("/nonexistent/dir"), "{}", stderr(&o));
    let left: Vec<_> = std::fs::read_dir(out.path()).unwrap().collect();
    assert!(
        left.is_empty(),
        "unreadable data left a run folder: {left:?}"
    );
}

#[test]
fn a_label_out_of_range_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("csv");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(
        data.join("train.csv"),
        "a,b,label\n0,1,0\n1,0,1\n1,1,1\n0,0,0\n",
    )
    .unwrap();
    std::fs::write(data.join("test.csv"), "a,b,label\n0,1,0\n1,0,7\n").unwrap();
    std::fs::write(data.join("classes.txt"), "zero\none\n").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_distill"))
        .args(["--no-progress", "--teacher", "mlp", "--no-export", "--out"])
        .arg(dir.path())
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains("test.csv") && e.contains("label 7"), "{e}");
    assert!(!e.contains("panicked"), "{e}");
}

#[test]
fn a_tree_run_exports_the_tree_and_draws_it() {
    let dir = tempfile::tempdir().unwrap();
    let o = distill(
        dir.path(),
        &["--name", "t", "--student", "tree", "--depth", "3"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let run = dir.path().join("t");
    for f in ["student.int8.safetensors", "student.int8.onnx", "tree.png"] {
        assert!(run.join(f).exists(), "{f} missing");
    }
    let model = export::FloatModel::load(&run.join("student.safetensors")).unwrap();
    assert!(matches!(&model.body, export::FloatBody::Tree(t) if t.depth == 3));
    let report = std::fs::read_to_string(run.join("report.md")).unwrap();
    for needle in [
        "max path, float",
        "| distilled |",
        "| label-only |",
        "bound",
    ] {
        assert!(
            report.contains(needle),
            "report lacks {needle:?}:\n{report}"
        );
    }
    let png = run.join("explain-0.png");
    let e = Command::new(env!("CARGO_BIN_EXE_distill"))
        .arg("explain")
        .arg("--model")
        .arg(run.join("student.safetensors"))
        .arg("--data")
        .arg(subset())
        .args(["--index", "0"])
        .output()
        .unwrap();
    assert!(e.status.success(), "{}", stderr(&e));
    assert!(png.exists());
    let bad = Command::new(env!("CARGO_BIN_EXE_distill"))
        .arg("explain")
        .arg("--model")
        .arg(run.join("student.safetensors"))
        .arg("--data")
        .arg(subset())
        .args(["--index", "100000"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("out of range"), "{}", stderr(&bad));

    // `distill export` on the run's own files writes the same artifact again.
    let calib = run.join("calib.safetensors");
    let rows = safetensors::SafeTensors::deserialize(&std::fs::read(&calib).unwrap())
        .unwrap()
        .tensor("x")
        .unwrap()
        .shape()[0];
    let again = dir.path().join("again");
    let x = Command::new(env!("CARGO_BIN_EXE_distill"))
        .arg("export")
        .arg("--model")
        .arg(run.join("student.safetensors"))
        .arg("--calib")
        .arg(&calib)
        .arg("--eval")
        .arg(&calib)
        .arg("--out-dir")
        .arg(&again)
        .args(["--calib-samples", &rows.to_string()])
        .output()
        .unwrap();
    assert!(x.status.success(), "{}", stderr(&x));
    assert_eq!(
        std::fs::read(again.join("student.int8.safetensors")).unwrap(),
        std::fs::read(run.join("student.int8.safetensors")).unwrap()
    );
}

#[test]
fn a_bf16_teacher_trains_and_the_cnn_asks_for_cuda() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--teacher-precision",
        "bf16",
        "--no-export",
        "--no-baseline",
    ];
    let o = distill(dir.path(), &args);
    assert!(o.status.success(), "{}", stderr(&o));
    let config = std::fs::read_to_string(dir.path().join("fashion-mnist/config.toml")).unwrap();
    assert!(config.contains(r#"precision = "bf16""#), "{config}");
    let o = Command::new(env!("CARGO_BIN_EXE_distill"))
        .args(["--no-progress", "--teacher", "cnn", "--data"])
        .arg(subset())
        .arg("--out")
        .arg(dir.path())
        .args(args)
        .output()
        .unwrap();
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains("bf16 needs a CUDA device"), "{e}");
    assert!(!e.contains("panicked"), "{e}");
}

#[test]
fn val_fraction_zero_trains_on_every_row_and_reports_no_validation() {
    let dir = tempfile::tempdir().unwrap();
    let o = distill(
        dir.path(),
        &["--name", "all", "--no-export", "--val-fraction", "0"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let log = stderr(&o);
    assert!(!log.contains(" val "), "{log}");
    let metrics = std::fs::read_to_string(dir.path().join("all/metrics.jsonl")).unwrap();
    assert_eq!(metrics.lines().count(), 7, "{metrics}");
    assert!(
        metrics.lines().all(|l| l.contains("\"val_acc\":null")),
        "{metrics}"
    );
    assert!(dir.path().join("all/training.png").exists());

    // The default would hold out 10%, 60 rows: too few to choose on, so nothing is held out
    // and the log and the report say why.
    let o = distill(dir.path(), &["--name", "small", "--no-export"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let log = stderr(&o);
    assert!(
        !log.contains(" val ") && log.contains("data: No validation split: 60 of 600 rows"),
        "{log}"
    );
    let report = std::fs::read_to_string(dir.path().join("small/report.md")).unwrap();
    assert!(
        report.contains("No validation split: 60 of 600 rows")
            && report.contains("not searched without a validation split"),
        "{report}"
    );

    // With the threshold lowered, the 10% is held out and reported every epoch.
    let o = distill(
        dir.path(),
        &["--name", "held", "--no-export", "--min-val-rows", "50"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains(" val "), "{}", stderr(&o));
}

#[test]
fn a_diverging_loss_stops_the_run_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let o = distill(
        dir.path(),
        &["--name", "d", "--no-export", "--student-lr", "1e6"],
    );
    assert!(!o.status.success(), "a learning rate of 1e6 ran to the end");
    let e = stderr(&o);
    assert!(
        e.contains("error: kd-student: the training loss diverged at epoch 1 (")
            && e.contains("lower the learning rate"),
        "{e}"
    );
    assert!(!e.contains("panicked"), "{e}");
    assert!(!dir.path().join("d/report.md").exists());
}

#[test]
fn a_picture_that_cannot_be_written_leaves_the_run_whole() {
    let dir = tempfile::tempdir().unwrap();
    // A directory where tree.png must go: the picture's final rename fails, as a full disk
    // or an unwritable file would; nothing else in the run writes there.
    std::fs::create_dir_all(dir.path().join("p/tree.png")).unwrap();
    let o = distill(
        dir.path(),
        &["--name", "p", "--student", "tree", "--depth", "2"],
    );
    let e = stderr(&o);
    assert!(o.status.success(), "{e}");
    assert!(e.contains("warning: tree.png not drawn: "), "{e}");
    let run = dir.path().join("p");
    let report = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(
        report.contains("*tree.png was skipped (not drawn: "),
        "{report}"
    );
    assert!(!report.contains("](tree.png)"), "{report}");
    for f in [
        "student.int8.safetensors",
        "training.png",
        "confusion-0.png",
    ] {
        assert!(run.join(f).exists(), "{f} missing");
    }
}

#[test]
fn a_refused_export_still_leaves_the_report_and_the_float_students() {
    let dir = tempfile::tempdir().unwrap();
    // 784 × 300 int8 weights do not fit the micro:bit's 192 KiB of flash for the model.
    let o = Command::new(env!("CARGO_BIN_EXE_distill"))
        .args(["--no-progress", "--teacher", "mlp", "--teacher-epochs", "1"])
        .args([
            "--student-epochs",
            "1",
            "--student-hidden",
            "300",
            "--alpha",
            "0.5",
        ])
        .args([
            "--train-limit",
            "300",
            "--name",
            "big",
            "--board",
            "microbit",
        ])
        .arg("--out")
        .arg(dir.path())
        .arg("--data")
        .arg(subset())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("does not fit microbit") && !e.contains("panicked"),
        "{e}"
    );
    let run = dir.path().join("big");
    let report = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(report.contains("**Not exported.**"), "{report}");
    assert!(run.join("student.safetensors").exists());
    assert!(!run.join("student.int8.safetensors").exists());
}

#[test]
fn a_table_is_standardized_per_feature_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("table");
    std::fs::create_dir(&data).unwrap();
    // Two informative columns on scales 10^4 apart, and a constant one.
    let rows = |n: usize, seed: usize| {
        let mut s = String::from("big,small,flat,label\n");
        for i in 0..n {
            let k = (i * 7 + seed) % 13;
            let label = usize::from(k > 6);
            s += &format!("{},{},{},{label}\n", 10_000 + k * 1000, k as f64 * 0.1, 5);
        }
        s
    };
    std::fs::write(data.join("train.csv"), rows(120, 0)).unwrap();
    std::fs::write(data.join("test.csv"), rows(40, 3)).unwrap();
    let o = distill_on(
        dir.path(),
        &data,
        &[
            "--teacher",
            "mlp",
            "--teacher-epochs",
            "1",
            "--student-epochs",
            "1",
            "--name",
            "t",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let m = export::FloatModel::load(&dir.path().join("t/student.safetensors")).unwrap();
    assert_eq!(m.mean.len(), 3, "one mean per feature");
    assert!(m.std[0] > 1000.0 && m.std[1] < 1.0, "{:?}", m.std);
    assert_eq!(m.std[2], 1.0, "a constant feature keeps std 1");
}

#[test]
fn a_ts_pair_trains_as_it_is_with_its_class_names() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("toy");
    std::fs::create_dir(&data).unwrap();
    // 3 channels × 20 steps on scales 10^5 apart; class `burst` lifts the middle channel's
    // second half. Labels are names, indexed in @classLabel order.
    let series = |n: usize, seed: usize| {
        let mut s = String::from(
            "# made by the test\n@problemName Toy\n@timeStamps false\n@missing false\n\
             @univariate false\n@dimensions 3\n@equalLength true\n@seriesLength 20\n\
             @classLabel true calm burst\n@data\n",
        );
        for i in 0..n {
            let burst = (i * 7 + seed) % 5 < 2;
            let channel = |c: usize| -> String {
                let v = (0..20).map(|t| {
                    let wobble = ((i * 3 + t * 5 + c) % 7) as f64 / 7.0;
                    match c {
                        0 => 1000.0 + 100.0 * wobble,
                        1 => wobble + if burst && t >= 10 { 2.0 } else { 0.0 },
                        _ => 0.01 * wobble,
                    }
                });
                v.map(|v| format!("{v}")).collect::<Vec<_>>().join(",")
            };
            let label = if burst { "burst" } else { "calm" };
            s += &format!("{}:{}:{}:{label}\n", channel(0), channel(1), channel(2));
        }
        s
    };
    std::fs::write(data.join("Toy_TRAIN.ts"), series(60, 0)).unwrap();
    std::fs::write(data.join("Toy_TEST.ts"), series(30, 1)).unwrap();
    let o = distill_on(
        dir.path(),
        &data,
        &[
            "--teacher-epochs",
            "1",
            "--student-epochs",
            "2",
            "--no-export",
            "--name",
            "ts",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let log = format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(&o));
    assert!(
        log.contains("teacher: auto → MLP for samples of shape [3, 20]"),
        "{log}"
    );
    let run = dir.path().join("ts");
    let report = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(report.contains("2 classes: calm, burst."), "{report}");
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["classes"], serde_json::json!(["calm", "burst"]));
    let m = export::FloatModel::load(&run.join("student.safetensors")).unwrap();
    assert_eq!(m.input_shape, vec![3, 20]);
    assert_eq!(m.classes, vec!["calm", "burst"]);
    assert_eq!(m.mean.len(), 60, "one mean per channel-time position");
    assert!(m.std[0] > 10.0 && m.std[59] < 0.1, "{:?}", m.std);
}
