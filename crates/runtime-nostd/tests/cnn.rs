//! Hand-computed CNNs (FORMAT.md, "CNN"), one rule each. Every weighted layer requantizes
//! with M = 2^30, S = 30, which is the identity (`(acc·2^30 + 2^29) >> 30 = acc`), so an
//! output is `acc + z_out`, clamped; most plans end in a `dense` identity (bias 0), whose
//! logits are then the previous activation flattened in HWC order.

mod common;
use common::Artifact;
use runtime_nostd::format::{self, Dtype, cnn::Plan};
use runtime_nostd::{Error, Kind, Model, cnn_scratch_len};

const ONE: i32 = 1 << 30;
/// No ReLU, zero point 0: the accumulator itself.
const RAW: [i32; 3] = [0, -128, 127];

/// A CNN on `input` with input zero point `z_in`.
fn cnn(input: &[usize], layers: &str, classes: usize, z_in: i32) -> Artifact {
    let mut a = Artifact::cnn(input, layers, classes);
    a.set(
        format::INPUT_ZERO_POINT,
        Dtype::I32,
        &[1],
        common::i32s(&[z_in]),
    );
    a
}

/// Adds layer `k` with the identity requantization.
fn add(a: &mut Artifact, k: usize, shape: &[usize], w: &[i8], bias: &[i32], out: [i32; 3]) {
    let n = shape[0];
    a.layer_shaped(k, shape, w, bias, &vec![ONE; n], &vec![30; n], out);
}

/// Adds layer `k`: `dense n` as the identity on `n` values.
fn identity(a: &mut Artifact, k: usize, n: usize) {
    let w: Vec<i8> = (0..n * n).map(|i| i8::from(i / n == i % n)).collect();
    add(a, k, &[n, n], &w, &vec![0; n], RAW);
}

/// Loads `a`, checks its scratch size against `cnn_scratch_len`, runs `input`.
fn run(a: &Artifact, input: &[i8]) -> Vec<i8> {
    let bytes = a.bytes();
    let m = Model::from_bytes(&bytes).expect("loads");
    assert_eq!(m.kind(), Kind::Cnn);
    let plan = m.cnn_plan().expect("a CNN has a plan");
    assert_eq!(
        m.scratch_len(),
        cnn_scratch_len(m.input_shape(), plan.layers())
    );
    let mut scratch = vec![0u8; m.scratch_len()];
    let mut logits = vec![0i8; m.num_classes()];
    let p = m.infer(input, &mut scratch, &mut logits).expect("infers");
    assert_eq!(p.class, runtime_nostd::argmax(&logits));
    logits
}

