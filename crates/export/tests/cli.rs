//! The `export` binary: exit status, messages, and no partial output on failure.

mod common;

use std::path::Path;
use std::process::Command;

use export::FloatBody;

fn write_inputs(dir: &Path, model: &export::FloatModel, calib_width: usize) {
    std::fs::write(
        dir.join("student.safetensors"),
        model.to_safetensors_bytes().unwrap(),
    )
    .unwrap();
    let calib = common::data(40, calib_width, 3, 2);
    std::fs::write(
        dir.join("calib.safetensors"),
        calib.to_safetensors_bytes().unwrap(),
    )
    .unwrap();
    let eval = common::data(25, model.features(), 3, 3);
    std::fs::write(
        dir.join("eval.safetensors"),
        eval.to_safetensors_bytes().unwrap(),
    )
    .unwrap();
}

fn export(dir: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_export"))
        .args([
            "--model",
            "student.safetensors",
            "--calib",
            "calib.safetensors",
            "--eval",
            "eval.safetensors",
        ])
        .arg("--out-dir")
        .arg(out)
        .args(extra)
        .current_dir(dir)
        .output()
        .unwrap()
}

#[test]
fn good_input_writes_four_files_and_prints_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path(), &common::mlp(10, &[8], 3, 1), 10);
    let out = dir.path().join("out");
    let o = export(
        dir.path(),
        &out,
        &[
            "--board",
            "microbit",
            "--clipping",
            "percentile",
            "--percentile",
            "99.9",
        ],
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        stdout.contains("sha256")
            && stdout.contains("microbit: fits")
            && stdout.contains("accuracy"),
        "{stdout}"
    );
    assert_eq!(common::files(&out).len(), 4);
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("student.export.json")).unwrap()).unwrap();
    assert_eq!(json["macs"], 10 * 8 + 8 * 3);
}

#[test]
fn bad_inputs_exit_nonzero_and_leave_nothing() {
    let mut nan = common::mlp(10, &[8], 3, 1);
    if let FloatBody::Mlp(l) = &mut nan.body {
        l[0].bias[2] = f32::NEG_INFINITY;
    }
    let cases: [(export::FloatModel, usize, &[&str], &str); 4] = [
        (nan, 10, &[], "non-finite value in `layers.0.bias`"),
        (common::mlp(10, &[8], 3, 1), 9, &[], "9 features"),
        (
            common::mlp(10, &[8], 3, 1),
            10,
            &["--board", "esp32"],
            "unknown board",
        ),
        (
            common::mlp(10, &[8], 3, 1),
            10,
            &["--calib-samples", "0"],
            "calib_samples",
        ),
    ];
    for (model, width, extra, message) in cases {
        let dir = tempfile::tempdir().unwrap();
        write_inputs(dir.path(), &model, width);
        let out = dir.path().join("out");
        let o = export(dir.path(), &out, extra);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{message}: succeeded");
        assert!(stderr.contains(message), "expected {message:?} in {stderr}");
        assert_eq!(common::files(&out), Vec::<String>::new(), "{message}");
    }
}
