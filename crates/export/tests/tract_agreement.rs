//! The ONNX graph loads and runs in tract and agrees with runtime-nostd: identical int8
//! logits and classes wherever the quantized inputs agree, and the inputs agree almost always.

mod common;

use export::{Clipping, FloatModel, run_onnx};
use runtime_nostd::Model;

/// Runs both sides on `eval`; returns (samples whose x_q differ, samples compared).
fn compare(model: &FloatModel, seed: u64, is_mlp: bool, calib_rows: usize) -> (usize, usize) {
    let f = model.features();
    let c = model.num_classes();
    let calib = common::data(calib_rows, f, c, seed);
    let eval = common::data(300, f, c, seed + 1);
    let qm = export::quantize(model, &calib, calib_rows, Clipping::Percentile(99.9)).unwrap();
    let artifact = export::artifact_bytes(&qm).unwrap();
    let onnx = export::onnx_bytes(&qm).unwrap();
    let rt = Model::from_bytes(&artifact).unwrap();
    let tr = run_onnx(&onnx, &eval.x, f, is_mlp).unwrap();
    let mut scratch = vec![0u8; rt.scratch_len()];
    let mut x_q_diff = 0;
    for i in 0..eval.rows() {
        let mut q = vec![0i8; f];
        rt.quantize_input(eval.row(i), &mut q).unwrap();
        if q[..] != tr.x_q[i * f..(i + 1) * f] {
            x_q_diff += 1;
            continue;
        }
        let mut logits = vec![0i8; c];
        let p = rt.infer(&q, &mut scratch, &mut logits).unwrap();
        assert_eq!(p.class, tr.class[i], "sample {i}: class");
        if is_mlp {
            assert_eq!(
                logits[..],
                tr.logits[i * c..(i + 1) * c],
                "sample {i}: logits"
            );
        }
    }
    (x_q_diff, eval.rows())
}

#[test]
fn mlp_graph_matches_runtime_bit_for_bit() {
    let (diff, n) = compare(&common::mlp(40, &[24, 16], 6, 21), 22, true, 100);
    assert!(diff * 100 <= n, "x_q differs on {diff} of {n} samples");
}

#[test]
fn single_layer_mlp_graph_matches_runtime() {
    let (diff, n) = compare(&common::mlp(12, &[], 3, 31), 32, true, 100);
    assert!(diff * 100 <= n, "x_q differs on {diff} of {n} samples");
}

#[test]
fn tree_graph_matches_runtime() {
    for depth in [1, 4] {
        let (diff, n) = compare(&common::tree(24, depth, 7, 41), 42, false, 100);
        assert!(
            diff * 100 <= n,
            "depth {depth}: x_q differs on {diff} of {n} samples"
        );
    }
}

#[test]
fn logits_saturate_the_same_way() {
    // Wide weights and two calibration rows push many outputs into the clamps.
    let mut model = common::mlp(16, &[8], 4, 51);
    if let export::FloatBody::Mlp(layers) = &mut model.body {
        for w in &mut layers[1].weight {
            *w *= 8.0;
        }
    }
    let (diff, n) = compare(&model, 52, true, 2);
    assert!(diff * 100 <= n, "x_q differs on {diff} of {n} samples");
}
