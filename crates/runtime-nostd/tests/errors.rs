//! One test per `Error` variant. Container errors use literal header bytes; format and
//! quantization errors start from a valid tiny artifact and change one thing.

mod common;
use common::{Artifact, TINY_INPUT, i32s, raw};
use runtime_nostd::format::{self, Dtype, LayerTensor, layer_name, meta};
use runtime_nostd::{Error, Model};

fn err(bytes: &[u8]) -> Error {
    Model::from_bytes(bytes).expect_err("must be rejected")
}

fn edit(f: impl FnOnce(&mut Artifact)) -> Error {
    let mut a = Artifact::tiny_mlp();
    f(&mut a);
    err(&a.bytes())
}

fn edit_tree(f: impl FnOnce(&mut Artifact)) -> Error {
    let mut a = Artifact::tiny_tree();
    f(&mut a);
    err(&a.bytes())
}

const T: &str = r#"{"dtype":"I8","shape":[1],"data_offsets":[0,1]}"#;

#[test]
fn too_short() {
    assert_eq!(err(b""), Error::TooShort);
    assert_eq!(err(b"\x02\0\0\0\0\0\0"), Error::TooShort);
}

#[test]
fn header_too_large() {
    let mut b = (64 * 1024 + 1u64).to_le_bytes().to_vec();
    b.extend_from_slice(b"{}");
    assert_eq!(err(&b), Error::HeaderTooLarge);
    assert_eq!(err(&u64::MAX.to_le_bytes()), Error::HeaderTooLarge);
}

#[test]
fn header_out_of_bounds() {
    assert_eq!(err(b"\x10\0\0\0\0\0\0\0{}"), Error::HeaderOutOfBounds);
}

#[test]
fn header_not_utf8() {
    assert_eq!(err(b"\x04\0\0\0\0\0\0\0{\"\xff\""), Error::HeaderNotUtf8);
}

#[test]
fn invalid_header_start() {
    assert_eq!(err(&raw("[]", b"")), Error::InvalidHeaderStart);
    assert_eq!(err(&raw(" {}", b"")), Error::InvalidHeaderStart);
}

#[test]
fn invalid_json() {
    for h in [
        r#"{"a":}"#,
        "{",
        r#"{"__metadata__":{}"#,
        r#"{}x"#,
        r#"{"a" {}}"#,
        r#"{"__metadata__":{"k":1}}"#,
        r#"{,}"#,
    ] {
        assert_eq!(err(&raw(h, b"")), Error::InvalidJson, "{h}");
    }
}

