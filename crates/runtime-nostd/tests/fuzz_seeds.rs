//! The fuzz seed corpus (`fuzz/seeds/`): committed artifacts that must keep loading, so the
//! fuzzer starts from inputs that reach inference. Regenerate with
//! `cargo test -p runtime-nostd --test fuzz_seeds -- --ignored`.

mod common;
use common::Artifact;
use std::path::PathBuf;

fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("tiny_mlp.safetensors", Artifact::tiny_mlp().bytes()),
        ("tiny_tree.safetensors", Artifact::tiny_tree().bytes()),
        (
            "mlp_3_layers.safetensors",
            Artifact::random_mlp(&[12, 6, 5, 3], 5).bytes(),
        ),
        (
            "tree_depth3.safetensors",
            Artifact::random_tree(3, 9, 4, 6).bytes(),
        ),
        (
            "cnn_small.safetensors",
            Artifact::random_cnn(
                &[2, 6, 6],
                "conv 3 k3 s1 same;maxpool 2;dwconv k3 s1 valid;gap;dense 3",
                3,
                7,
            )
            .bytes(),
        ),
    ]
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds")
}

#[test]
#[ignore = "writes fuzz/seeds; run by hand when the format changes"]
fn write_fuzz_seeds() {
    std::fs::create_dir_all(dir()).unwrap();
    for (name, bytes) in seeds() {
        std::fs::write(dir().join(name), bytes).unwrap();
    }
}

#[test]
fn committed_seeds_load() {
    // Byte equality with a fresh build is not checked: safetensors writes the metadata map
    // in HashMap order, which changes from run to run.
    for (name, _) in seeds() {
        let on_disk = std::fs::read(dir().join(name)).expect("seed file committed");
        runtime_nostd::Model::from_bytes(&on_disk).expect("seed loads");
    }
}