// `same` 3×3 on 3×3, z_in = 3: each window sums its in-image values plus 3 per padded one.
//   (0,0): 1+2+4+5 + 5·3 = 27   (0,1): 1+…+6 + 3·3 = 30   (0,2): 2+3+5+6 + 15 = 31
//   (1,0): 1+2+4+5+7+8 + 9 = 36  (1,1): 45              (1,2): 2+3+5+6+8+9 + 9 = 42
//   (2,0): 4+5+7+8 + 15 = 39    (2,1): 4+…+9 + 9 = 48   (2,2): 5+6+8+9 + 15 = 43
#[test]
fn conv_same_pads_with_the_input_zero_point() {
    let mut a = cnn(&[1, 3, 3], "conv 1 k3 s1 same;dense 9", 9, 3);
    add(&mut a, 0, &[1, 3, 3, 1], &[1; 9], &[0], RAW);
    identity(&mut a, 1, 9);
    let logits = run(&a, &[1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert_eq!(logits, [27, 30, 31, 36, 45, 42, 39, 48, 43]);
}

// `valid` 3×3, stride 2 on 5×5 (v = 5r + c): windows at (0,0), (0,2), (2,0), (2,2) sum
// 9 × their centres 6, 8, 16, 18 = 54, 72, 144, 162; S = 31 halves them (half up) → 27, 36,
// 72, 81. `same` 3×3, stride 2 (pad 1, z_in = −1): 3×3 outputs at rows/cols −1, 1, 3; (0,0)
// = 0+1+5+6 − 5 = 7, (1,1) = 9 · 12 = 108, (2,2) = 18+19+23+24 − 5 = 79.
#[test]
fn conv_valid_and_same_with_stride_two() {
    let input: Vec<i8> = (0..25).collect();
    let mut a = cnn(&[1, 5, 5], "conv 1 k3 s2 valid;dense 4", 4, -1);
    a.layer_shaped(0, &[1, 3, 3, 1], &[1; 9], &[0], &[ONE], &[31], RAW);
    identity(&mut a, 1, 4);
    assert_eq!(run(&a, &input), [27, 36, 72, 81]);

    let mut a = cnn(&[1, 5, 5], "conv 1 k3 s2 same;dense 9", 9, -1);
    add(&mut a, 0, &[1, 3, 3, 1], &[1; 9], &[0], RAW);
    identity(&mut a, 1, 9);
    let logits = run(&a, &input);
    assert_eq!([logits[0], logits[4], logits[8]], [7, 108, 79]);
}

// A sequence [C = 2, T = 4] arrives CHW: channel 0 = [1, 2, 3, 4], channel 1 = [10, 20, 30,
// 40]. `dwconv k3 same` (pad 1 reading z_in = 3): channel 0's filter [1, 1, 1] gives 3+1+2,
// 1+2+3, 2+3+4, 3+4+3 = 6, 6, 9, 10; channel 1's [1, 0, −1] gives x[t−1] − x[t+1]: 3−20,
// 10−30, 20−40, 30−3 = −17, −20, −20, 27. HWC flattening interleaves the channels.
#[test]
fn dwconv_on_a_sequence_reads_chw_and_flattens_hwc() {
    let mut a = cnn(&[2, 4], "dwconv k3 s1 same;dense 8", 8, 3);
    add(&mut a, 0, &[2, 1, 3, 1], &[1, 1, 1, 1, 0, -1], &[0, 0], RAW);
    identity(&mut a, 1, 8);
    let logits = run(&a, &[1, 2, 3, 4, 10, 20, 30, 40]);
    assert_eq!(logits, [6, -17, 6, -20, 9, -20, 10, 27]);
}

// 1×1 conv, 2 → 2 channels, weights OHWI: output 0 = c0 + 10·c1, output 1 = c1 − c0, bias
// [0, 5], ReLU at z_out = 2 (act_min = 2). Input CHW c0 = [1, 2], c1 = [3, 4] (a 1×2 image):
// position 0: 31 + 2 = 33, 2 + 5 + 2 = 9; position 1: 42 + 2 = 44, 2 + 5 + 2 = 9. Then the
// ReLU clamps an output 2 + (−8) below z_out up to 2 (bias −10 on channel 1 instead).
#[test]
fn conv_weights_are_ohwi_and_relu_clamps_at_the_zero_point() {
    let run_with = |bias1: i32| {
        let mut a = cnn(&[2, 1, 2], "conv 2 k1 s1 valid;dense 4", 4, 0);
        add(
            &mut a,
            0,
            &[2, 1, 1, 2],
            &[1, 10, -1, 1],
            &[0, bias1],
            [2, 2, 127],
        );
        identity(&mut a, 1, 4);
        run(&a, &[1, 2, 3, 4])
    };
    assert_eq!(run_with(5), [33, 9, 44, 9]);
    assert_eq!(run_with(-10), [33, 2, 44, 2]);
}

// Input [1, 2, 4]: rows [1, −5, 7, 2] and [3, 0, −8, 6]; maxpool 2 → max(1, −5, 3, 0) = 3,
// max(7, 2, −8, 6) = 7.
#[test]
fn maxpool_takes_the_window_maximum() {
    let mut a = cnn(&[1, 2, 4], "maxpool 2;dense 2", 2, 0);
    identity(&mut a, 1, 2);
    assert_eq!(run(&a, &[1, -5, 7, 2, 3, 0, -8, 6]), [3, 7]);
}

// avgpool 2 on a sequence [1, 8]: sums 3, −3, 1, −1 over 2 → 1.5 → 2, −1.5 → −2, 0.5 → 1,
// −0.5 → −1 (half away from zero); 7/2 = 3.5 → 4, −7/2 → −4. On an image [2, 2, 2]: channel
// 0 sums 1+2+2+1 = 6 → 1.5 → 2, channel 1 −6 → −2; a sum of 5 over 4 → 1.25 → 1.
#[test]
fn avgpool_rounds_half_away_from_zero() {
    let mut a = cnn(&[1, 12], "avgpool 2;dense 6", 6, 0);
    identity(&mut a, 1, 6);
    let input = [1, 2, -1, -2, 0, 1, 0, -1, 3, 4, -3, -4];
    assert_eq!(run(&a, &input), [2, -2, 1, -1, 4, -4]);

    let mut a = cnn(&[3, 2, 2], "avgpool 2;dense 3", 3, 0);
    identity(&mut a, 1, 3);
    let input = [1, 2, 2, 1, -1, -2, -2, -1, 1, 1, 1, 2];
    assert_eq!(run(&a, &input), [2, -2, 1]);
}

// gap on a sequence [2, 4]: channel 0 = [1, 2, 3, 4] → 10/4 = 2.5 → 3; channel 1 = [−1, −2,
// −3, −4] → −3; and on [2, 3, 1]: [1, 1, 2] → 4/3 → 1, [−2, −2, −1] → −5/3 → −2.
#[test]
fn gap_is_the_rounded_mean_of_each_channel() {
    let mut a = cnn(&[2, 4], "gap;dense 2", 2, 0);
    identity(&mut a, 1, 2);
    assert_eq!(run(&a, &[1, 2, 3, 4, -1, -2, -3, -4]), [3, -3]);
    let mut a = cnn(&[2, 3, 1], "gap;dense 2", 2, 0);
    identity(&mut a, 1, 2);
    assert_eq!(run(&a, &[1, 1, 2, -2, -2, -1]), [1, -2]);
}

// Input [2, 1, 2] CHW c0 = [1, 2], c1 = [3, 4] is HWC [1, 3, 2, 4]; dense rows pick HWC
// indices 1 and 2 (CHW order would give 2 and 3), plus bias −1 and z_out 1.
#[test]
fn dense_reads_its_input_flattened_hwc() {
    let mut a = cnn(&[2, 1, 2], "dense 2", 2, 0);
    add(
        &mut a,
        0,
        &[2, 4],
        &[0, 1, 0, 0, 0, 0, 1, 0],
        &[-1, -1],
        [1, -128, 127],
    );
    assert_eq!(run(&a, &[1, 2, 3, 4]), [3, 2]);
}

// conv k1 (z_out = 5) → maxpool 2 → conv k3 same: the second conv's padding reads 5, the
// zero point of the nearest weighted layer before it (the pool passes it through), not
// z_in = 3. [1, 2, 3, 4] + 5 → max 9; 9 + 8 · 5 = 49; dense rows [1], [−1] → 49, −49.
#[test]
fn padding_after_a_pool_reads_the_previous_weighted_layers_zero_point() {
    let layers = "conv 1 k1 s1 valid;maxpool 2;conv 1 k3 s1 same;dense 2";
    let mut a = cnn(&[1, 2, 2], layers, 2, 3);
    add(&mut a, 0, &[1, 1, 1, 1], &[1], &[0], [5, 5, 127]);
    add(&mut a, 2, &[1, 3, 3, 1], &[1; 9], &[0], RAW);
    add(&mut a, 3, &[2, 1], &[1, -1], &[0, 0], RAW);
    assert_eq!(run(&a, &[1, 2, 3, 4]), [49, -49]);
}

#[test]
fn accessors_and_scratch_of_a_cnn() {
    let (input, layers) = (
        [2, 9, 9],
        "conv 6 k3 s1 same;maxpool 2;dwconv k3 s2 same;conv 8 k1 s1 valid;gap;dense 5;dense 3",
    );
    let a = Artifact::random_cnn(&input, layers, 3, 9);
    let bytes = a.bytes();
    let m = Model::from_bytes(&bytes).unwrap();
    let plan = Plan::parse(layers, &input, 3).unwrap();
    assert_eq!(m.kind().name(), format::KIND_CNN);
    assert_eq!(m.num_layers_or_depth(), 7);
    assert_eq!(m.macs(), plan.macs());
    assert_eq!(m.cnn_plan().unwrap().to_string(), layers);
    assert_eq!(m.input_len(), 162);
    // 162 → 486 → 96 → 24 → 32 → 8 → 5 → logits: 162 + 486 is the widest pair; the dense
    // layers' widest input (8) takes 4 prepared words.
    let len = cnn_scratch_len(&input, plan.layers());
    assert_eq!(len, 3 + 16 + 162 + 486);
    assert_eq!(m.scratch_len(), len);
    let input: Vec<i8> = (0..162).map(|i| (i * 37 % 256) as u8 as i8).collect();
    let mut buf = vec![0u8; len + 4];
    let mut want = [0i8; 3];
    m.infer(&input, &mut buf[..len], &mut want).unwrap();
    for off in 1..4 {
        let mut got = [0i8; 3];
        m.infer(&input, &mut buf[off..off + len], &mut got).unwrap();
        assert_eq!(got, want, "scratch at offset {off}");
    }
    let mut logits = [0i8; 3];
    assert_eq!(
        m.infer(&input, &mut buf[..len - 1], &mut logits),
        Err(Error::ScratchTooSmall)
    );
    assert_eq!(
        m.infer(&input[1..], &mut buf[..len], &mut logits),
        Err(Error::InputLength)
    );
    assert_eq!(m.leaf_probs(0), None);
}
