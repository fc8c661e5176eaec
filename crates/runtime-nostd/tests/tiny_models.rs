//! Hand-computed expected outputs for the tiny MLP and tree of `common`.

mod common;
use common::{Artifact, TINY_INPUT};
use runtime_nostd::{Error, Kind, Model, Prediction, TreePath};

// Layer 0, rule y = ((acc·2^30 + 2^30) >> 31) + z_out with z_out = −5, act [−5, 127]:
//   row 0: 10 − 40 + 90 + 20 + bias 1 = 81 → 40.5 → 41 (half up) → 36
//   row 1: −10 + 30 − 25 = −5 → −2.5 → −2 → −7 → clamped (ReLU) to −5
//   row 2: 20 + 40 + 5 + 0 = 65 → 32.5 → 33 → 28
// Layer 1 on [36, −5, 28], z_out = 3:
//   row 0: 36 − 5 + 28 + 5 = 64, M = 2^30, S = 31 → 32 → 35
//   row 1: 72 − 28 − 10 = 34, M = 1518500250, S = 32: (34·M + 2^31) >> 32 = 12 → 15
#[test]
fn tiny_mlp_hand_computed() {
    let bytes = Artifact::tiny_mlp().bytes();
    let m = Model::from_bytes(&bytes).unwrap();
    assert_eq!(m.kind(), Kind::Mlp);
    assert_eq!(m.input_shape(), &[2, 2]);
    assert_eq!(m.input_len(), 4);
    assert_eq!(m.num_classes(), 2);
    assert_eq!(m.class_name(1), Some("dog"));
    assert_eq!(m.class_name(2), None);
    assert_eq!(m.macs(), 4 * 3 + 3 * 2);
    assert_eq!(m.scratch_len(), runtime_nostd::mlp_scratch_len(&[4, 3, 2]));
    let mut scratch = vec![0u8; m.scratch_len()];
    let mut logits = [0i8; 2];
    let p = m.infer(&TINY_INPUT, &mut scratch, &mut logits).unwrap();
    assert_eq!(logits, [35, 15]);
    assert_eq!(
        p,
        Prediction {
            class: 0,
            path: None
        }
    );
}

#[test]
fn tiny_tree_hand_computed() {
    let bytes = Artifact::tiny_tree().bytes();
    let m = Model::from_bytes(&bytes).unwrap();
    assert_eq!(m.kind(), Kind::Tree);
    let mut scratch = vec![0u8; m.scratch_len()];
    let mut logits = [0i8; 3];
    // node 0: 10 − 10 = 0, not > 0 → left (node 1); node 1: −20 + 21 = 1 > 0 → right (node 4).
    let p = m.infer(&TINY_INPUT, &mut scratch, &mut logits).unwrap();
    let path = TreePath { leaf: 1, depth: 2 };
    assert_eq!(
        p,
        Prediction {
            class: 1,
            path: Some(path)
        }
    );
    assert_eq!(logits, [-118, 72, -83]); // p − 128 for [10, 200, 45]
    assert!(!path.went_right(0) && path.went_right(1));
    assert_eq!(
        [path.node_at(0), path.node_at(1), path.node_at(2)],
        [0, 1, 4]
    );
    assert_eq!(m.leaf_probs(1), Some(&[10u8, 200, 45][..]));
    assert_eq!(m.leaf_probs(4), None);
}

// mean 0.5, std 2, s_in 0.25, z_in 3: q = round_half_even((x − 0.5) / 2 / 0.25) + 3
#[test]
fn quantize_input_rounds_half_to_even() {
    let bytes = Artifact::tiny_mlp().bytes();
    let m = Model::from_bytes(&bytes).unwrap();
    let mut q = [0i8; 4];
    m.quantize_input(&[3.0, 0.75, 1.25, -1000.0], &mut q)
        .unwrap();
    assert_eq!(q, [8, 3, 5, -128]); // 5 → 8; 0.5 → 0 → 3; 1.5 → 2 → 5; saturates
    assert_eq!(m.quantize_input(&[0.0; 3], &mut q), Err(Error::InputLength));
}

#[test]
fn scratch_may_be_unaligned_and_larger() {
    let bytes = Artifact::random_mlp(&[37, 9, 5, 3], 7).bytes();
    let m = Model::from_bytes(&bytes).unwrap();
    let input: Vec<i8> = (0..37).map(|i| (i * 7 % 256) as i8).collect();
    let mut want = [0i8; 3];
    let mut buf = vec![0u8; m.scratch_len() + 8];
    m.infer(&input, &mut buf[..m.scratch_len()], &mut want)
        .unwrap();
    for off in 1..4 {
        let mut got = [0i8; 3];
        m.infer(&input, &mut buf[off..off + m.scratch_len()], &mut got)
            .unwrap();
        assert_eq!(got, want, "offset {off}");
    }
}

/// The random MLP through the runtime equals a direct evaluation of FORMAT.md's rule with the
/// reference kernel written out here (independent of the crate's layer loop).
#[test]
fn random_mlps_match_the_rule() {
    for (seed, widths) in [
        (1u64, vec![5, 3]),
        (2, vec![33, 17, 4]),
        (3, vec![64, 40, 20, 7, 10]),
        (4, vec![1, 1, 1]),
    ] {
        let art = Artifact::random_mlp(&widths, seed);
        let bytes = art.bytes();
        let m = Model::from_bytes(&bytes).unwrap();
        let mut rng = common::Rng(seed + 100);
        for _ in 0..20 {
            let input: Vec<i8> = (0..widths[0]).map(|_| rng.i8()).collect();
            let mut x = input.clone();
            for k in 0..widths.len() - 1 {
                let get = |suffix: &str| {
                    let name = format!("layers.{k}.{suffix}");
                    art.tensors.iter().find(|t| t.0 == name).unwrap().3.clone()
                };
                let w: Vec<i8> = get("weight").iter().map(|&b| b as i8).collect();
                let i32v = |b: Vec<u8>| -> Vec<i32> {
                    b.chunks(4)
                        .map(|c| i32::from_le_bytes(c.try_into().unwrap()))
                        .collect()
                };
                let (bias, mult, shift, out) = (
                    i32v(get("bias")),
                    i32v(get("multiplier")),
                    i32v(get("shift")),
                    i32v(get("output")),
                );
                x = (0..widths[k + 1])
                    .map(|j| {
                        let acc: i64 = bias[j] as i64
                            + (0..x.len())
                                .map(|i| w[j * x.len() + i] as i64 * x[i] as i64)
                                .sum::<i64>();
                        let y = ((acc * mult[j] as i64 + (1i64 << (shift[j] - 1))) >> shift[j])
                            + out[0] as i64;
                        y.clamp(out[1] as i64, out[2] as i64) as i8
                    })
                    .collect();
            }
            let mut scratch = vec![0u8; m.scratch_len()];
            let mut logits = vec![0i8; m.num_classes()];
            let p = m.infer(&input, &mut scratch, &mut logits).unwrap();
            assert_eq!(logits, x, "widths {widths:?}");
            assert_eq!(p.class, runtime_nostd::argmax(&x));
        }
    }
}
