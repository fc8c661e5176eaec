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

/// One dense layer 1 → 64 with hand-picked multipliers and shifts over the whole [17, 62]
/// shift range, accumulators near ±2^31 and exact rounding ties: the ONNX graph's float64
/// requantization must equal runtime-nostd's integer rule on every input.
#[test]
fn requantization_is_exact_at_the_edges() {
    use export::quant_rule::ActQuant;
    use export::{QuantBody, QuantDense, QuantModel};
    let mut r = common::Lcg::new(77);
    let limit = i64::from(i32::MAX) - 128 * 127;
    let (mut multiplier, mut shift, mut bias, mut weight) =
        (vec![1 << 30], vec![31], vec![0], vec![1i8]);
    for j in 1..64 {
        let s = 17 + (j % 46);
        let m = (1i64 << 30) + (r.next(0.0, 1.0) as f64 * (1u64 << 30) as f64) as i64;
        let target = r.next(-100.0, 100.0) as f64;
        let b = ((target * 2f64.powi(s) / m as f64).round() as i64).clamp(-limit, limit);
        multiplier.push(m.min(i64::from(i32::MAX)) as i32);
        shift.push(s);
        bias.push(b as i32);
        // Let w·q move the output by up to about ±100 steps, so most outputs stay unclamped.
        let w = (r.next(-60.0, 60.0) as f64 * 2f64.powi(s) / (128.0 * m as f64)).round();
        weight.push(w.clamp(-127.0, 127.0) as i8);
    }
    for (z_out, act_min) in [(0, -128), (-5, -5)] {
        let layer = QuantDense {
            out_features: 64,
            in_features: 1,
            weight: weight.clone(),
            weight_scale: vec![1.0; 64],
            bias: bias.clone(),
            multiplier: multiplier.clone(),
            shift: shift.clone(),
            z_out,
            act_min,
            act_max: 127,
            output_scale: 1.0,
        };
        let qm = QuantModel {
            input_shape: vec![1],
            classes: common::classes(64),
            mean: vec![0.0],
            std: vec![1.0],
            input: ActQuant {
                scale: 1.0,
                zero_point: 0,
            },
            body: QuantBody::Mlp(vec![layer]),
            source_sha256: [0; 32],
        };
        let artifact = export::artifact_bytes(&qm).unwrap();
        let rt = Model::from_bytes(&artifact).unwrap();
        let x: Vec<f32> = (-128..=127).map(|q| q as f32).collect();
        let tr = run_onnx(&export::onnx_bytes(&qm).unwrap(), &x, 1, true).unwrap();
        let mut scratch = vec![0u8; rt.scratch_len()];
        let mut saturated = 0;
        for (i, &q) in x.iter().enumerate() {
            let mut logits = vec![0i8; 64];
            rt.infer(&[q as i8], &mut scratch, &mut logits).unwrap();
            for j in 0..64 {
                assert_eq!(
                    logits[j],
                    tr.logits[i * 64 + j],
                    "q={q} channel {j} (M={}, S={})",
                    multiplier[j],
                    shift[j]
                );
                saturated += usize::from(logits[j] == 127 || logits[j] == act_min as i8);
            }
        }
        // Most outputs must be inside the clamp (the ReLU half excepted), or the test would
        // not probe the rounding.
        assert!(
            saturated * 10 < 256 * 64 * 6,
            "{saturated} saturated outputs"
        );
        // Channel 0 is acc/2: q = −3 is a tie that rounds up to −1 (half-even would give −2).
        assert_eq!(tr.logits[(128 - 3) * 64], (z_out - 1).max(act_min) as i8);
    }
}
