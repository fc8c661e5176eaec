//! The saved student loads back through export's loader with the candle weights unchanged.
use candle_core::{DType, Device, Tensor};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::nn::Mlp;
use crate::students::tree::TreeConfig;

fn meta_for<'a>(norm: &'a Normalization, classes: &'a [String]) -> StudentMeta<'a> {
    StudentMeta {
        input_shape: &[1, 2, 3],
        classes,
        norm,
        config_toml: "seed = 7\n",
    }
}

fn classes() -> Vec<String> {
    ["a", "b", "c"].map(String::from).to_vec()
}

/// Loads `path` through export, checks what every kind shares, and that saving the loaded
/// model again gives the same bytes.
fn load_checked(path: &Path, norm: &Normalization) -> FloatModel {
    let m = FloatModel::load(path).unwrap();
    assert_eq!(m.input_shape, [1, 2, 3]);
    assert_eq!(m.classes, classes());
    assert_eq!((&m.mean, &m.std), (&norm.mean, &norm.std));
    assert_eq!(m.config.as_deref(), Some("seed = 7\n"));
    assert!(m.to_safetensors_bytes().unwrap() == std::fs::read(path).unwrap());
    m
}

fn values(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1().unwrap()
}

#[test]
fn a_saved_mlp_loads_back_with_its_weights() {
    let (varmap, mut rng) = (VarMap::new(), ChaCha8Rng::seed_from_u64(1));
    let mlp = Mlp::new(&varmap, 6, &[4, 5], 3, 0.0, &mut rng, &Device::Cpu).unwrap();
    let norm = Normalization {
        mean: vec![0.25],
        std: vec![0.5],
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("student.safetensors");
    let classes = classes();
    save_mlp(&path, &varmap, &[4, 5], &meta_for(&norm, &classes)).unwrap();
    let FloatBody::Mlp(layers) = load_checked(&path, &norm).body else {
        panic!("not an MLP")
    };
    assert_eq!(layers.len(), 3);
    for (l, candle) in layers.iter().zip(mlp.layers()) {
        assert_eq!(l.weight, values(candle.weight()));
        assert_eq!(l.bias, values(candle.bias().unwrap()));
        assert_eq!([l.out_features, l.in_features], candle.weight().dims());
    }
    // A parameter the format has no place for is refused, not dropped.
    varmap
        .get(
            (1,),
            "extra",
            candle_nn::Init::Const(0.0),
            DType::F32,
            &Device::Cpu,
        )
        .unwrap();
    let e = save_mlp(&path, &varmap, &[4, 5], &meta_for(&norm, &classes)).unwrap_err();
    assert!(e.to_string().contains("holds 7 tensors"), "{e}");
}

#[test]
fn a_saved_tree_loads_back_with_its_uncentred_bias_and_beta() {
    let (varmap, mut rng) = (VarMap::new(), ChaCha8Rng::seed_from_u64(2));
    let centre = Tensor::new(&[0.5f32, -1.0, 0.25, 2.0, 0.0, 1.5], &Device::Cpu).unwrap();
    let cfg = TreeConfig {
        depth: 2,
        beta: 3.0,
        ..TreeConfig::default()
    };
    let tree = SoftTree::new(&varmap, &centre, 3, &cfg, &mut rng, &Device::Cpu).unwrap();
    let norm = Normalization {
        mean: (0..6).map(|i| i as f32 / 10.0).collect(),
        std: vec![0.3; 6],
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("student.safetensors");
    let classes = classes();
    save_tree(&path, &tree, &meta_for(&norm, &classes)).unwrap();
    let FloatBody::Tree(t) = load_checked(&path, &norm).body else {
        panic!("not a tree")
    };
    assert_eq!(t.depth, 2);
    assert_eq!(t.inner_weight, values(&tree.weight));
    let saved_bias = values(&tree.saved_bias().unwrap());
    assert_eq!(t.inner_bias, saved_bias);
    assert_ne!(saved_bias, values(&tree.bias), "the centre is folded in");
    assert_eq!(t.leaves, values(&tree.leaves));
    assert_eq!(t.beta, 3.0);
}
