//! Bad input: a clear error, and no output file left behind.

mod common;

use std::path::Path;

use export::{Board, Dataset, ExportError, ExportOptions, FloatBody, FloatModel};

fn export_into(
    dir: &Path,
    model: &FloatModel,
    calib: &Dataset,
    board: Option<Board>,
) -> ExportError {
    let eval = common::data(20, model.features(), model.num_classes(), 99);
    let opts = ExportOptions {
        out_dir: dir.into(),
        board,
        ..ExportOptions::default()
    };
    let e = export::run(model, calib, &eval, &opts).expect_err("export must fail");
    assert_eq!(
        common::files(dir),
        Vec::<String>::new(),
        "files left behind after: {e}"
    );
    e
}

fn ok_parts() -> (FloatModel, Dataset) {
    (common::mlp(10, &[6], 3, 1), common::data(30, 10, 3, 2))
}

#[test]
fn non_finite_weight_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (mut m, calib) = ok_parts();
    if let FloatBody::Mlp(l) = &mut m.body {
        l[1].weight[4] = f32::NAN;
    }
    let e = export_into(dir.path(), &m, &calib, None);
    assert!(
        matches!(&e, ExportError::NonFinite { tensor, index: 4 } if tensor == "layers.1.weight"),
        "{e}"
    );
}

#[test]
fn infinite_normalization_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (mut m, calib) = ok_parts();
    m.mean[0] = f32::INFINITY;
    assert!(matches!(
        export_into(dir.path(), &m, &calib, None),
        ExportError::NonFinite { .. }
    ));
}

#[test]
fn shapes_disagreeing_with_config_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (mut m, calib) = ok_parts();
    m.classes.push("extra".into());
    let e = export_into(dir.path(), &m, &calib, None);
    assert!(
        matches!(&e, ExportError::Shape(s) if s.contains("4 classes")),
        "{e}"
    );
    let (mut m, _) = ok_parts();
    if let FloatBody::Mlp(l) = &mut m.body {
        l[0].bias.pop();
    }
    assert!(matches!(
        export_into(dir.path(), &m, &calib, None),
        ExportError::Shape(_)
    ));
}

#[test]
fn calibration_of_wrong_width_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (m, _) = ok_parts();
    let e = export_into(dir.path(), &m, &common::data(30, 11, 3, 2), None);
    assert!(
        matches!(&e, ExportError::Data { what, reason } if what == "calibration data" && reason.contains("11 features")),
        "{e}"
    );
}

#[test]
fn model_too_big_for_the_board_is_refused_with_figures() {
    let dir = tempfile::tempdir().unwrap();
    let m = common::mlp(400, &[700], 10, 5);
    let e = export_into(
        dir.path(),
        &m,
        &common::data(20, 400, 10, 6),
        Some(Board::Lm3s6965),
    );
    let msg = e.to_string();
    assert!(matches!(e, ExportError::DoesNotFit { .. }), "{msg}");
    assert!(msg.contains("lm3s6965") && msg.contains("196608"), "{msg}");
}

#[test]
fn unstorable_class_name_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (mut m, calib) = ok_parts();
    m.classes[1] = "a\"b".into();
    assert!(matches!(
        export_into(dir.path(), &m, &calib, None),
        ExportError::UnstorableString(_)
    ));
}

#[test]
fn bad_options_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (m, calib) = ok_parts();
    let eval = common::data(20, 10, 3, 9);
    for opts in [
        ExportOptions {
            out_dir: dir.path().into(),
            stem: "../x".into(),
            ..ExportOptions::default()
        },
        ExportOptions {
            out_dir: dir.path().into(),
            calib_samples: 0,
            ..ExportOptions::default()
        },
        ExportOptions {
            out_dir: dir.path().into(),
            clipping: export::Clipping::Percentile(20.0),
            ..ExportOptions::default()
        },
    ] {
        assert!(matches!(
            export::run(&m, &calib, &eval, &opts),
            Err(ExportError::Option(_))
        ));
    }
    assert_eq!(common::files(dir.path()), Vec::<String>::new());
}