#[test]
fn string_escape() {
    assert_eq!(err(&raw(r#"{"a\u0041":{}}"#, b"")), Error::StringEscape);
    assert_eq!(err(&raw("{\"a\nb\":{}}", b"")), Error::StringEscape);
}

#[test]
fn invalid_number() {
    for shape in ["[-1]", "[1.5]", "[01]", "[1e3]", "[99999999999999999999]"] {
        let h = format!(r#"{{"a":{{"dtype":"I8","shape":{shape},"data_offsets":[0,1]}}}}"#);
        assert_eq!(err(&raw(&h, b"x")), Error::InvalidNumber, "{shape}");
    }
}

#[test]
fn too_many_tensors() {
    let entries: Vec<String> = (0..=format::MAX_TENSORS)
        .map(|i| format!(r#""t{i}":{{"dtype":"I8","shape":[0],"data_offsets":[0,0]}}"#))
        .collect();
    assert_eq!(
        err(&raw(&format!("{{{}}}", entries.join(",")), b"")),
        Error::TooManyTensors
    );
}

#[test]
fn too_many_metadata() {
    let entries: Vec<String> = (0..=format::MAX_METADATA)
        .map(|i| format!(r#""k{i}":"v""#))
        .collect();
    let h = format!(r#"{{"__metadata__":{{{}}}}}"#, entries.join(","));
    assert_eq!(err(&raw(&h, b"")), Error::TooManyMetadata);
}

#[test]
fn too_many_dims() {
    let h = r#"{"a":{"dtype":"I8","shape":[1,1,1,1,1],"data_offsets":[0,1]}}"#;
    assert_eq!(err(&raw(h, b"x")), Error::TooManyDims);
}

#[test]
fn duplicate_key() {
    assert_eq!(
        err(&raw(&format!(r#"{{"a":{T},"a":{T}}}"#), b"xx")),
        Error::DuplicateKey
    );
    let h = r#"{"a":{"dtype":"I8","dtype":"I8","shape":[1],"data_offsets":[0,1]}}"#;
    assert_eq!(err(&raw(h, b"x")), Error::DuplicateKey);
    let h = r#"{"__metadata__":{"k":"v","k":"w"}}"#;
    assert_eq!(err(&raw(h, b"")), Error::DuplicateKey);
    let h = r#"{"__metadata__":{},"__metadata__":{}}"#;
    assert_eq!(err(&raw(h, b"")), Error::DuplicateKey);
}

#[test]
fn unknown_field() {
    let h = r#"{"a":{"dtype":"I8","shape":[1],"data_offsets":[0,1],"x":1}}"#;
    assert_eq!(err(&raw(h, b"x")), Error::UnknownField);
}

#[test]
fn missing_field() {
    assert_eq!(
        err(&raw(r#"{"a":{"dtype":"I8","shape":[1]}}"#, b"x")),
        Error::MissingField
    );
    assert_eq!(err(&raw(r#"{"a":{}}"#, b"")), Error::MissingField);
}

#[test]
fn unknown_dtype() {
    let h = r#"{"a":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]}}"#;
    assert_eq!(err(&raw(h, b"xx")), Error::UnknownDtype);
}

#[test]
fn invalid_offsets() {
    for o in ["[1,0]", "[0]", "[0,1,2]", "[]"] {
        let h = format!(r#"{{"a":{{"dtype":"I8","shape":[1],"data_offsets":{o}}}}}"#);
        assert_eq!(err(&raw(&h, b"x")), Error::InvalidOffsets, "{o}");
    }
}

#[test]
fn size_mismatch() {
    let h = r#"{"a":{"dtype":"I32","shape":[2],"data_offsets":[0,4]}}"#;
    assert_eq!(err(&raw(h, b"xxxx")), Error::SizeMismatch);
    // The element count overflows usize.
    let h = r#"{"a":{"dtype":"I8","shape":[4294967296,4294967296],"data_offsets":[0,1]}}"#;
    assert_eq!(err(&raw(h, b"x")), Error::SizeMismatch);
}

#[test]
fn non_contiguous() {
    let h = r#"{"a":{"dtype":"I8","shape":[1],"data_offsets":[0,1]},"b":{"dtype":"I8","shape":[1],"data_offsets":[2,3]}}"#;
    assert_eq!(err(&raw(h, b"xxx")), Error::NonContiguous);
    let h = r#"{"a":{"dtype":"I8","shape":[1],"data_offsets":[1,2]}}"#;
    assert_eq!(err(&raw(h, b"xx")), Error::NonContiguous);
}

#[test]
fn data_length_mismatch() {
    assert_eq!(
        err(&raw(&format!(r#"{{"a":{T}}}"#), b"xx")),
        Error::DataLengthMismatch
    );
    assert_eq!(
        err(&raw(&format!(r#"{{"a":{T}}}"#), b"")),
        Error::DataLengthMismatch
    );
}

#[test]
fn missing_metadata() {
    assert_eq!(err(&raw("{}", b"")), Error::MissingMetadata);
    assert_eq!(
        edit(|a| {
            a.remove_meta(meta::SOURCE_SHA256);
        }),
        Error::MissingMetadata
    );
    assert_eq!(
        edit(|a| {
            a.remove_meta(meta::NUM_LAYERS);
        }),
        Error::MissingMetadata
    );
}

#[test]
fn wrong_format() {
    assert_eq!(
        edit(|a| {
            a.set_meta(meta::FORMAT, "pytorch");
        }),
        Error::WrongFormat
    );
}

#[test]
fn unsupported_version() {
    assert_eq!(
        edit(|a| {
            a.set_meta(meta::FORMAT_VERSION, "2");
        }),
        Error::UnsupportedVersion
    );
}

#[test]
fn unknown_kind() {
    assert_eq!(
        edit(|a| {
            a.set_meta(meta::KIND, "rnn");
        }),
        Error::UnknownKind
    );
}

#[test]
fn invalid_input_shape() {
    for s in ["", "2x0", "2xx2", "1x1x1x1x4", "-4", "4 "] {
        assert_eq!(
            edit(|a| {
                a.set_meta(meta::INPUT_SHAPE, s);
            }),
            Error::InvalidInputShape,
            "{s:?}"
        );
    }
}

#[test]
fn invalid_classes() {
    assert_eq!(
        edit(|a| {
            a.set_meta(meta::CLASSES, "cat||dog");
        }),
        Error::InvalidClasses
    );
    assert_eq!(
        edit(|a| {
            a.set_meta(meta::CLASSES, "");
        }),
        Error::InvalidClasses
    );
    let many = vec!["c"; format::MAX_CLASSES + 1].join("|");
    assert_eq!(
        edit(|a| {
            a.set_meta(meta::CLASSES, &many);
        }),
        Error::InvalidClasses
    );
}

#[test]
fn invalid_num_layers() {
    for n in ["0", "9", "01", "two"] {
        assert_eq!(
            edit(|a| {
                a.set_meta(meta::NUM_LAYERS, n);
            }),
            Error::InvalidNumLayers,
            "{n}"
        );
    }
}

#[test]
fn invalid_depth() {
    for d in ["0", "11", "x"] {
        assert_eq!(
            edit_tree(|a| {
                a.set_meta(meta::DEPTH, d);
            }),
            Error::InvalidDepth,
            "{d}"
        );
    }
}

#[test]
fn invalid_layers() {
    // A CNN whose `layers` ends in `gap`, not `dense C` (more in tests/cnn_errors.rs).
    let mut a = Artifact::random_cnn(&[1, 4, 4], "conv 2 k3 s1 same;gap;dense 2", 2, 3);
    a.set_meta(meta::LAYERS, "conv 2 k3 s1 same;gap");
    assert_eq!(err(&a.bytes()), Error::InvalidLayers);
}

#[test]
fn missing_tensor() {
    let shift = layer_name(1, LayerTensor::Shift).to_string();
    assert_eq!(
        edit(|a| {
            a.remove(&shift);
        }),
        Error::MissingTensor
    );
    assert_eq!(
        edit(|a| {
            a.remove(format::INPUT_QUANT);
        }),
        Error::MissingTensor
    );
    // num_layers says 3 but only two layers are stored.
    assert_eq!(
        edit(|a| {
            a.set_meta(meta::NUM_LAYERS, "3");
        }),
        Error::MissingTensor
    );
    assert_eq!(
        edit_tree(|a| {
            a.remove(format::TREE_LEAF_CLASS);
        }),
        Error::MissingTensor
    );
}

#[test]
fn unknown_tensor() {
    assert_eq!(
        edit(|a| {
            a.set("extra", Dtype::U8, &[1], vec![0]);
        }),
        Error::UnknownTensor
    );
    // A third layer's tensors while num_layers says 2.
    assert_eq!(
        edit(|a| {
            a.set("layers.2.weight", Dtype::I8, &[1], vec![0]);
        }),
        Error::UnknownTensor
    );
    assert_eq!(
        edit_tree(|a| {
            a.set("layers.0.weight", Dtype::I8, &[1], vec![0]);
        }),
        Error::UnknownTensor
    );
}

#[test]
fn wrong_dtype() {
    let bias = layer_name(0, LayerTensor::Bias).to_string();
    assert_eq!(
        edit(|a| {
            a.set(&bias, Dtype::F32, &[3], vec![0; 12]);
        }),
        Error::WrongDtype
    );
    assert_eq!(
        edit_tree(|a| {
            a.set(format::TREE_LEAF_CLASS, Dtype::I8, &[4], vec![0; 4]);
        }),
        Error::WrongDtype
    );
}

#[test]
fn wrong_shape() {
    let w = layer_name(1, LayerTensor::Weight).to_string();
    // Layer 1 expects 3 inputs (layer 0's outputs).
    assert_eq!(
        edit(|a| {
            a.set(&w, Dtype::I8, &[2, 4], vec![0; 8]);
        }),
        Error::WrongShape
    );
    // The last layer must produce one logit per class.
    assert_eq!(
        edit(|a| {
            a.set_meta(meta::CLASSES, "a|b|c");
        }),
        Error::WrongShape
    );
    assert_eq!(
        edit(|a| {
            a.set(format::INPUT_MEAN, Dtype::F32, &[3], vec![0; 12]);
        }),
        Error::WrongShape
    );
    // A tree whose node count does not match its depth is rejected at load.
    assert_eq!(
        edit_tree(|a| {
            a.set(format::TREE_WEIGHT, Dtype::I8, &[4, 4], vec![0; 16]);
        }),
        Error::WrongShape
    );
    assert_eq!(
        edit_tree(|a| {
            a.set_meta(meta::DEPTH, "3");
        }),
        Error::WrongShape
    );
}

#[test]
fn invalid_normalization() {
    assert_eq!(
        edit(|a| {
            a.set(
                format::INPUT_STD,
                Dtype::F32,
                &[1],
                0f32.to_le_bytes().to_vec(),
            );
        }),
        Error::InvalidNormalization
    );
    assert_eq!(
        edit(|a| {
            a.set(
                format::INPUT_MEAN,
                Dtype::F32,
                &[1],
                f32::NAN.to_le_bytes().to_vec(),
            );
        }),
        Error::InvalidNormalization
    );
}

#[test]
fn invalid_input_scale() {
    for s in [0.0f32, -1.0, f32::INFINITY, f32::NAN] {
        assert_eq!(
            edit(|a| {
                a.set(
                    format::INPUT_QUANT,
                    Dtype::F32,
                    &[1],
                    s.to_le_bytes().to_vec(),
                );
            }),
            Error::InvalidInputScale
        );
    }
}

#[test]
fn zero_point_range() {
    assert_eq!(
        edit(|a| {
            a.set(format::INPUT_ZERO_POINT, Dtype::I32, &[1], i32s(&[128]));
        }),
        Error::ZeroPointRange
    );
    let out = layer_name(0, LayerTensor::Output).to_string();
    assert_eq!(
        edit(|a| {
            a.set(&out, Dtype::I32, &[3], i32s(&[-129, -128, 127]));
        }),
        Error::ZeroPointRange
    );
}

#[test]
fn shift_range() {
    let shift = layer_name(0, LayerTensor::Shift).to_string();
    for s in [0, 63, -1] {
        assert_eq!(
            edit(|a| {
                a.set(&shift, Dtype::I32, &[3], i32s(&[31, s, 31]));
            }),
            Error::ShiftRange
        );
    }
}

#[test]
fn multiplier_range() {
    let m = layer_name(1, LayerTensor::Multiplier).to_string();
    for v in [5, -1, (1 << 30) - 1, i32::MIN] {
        assert_eq!(
            edit(|a| {
                a.set(&m, Dtype::I32, &[2], i32s(&[1 << 30, v]));
            }),
            Error::MultiplierRange
        );
    }
    // 0 is allowed (a real multiplier of 0).
    let mut a = Artifact::tiny_mlp();
    a.set(&m, Dtype::I32, &[2], i32s(&[1 << 30, 0]));
    assert!(Model::from_bytes(&a.bytes()).is_ok());
}

#[test]
fn activation_range() {
    let out = layer_name(0, LayerTensor::Output).to_string();
    for v in [[0, 5, 4], [0, -129, 127], [0, -128, 128]] {
        assert_eq!(
            edit(|a| {
                a.set(&out, Dtype::I32, &[3], i32s(&v));
            }),
            Error::ActivationRange,
            "{v:?}"
        );
    }
}

#[test]
fn weight_range() {
    let w = layer_name(0, LayerTensor::Weight).to_string();
    assert_eq!(
        edit(|a| {
            a.set(&w, Dtype::I8, &[3, 4], vec![0x80; 12]);
        }),
        Error::WeightRange
    );
    assert_eq!(
        edit_tree(|a| {
            a.set(format::TREE_WEIGHT, Dtype::I8, &[3, 4], vec![0x80; 12]);
        }),
        Error::WeightRange
    );
}

#[test]
fn accumulator_range() {
    let b = layer_name(0, LayerTensor::Bias).to_string();
    // Row 0 has Σ|W| = 10: 2^31 − 1 − 1280 is the largest admissible |bias|.
    let limit = i32::MAX - 1280;
    let mut a = Artifact::tiny_mlp();
    a.set(&b, Dtype::I32, &[3], i32s(&[limit, 0, 0]));
    assert!(Model::from_bytes(&a.bytes()).is_ok());
    assert_eq!(
        edit(|a| {
            a.set(&b, Dtype::I32, &[3], i32s(&[limit + 1, 0, 0]));
        }),
        Error::AccumulatorRange
    );
    assert_eq!(
        edit(|a| {
            a.set(&b, Dtype::I32, &[3], i32s(&[0, i32::MIN, 0]));
        }),
        Error::AccumulatorRange
    );
    assert_eq!(
        edit_tree(|a| {
            a.set(format::TREE_BIAS, Dtype::I32, &[3], i32s(&[i32::MAX, 0, 0]));
        }),
        Error::AccumulatorRange
    );
}

#[test]
fn leaf_class_range() {
    assert_eq!(
        edit_tree(|a| {
            a.set(format::TREE_LEAF_CLASS, Dtype::U8, &[4], vec![0, 1, 3, 0]);
        }),
        Error::LeafClassRange
    );
}

#[test]
fn call_errors() {
    let cnn = Artifact::random_cnn(&[1, 2, 2], "conv 2 k3 s1 same;maxpool 2;dense 2", 2, 4);
    for a in [Artifact::tiny_mlp(), Artifact::tiny_tree(), cnn] {
        let bytes = a.bytes();
        let m = Model::from_bytes(&bytes).unwrap();
        let mut scratch = vec![0u8; m.scratch_len()];
        let mut logits = vec![0i8; m.num_classes()];
        assert_eq!(
            m.infer(&TINY_INPUT[..3], &mut scratch, &mut logits),
            Err(Error::InputLength)
        );
        assert_eq!(
            m.infer(&TINY_INPUT, &mut scratch, &mut logits[1..]),
            Err(Error::LogitsLength)
        );
        let short = m.scratch_len() - 1;
        assert_eq!(
            m.infer(&TINY_INPUT, &mut scratch[..short], &mut logits),
            Err(Error::ScratchTooSmall)
        );
        assert!(m.infer(&TINY_INPUT, &mut scratch, &mut logits).is_ok());
    }
}

#[test]
fn display_is_distinct() {
    let all = [
        Error::TooShort,
        Error::HeaderTooLarge,
        Error::InvalidJson,
        Error::WrongShape,
        Error::InvalidLayers,
        Error::AccumulatorRange,
        Error::ScratchTooSmall,
    ];
    let texts: std::collections::HashSet<String> = all.iter().map(|e| e.to_string()).collect();
    assert_eq!(texts.len(), all.len());
}
