//! Float file → loader → the same model; export → runtime-nostd → identical tensors; export
//! twice → byte-identical files.

mod common;

use export::{Clipping, ExportOptions, QuantBody};
use runtime_nostd::format::{LayerTensor, layer_name, vectors as vn};
use runtime_nostd::{Kind, Model};
use safetensors::SafeTensors;

fn bytes_of<T: Copy>(v: &[T], f: impl Fn(T) -> Vec<u8>) -> Vec<u8> {
    v.iter().flat_map(|&x| f(x)).collect()
}

#[test]
fn artifact_reads_back_identically_through_runtime_nostd() {
    let model = common::mlp(20, &[12, 9], 4, 1);
    let calib = common::data(64, 20, 4, 2);
    let eval = common::data(50, 20, 4, 3);
    let dir = tempfile::tempdir().unwrap();
    let opts = ExportOptions {
        out_dir: dir.path().into(),
        vectors: 10,
        ..ExportOptions::default()
    };
    let report = export::run(&model, &calib, &eval, &opts).unwrap();
    let bytes = std::fs::read(&report.artifact).unwrap();

    let rt = Model::from_bytes(&bytes).unwrap();
    assert_eq!(rt.kind(), Kind::Mlp);
    assert_eq!(
        (rt.input_len(), rt.num_classes(), rt.num_layers_or_depth()),
        (20, 4, 3)
    );
    assert_eq!(rt.source_sha256(), "07".repeat(32));
    assert_eq!(rt.macs(), report.macs);
    assert_eq!(rt.scratch_len(), report.scratch_bytes);
    assert_eq!(report.ram_bytes, report.scratch_bytes + 20 + 4);

    // The same quantization, recomputed in memory, must be exactly what the file holds.
    let qm = export::quantize(&model, &calib, opts.calib_samples, Clipping::MinMax).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let get = |name: String| st.tensor(&name).unwrap().data().to_vec();
    let QuantBody::Mlp(layers) = &qm.body else {
        panic!("not an MLP")
    };
    for (k, l) in layers.iter().enumerate() {
        let name = |t| layer_name(k, t).to_string();
        assert_eq!(
            get(name(LayerTensor::Weight)),
            bytes_of(&l.weight, |w| vec![w as u8])
        );
        assert_eq!(
            get(name(LayerTensor::Bias)),
            bytes_of(&l.bias, |b| b.to_le_bytes().to_vec())
        );
        assert_eq!(
            get(name(LayerTensor::Multiplier)),
            bytes_of(&l.multiplier, |b| b.to_le_bytes().to_vec())
        );
        assert_eq!(
            get(name(LayerTensor::Shift)),
            bytes_of(&l.shift, |b| b.to_le_bytes().to_vec())
        );
        assert_eq!(
            get(name(LayerTensor::Output)),
            bytes_of(&[l.z_out, l.act_min, l.act_max], |b| b
                .to_le_bytes()
                .to_vec())
        );
        assert!(l.weight.iter().all(|&w| w != i8::MIN));
        assert!(l.multiplier.iter().all(|&m| m >= 1 << 30));
        if k + 1 < layers.len() {
            assert_eq!(l.act_min, l.z_out, "ReLU folds into the clamp");
        }
    }
    assert_eq!(
        get("input.zero_point".into()),
        qm.input.zero_point.to_le_bytes()
    );
    assert_eq!(get("input.quant".into()), qm.input.scale.to_le_bytes());

    // The vectors are runtime-nostd's own outputs on the first evaluation rows.
    let vb = std::fs::read(&report.vectors).unwrap();
    let v = SafeTensors::deserialize(&vb).unwrap();
    let x_q = v.tensor(vn::X_Q).unwrap();
    assert_eq!(x_q.shape(), &[10, 20]);
    let mut scratch = vec![0u8; rt.scratch_len()];
    for i in 0..10 {
        let mut q = vec![0i8; 20];
        rt.quantize_input(eval.row(i), &mut q).unwrap();
        assert_eq!(
            bytes_of(&q, |x| vec![x as u8]),
            x_q.data()[i * 20..(i + 1) * 20]
        );
        let mut logits = [0i8; 4];
        let p = rt.infer(&q, &mut scratch, &mut logits).unwrap();
        assert_eq!(
            bytes_of(&logits, |x| vec![x as u8]),
            v.tensor(vn::LOGITS).unwrap().data()[i * 4..(i + 1) * 4]
        );
        assert_eq!(usize::from(v.tensor(vn::CLASS).unwrap().data()[i]), p.class);
        assert_eq!(
            u32::from(v.tensor(vn::LABEL).unwrap().data()[i]),
            eval.y.as_ref().unwrap()[i]
        );
    }
}

