//! What `Model::from_bytes` refuses in a CNN artifact: a valid random one with one thing
//! changed. Layers: 0 conv, 1 maxpool, 2 dwconv, 3 gap, 4 dense.

mod common;
use common::{Artifact, i8s, i32s};
use runtime_nostd::format::{Dtype, LayerTensor as T, layer_name, meta};
use runtime_nostd::{Error, Model};

const INPUT: [usize; 3] = [2, 6, 6];
const LAYERS: &str = "conv 4 k3 s1 same;maxpool 2;dwconv k3 s1 valid;gap;dense 3";

fn base() -> Artifact {
    Artifact::random_cnn(&INPUT, LAYERS, 3, 21)
}

fn edit(f: impl FnOnce(&mut Artifact)) -> Error {
    let mut a = base();
    f(&mut a);
    Model::from_bytes(&a.bytes()).expect_err("must be rejected")
}

fn name(k: usize, t: T) -> String {
    layer_name(k, t).to_string()
}

/// Replaces layer `k`'s weight by the same bytes under another shape.
fn reshape(a: &mut Artifact, k: usize, shape: &[usize]) {
    let w = a.values(&name(k, T::Weight));
    let w: Vec<i8> = w.iter().map(|&v| v as i8).collect();
    a.set(&name(k, T::Weight), Dtype::I8, shape, i8s(&w));
}

#[test]
fn the_base_artifact_loads() {
    let bytes = base().bytes();
    let m = Model::from_bytes(&bytes).unwrap();
    assert_eq!(m.num_layers_or_depth(), 5);
}

#[test]
fn wrong_weight_shapes() {
    // conv: OIHW (PyTorch's order) or another order of the same bytes instead of OHWI.
    for shape in [[4, 2, 3, 3], [4, 3, 2, 3], [4, 18, 1, 1]] {
        assert_eq!(
            edit(|a| reshape(a, 0, &shape)),
            Error::WrongShape,
            "{shape:?}"
        );
    }
    assert_eq!(edit(|a| reshape(a, 0, &[4, 18])), Error::WrongShape);
    // dwconv [C, KH, KW, 1] given as [1, KH, KW, C].
    assert_eq!(edit(|a| reshape(a, 2, &[1, 3, 3, 4])), Error::WrongShape);
    // dense [O, I] given as [I, O].
    assert_eq!(edit(|a| reshape(a, 4, &[4, 3])), Error::WrongShape);
    // Tensors for another layer list: `conv 5` in the metadata, 4 channels stored.
    let other = LAYERS.replace("conv 4", "conv 5");
    assert_eq!(
        edit(|a| {
            a.set_meta(meta::LAYERS, &other);
        }),
        Error::WrongShape
    );
    // A per-channel tensor of the wrong length.
    let bias = name(2, T::Bias);
    assert_eq!(
        edit(|a| {
            a.set(&bias, Dtype::I32, &[3], i32s(&[0; 3]));
        }),
        Error::WrongShape
    );
}

#[test]
fn missing_and_extra_tensors() {
    for (k, t) in [
        (0, T::Bias),
        (2, T::Weight),
        (4, T::OutputScale),
        (2, T::Shift),
    ] {
        assert_eq!(
            edit(|a| {
                a.remove(&name(k, t));
            }),
            Error::MissingTensor,
            "{k} {t:?}"
        );
    }
    // A pool or gap has no tensors; a layer past the end neither.
    for k in [1, 3, 5] {
        let extra = name(k, T::Weight);
        assert_eq!(
            edit(|a| {
                a.set(&extra, Dtype::I8, &[1], vec![1]);
            }),
            Error::UnknownTensor,
            "{extra}"
        );
    }
    assert_eq!(
        edit(|a| {
            a.set("layers.0.extra", Dtype::I32, &[1], i32s(&[0]));
        }),
        Error::UnknownTensor
    );
}

#[test]
fn bad_layers_metadata() {
    for layers in [
        "conv four k3 s1 same;maxpool 2;dwconv k3 s1 valid;gap;dense 3",
        "conv 4 k3 s1 same;maxpool 2;dwconv k3 s1 valid;gap",
        "conv 4 k3 s1 same;maxpool 2;dwconv k3 s1 valid;gap;dense 4",
        "conv 4 k3 s1 same;maxpool 7;dwconv k3 s1 valid;gap;dense 3",
        "conv 4 k2 s1 same;maxpool 2;dwconv k3 s1 valid;gap;dense 3",
        "dense 5;conv 4;dense 3",
        "",
        "conv 4 k3 s1 same;;gap;dense 3",
    ] {
        assert_eq!(
            edit(|a| {
                a.set_meta(meta::LAYERS, layers);
            }),
            Error::InvalidLayers,
            "{layers:?}"
        );
    }
    let many = vec!["maxpool 1"; 17].join(";") + ";dense 3";
    assert_eq!(
        edit(|a| {
            a.set_meta(meta::LAYERS, &many);
        }),
        Error::InvalidLayers
    );
    assert_eq!(
        edit(|a| {
            a.remove_meta(meta::LAYERS);
        }),
        Error::MissingMetadata
    );
    // Nine weighted layers need 4 + 63 tensors, over the 64 allowed: with the first eight's
    // tensors present (60), the ninth is refused as a layer list this format cannot carry.
    let nine = ["conv 1 k1 s1 valid"; 8].join(";") + ";dense 2";
    let mut a = Artifact::random_cnn(&[1, 2, 2], &nine, 2, 5);
    for t in T::ALL {
        a.remove(&name(8, t));
    }
    assert_eq!(
        Model::from_bytes(&a.bytes()).err(),
        Some(Error::InvalidLayers)
    );
    for shape in ["72", "1x2x6x6"] {
        assert_eq!(
            edit(|a| {
                a.set_meta(meta::INPUT_SHAPE, shape);
            }),
            Error::InvalidInputShape,
            "{shape}"
        );
    }
}

#[test]
fn quantization_checks_are_the_mlps() {
    let set = |k, t, dtype, shape: &[usize], data: Vec<u8>| {
        let shape = shape.to_vec();
        edit(move |a| {
            a.set(&name(k, t), dtype, &shape, data);
        })
    };
    // conv weight with a −128.
    let mut w = vec![1i8; 4 * 3 * 3 * 2];
    w[7] = -128;
    assert_eq!(
        set(0, T::Weight, Dtype::I8, &[4, 3, 3, 2], i8s(&w)),
        Error::WeightRange
    );
    // dwconv: |bias| + 128·Σ|W| ≥ 2^31 on channel 1.
    let bias = i32s(&[0, i32::MAX - 100, 0, 0]);
    assert_eq!(
        set(2, T::Bias, Dtype::I32, &[4], bias),
        Error::AccumulatorRange
    );
    assert_eq!(
        set(2, T::Shift, Dtype::I32, &[4], i32s(&[31, 0, 31, 31])),
        Error::ShiftRange
    );
    let m = i32s(&[1 << 30, 5, 1 << 30, 1 << 30]);
    assert_eq!(
        set(0, T::Multiplier, Dtype::I32, &[4], m),
        Error::MultiplierRange
    );
    assert_eq!(
        set(4, T::Output, Dtype::I32, &[3], i32s(&[200, -128, 127])),
        Error::ZeroPointRange
    );
    assert_eq!(
        set(2, T::Output, Dtype::I32, &[3], i32s(&[0, 5, 4])),
        Error::ActivationRange
    );
    assert_eq!(
        set(0, T::WeightScale, Dtype::I32, &[4], i32s(&[0; 4])),
        Error::WrongDtype
    );
}