#[test]
fn unknown_kind_and_corrupt_files_are_refused_by_the_loader() {
    let (m, _) = ok_parts();
    let good = m.to_safetensors_bytes().unwrap();
    let back = FloatModel::from_safetensors_bytes(&good).unwrap();
    assert_eq!(back.body, m.body);
    // Same length, so the header length field stays valid.
    let e = FloatModel::from_safetensors_bytes(&replace(
        &good,
        b"\"kind\":\"mlp\"",
        b"\"kind\":\"gru\"",
    ))
    .unwrap_err();
    assert!(
        matches!(&e, ExportError::UnknownKind(k) if k == "gru"),
        "{e}"
    );
    // An MLP file relabelled as a CNN lacks the CNN's layer list.
    let e = FloatModel::from_safetensors_bytes(&replace(
        &good,
        b"\"kind\":\"mlp\"",
        b"\"kind\":\"cnn\"",
    ))
    .unwrap_err();
    assert!(e.to_string().contains("layers"), "{e}");
    let e = FloatModel::from_safetensors_bytes(&good[..good.len() - 1]).unwrap_err();
    assert!(matches!(e, ExportError::Safetensors { .. }), "{e}");
    let e = FloatModel::from_safetensors_bytes(&replace(
        &good,
        b"\"hidden\":\"6\"",
        b"\"hidden\":\"7\"",
    ))
    .unwrap_err();
    assert!(matches!(e, ExportError::Shape(_)), "{e}");
}

#[test]
fn float_tree_whose_nodes_do_not_match_its_depth_is_refused_by_the_loader() {
    let good = common::tree(5, 3, 4, 7).to_safetensors_bytes().unwrap();
    assert!(FloatModel::from_safetensors_bytes(&good).is_ok());
    // 7 inner nodes and 8 leaves, but the metadata says depth 2 (3 and 4) or 4 (15 and 16).
    for depth in [b"2", b"4"] {
        let mut to = b"\"depth\":\"".to_vec();
        to.extend_from_slice(depth);
        to.push(b'"');
        let e = FloatModel::from_safetensors_bytes(&replace(&good, b"\"depth\":\"3\"", &to))
            .unwrap_err();
        assert!(matches!(e, ExportError::Shape(_)), "{e}");
    }
    // Outside the runtime's 1..=10.
    let e =
        FloatModel::from_safetensors_bytes(&replace(&good, b"\"depth\":\"3\"", b"\"depth\":\"0\""))
            .unwrap_err();
    assert!(matches!(e, ExportError::Shape(_)), "{e}");
}

/// `bytes` with the first `from` replaced by `to` (same length, so offsets stay valid).
fn replace(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let at = bytes
        .windows(from.len())
        .position(|w| w == from)
        .expect("pattern present");
    let mut out = bytes.to_vec();
    out[at..at + to.len()].copy_from_slice(to);
    out
}

/// Two features on scales 1000× apart, normalized together: the class is the sign of the
/// small one, which one shared int8 input scale cannot see. Float is right on every row,
/// int8 is near chance: the export is refused with the figures and the cause, unless kept.
#[test]
fn an_int8_model_far_below_float_is_refused_with_the_cause() {
    let mut r = common::Lcg::new(3);
    let rows = 200;
    let mut x = Vec::new();
    let mut y = Vec::new();
    for i in 0..rows {
        let small = if i % 2 == 0 { 0.5 } else { -0.5 } * r.next(0.2, 1.0);
        x.extend([r.next(-1000.0, 1000.0), small]);
        y.push(u32::from(small > 0.0));
    }
    let data = Dataset::new(x, 2, Some(y)).unwrap();
    let model = FloatModel {
        input_shape: vec![2],
        classes: common::classes(2),
        mean: vec![0.0],
        std: vec![577.0],
        body: FloatBody::Mlp(vec![export::Dense {
            out_features: 2,
            in_features: 2,
            weight: vec![0.0, -1000.0, 0.0, 1000.0],
            bias: vec![0.0, 0.0],
        }]),
        source_sha256: [1; 32],
        config: None,
    };
    let dir = tempfile::tempdir().unwrap();
    let opts = ExportOptions {
        out_dir: dir.path().into(),
        calib_samples: rows,
        ..ExportOptions::default()
    };
    let e = export::run(&model, &data, &data, &opts).expect_err("the drop must be refused");
    let ExportError::Int8Drop { float, int8, .. } = &e else {
        panic!("{e}")
    };
    assert_eq!(*float, 100.0);
    assert!(*int8 < 75.0, "{e}");
    let text = e.to_string();
    assert!(
        text.contains("1 of 2 varying input features span fewer than 4")
            && text.contains("per-feature")
            && text.contains("--keep-int8"),
        "{text}"
    );
    assert_eq!(common::files(dir.path()), Vec::<String>::new());
    // Told to keep it, the same export is written.
    let keep = ExportOptions {
        max_int8_drop: None,
        ..opts
    };
    let report = export::run(&model, &data, &data, &keep).unwrap();
    assert!(report.accuracy.unwrap().int8_runtime < 75.0);
}