#[test]
fn tree_artifact_reads_back_through_runtime_nostd() {
    let model = common::tree(16, 3, 5, 4);
    let calib = common::data(40, 16, 5, 5);
    let eval = common::data(30, 16, 5, 6);
    let dir = tempfile::tempdir().unwrap();
    let opts = ExportOptions {
        out_dir: dir.path().into(),
        ..ExportOptions::default()
    };
    let report = export::run(&model, &calib, &eval, &opts).unwrap();
    let bytes = std::fs::read(&report.artifact).unwrap();
    let rt = Model::from_bytes(&bytes).unwrap();
    assert_eq!(
        (rt.kind(), rt.num_layers_or_depth(), rt.num_classes()),
        (Kind::Tree, 3, 5)
    );
    let qm = export::quantize(&model, &calib, opts.calib_samples, Clipping::MinMax).unwrap();
    let QuantBody::Tree(t) = &qm.body else {
        panic!("not a tree")
    };
    for leaf in 0..8 {
        assert_eq!(
            rt.leaf_probs(leaf).unwrap(),
            &t.leaf_probs[leaf * 5..(leaf + 1) * 5]
        );
    }
    // Given the same quantized input the integer graph decides exactly like the runtime.
    assert!(report.agreement.class_mismatch_samples <= report.agreement.x_q_mismatch_samples);
}

/// The float file writer (`FloatModel::save`, the one `distill` saves through) and the loader
/// are inverses for both kinds: same weights, metadata and provenance back, and saving the
/// loaded model again gives the same bytes.
#[test]
fn float_model_file_reads_back_equal_for_both_kinds() {
    use sha2::{Digest, Sha256};
    let dir = tempfile::tempdir().unwrap();
    let mut tree = common::tree(6, 2, 3, 21);
    tree.config = Some("[student]\nkind = \"tree\"\n".into());
    for (name, model) in [
        ("mlp.safetensors", common::mlp(9, &[5, 4], 3, 20)),
        ("no-hidden.safetensors", common::mlp(9, &[], 3, 22)),
        ("tree.safetensors", tree),
    ] {
        let path = dir.path().join(name);
        model.save(&path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let back = export::FloatModel::load(&path).unwrap();
        let sha: [u8; 32] = Sha256::digest(&bytes).into();
        assert_eq!(
            back,
            export::FloatModel {
                source_sha256: sha,
                ..model.clone()
            },
            "{name}"
        );
        assert!(back.to_safetensors_bytes().unwrap() == bytes, "{name}");
    }
    assert_eq!(
        common::files(dir.path()),
        [
            "mlp.safetensors",
            "no-hidden.safetensors",
            "tree.safetensors"
        ],
        "no temporary file left"
    );
}

#[test]
fn exporting_twice_gives_byte_identical_files() {
    let model = common::mlp(30, &[16], 3, 11);
    let calib = common::data(80, 30, 3, 12);
    let eval = common::data(40, 30, 3, 13);
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let opts = |d: &tempfile::TempDir| ExportOptions {
        out_dir: d.path().into(),
        clipping: Clipping::Percentile(99.5),
        ..ExportOptions::default()
    };
    let ra = export::run(&model, &calib, &eval, &opts(&a)).unwrap();
    let rb = export::run(&model, &calib, &eval, &opts(&b)).unwrap();
    for name in [
        "student.int8.safetensors",
        "student.int8.onnx",
        "student.vectors.safetensors",
    ] {
        let (x, y) = (
            std::fs::read(a.path().join(name)).unwrap(),
            std::fs::read(b.path().join(name)).unwrap(),
        );
        assert!(!x.is_empty());
        assert!(x == y, "{name} differs between two exports");
    }
    assert_eq!(ra.artifact_sha256, rb.artifact_sha256);
    assert_eq!(
        common::files(a.path()),
        vec![
            "student.export.json",
            "student.int8.onnx",
            "student.int8.safetensors",
            "student.vectors.safetensors"
        ]
    );
}

#[test]
fn four_byte_tensors_are_aligned_and_header_is_padded() {
    let model = common::mlp(13, &[7], 3, 61);
    let qm = export::quantize(&model, &common::data(10, 13, 3, 62), 10, Clipping::MinMax).unwrap();
    let bytes = export::artifact_bytes(&qm).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    assert_eq!(n % 8, 0, "header padded to a multiple of 8");
    let (_, meta) = SafeTensors::read_metadata(&bytes).unwrap();
    for (name, info) in meta.tensors() {
        let four = matches!(
            info.dtype,
            safetensors::Dtype::I32 | safetensors::Dtype::F32
        );
        if four {
            assert_eq!(
                (8 + n + info.data_offsets.0) % 4,
                0,
                "{name} starts unaligned"
            );
        }
    }
}

#[test]
fn read_artifact_returns_exactly_what_was_quantized() {
    for (model, f, c) in [
        (common::mlp(12, &[8, 6], 4, 7), 12, 4),
        (common::tree(12, 3, 4, 8), 12, 4),
    ] {
        let calib = common::data(40, f, c, 9);
        let qm = export::quantize(&model, &calib, 40, Clipping::MinMax).unwrap();
        let bytes = export::artifact_bytes(&qm).unwrap();
        let (rt, back) = export::read_artifact(&bytes).unwrap();
        assert_eq!(back, qm);
        assert_eq!(rt.input_len(), f);
        // A damaged artifact is refused by runtime-nostd, and its error is named.
        let mut bad = bytes.clone();
        bad.truncate(bytes.len() - 1);
        let e = export::read_artifact(&bad).unwrap_err().to_string();
        assert!(e.contains("DataLengthMismatch"), "{e}");
    }
}

/// A CNN through the whole export: the artifact reads back in runtime-nostd with its layers,
/// MACs and scratch, every evaluation row gives the reference integers there and in tract's
/// run of the twin, the float model file round-trips, and a second export is byte-identical.
#[test]
fn a_cnn_exports_and_agrees_in_runtime_nostd_and_tract() {
    let layers =
        "conv 4 k3 s1 same;maxpool 2;dwconv k3 s1 same;conv 6 k1 s1 valid;avgpool 2;dense 5";
    let model = common::cnn(layers, &[1, 8, 8], 5, 4);
    let bytes = model.to_safetensors_bytes().unwrap();
    let back = export::FloatModel::from_safetensors_bytes(&bytes).unwrap();
    assert_eq!(back.body, model.body);
    let calib = common::data(64, 64, 5, 5);
    let eval = common::data(40, 64, 5, 6);
    let dir = tempfile::tempdir().unwrap();
    let opts = ExportOptions {
        out_dir: dir.path().into(),
        vectors: 8,
        ..ExportOptions::default()
    };
    let report = export::run(&model, &calib, &eval, &opts).unwrap();
    assert_eq!(report.kind, "cnn");
    let agreement = &report.agreement;
    assert_eq!(
        agreement.class_mismatch_samples,
        agreement.x_q_mismatch_samples
    );
    assert_eq!(agreement.logits_max_abs_diff, 0, "{agreement:?}");
    let artifact = std::fs::read(&report.artifact).unwrap();
    let rt = Model::from_bytes(&artifact).unwrap();
    assert_eq!(rt.kind(), Kind::Cnn);
    assert_eq!(rt.num_layers_or_depth(), 6);
    let macs = 64 * 4 * 9 + 16 * 4 * 9 + 16 * 6 * 4 + 24 * 5;
    assert_eq!((rt.macs(), report.macs), (macs, macs));
    assert_eq!(rt.scratch_len(), report.scratch_bytes);
    // Reading the artifact back gives exactly the numbers quantized in memory.
    let qm = export::quantize(&model, &calib, opts.calib_samples, opts.clipping).unwrap();
    assert_eq!(export::read_artifact(&artifact).unwrap().1, qm);
    // Deterministic: the same export again gives the same artifact bytes.
    let dir2 = tempfile::tempdir().unwrap();
    let again = export::run(
        &model,
        &calib,
        &eval,
        &ExportOptions {
            out_dir: dir2.path().into(),
            ..opts
        },
    )
    .unwrap();
    assert_eq!(std::fs::read(&again.artifact).unwrap(), artifact);
}
