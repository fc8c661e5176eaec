//! The committed soft-tree fixture (`fixtures/demo-tree.*`, a distilled tree trained on the
//! full Fashion-MNIST; see fixtures/README.md): tract and runtime-nostd must reach the same
//! leaf on every committed test input, and a damaged tree must be refused when it is loaded.

use regression_tests::{Agreement, Fixture, fixture, runtime_run};
use runtime_nostd::Error;

const NAME: &str = "demo-tree";

#[test]
fn tract_and_runtime_nostd_reach_the_same_leaf_on_every_input() {
    let data = fixture::test_set().unwrap();
    let fx = Fixture::load(NAME).unwrap();
    let a = Agreement::measure(&fx.artifact, &fx.onnx, &data).unwrap();
    assert_eq!(
        a.runtime.leaf.len(),
        data.rows(),
        "runtime-nostd gave no path"
    );
    assert_eq!(a.tract.leaf.len(), data.rows(), "tract gave no leaf");
    println!("{NAME}: {}", a.raw);
    assert!(
        a.raw.leaf_samples.is_empty(),
        "{NAME}: leaves differ on inputs {:?}\n{}",
        a.raw.leaf_samples,
        a.explain()
    );
    // Same leaf, so the same stored distribution and class.
    assert_eq!(a.runtime.class, a.tract.class);
    assert_eq!(a.runtime.logits, a.tract.logits);
    let used = {
        let mut l = a.runtime.leaf.clone();
        l.sort_unstable();
        l.dedup();
        l.len()
    };
    println!(
        "{NAME}: {used} distinct leaves reached by {} inputs",
        data.rows()
    );
}

/// `bytes` with the first `from` replaced by `to` (same length: offsets stay valid).
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

#[test]
fn damaged_trees_are_refused_at_load_time() {
    let fx = Fixture::load(NAME).unwrap();
    let model = runtime_run::load(&fx.artifact, NAME).unwrap();
    let depth = model.num_layers_or_depth();
    let classes = model.num_classes();
    // The node count no longer matches the depth.
    for d in [depth - 1, depth + 1] {
        let from = format!("\"depth\":\"{depth}\"");
        let to = format!("\"depth\":\"{d}\"");
        if from.len() != to.len() {
            continue;
        }
        let bad = replace(&fx.artifact, from.as_bytes(), to.as_bytes());
        let e = runtime_nostd::Model::from_bytes(&bad).err();
        assert_eq!(e, Some(Error::WrongShape), "depth {d} over {depth}'s nodes");
    }
    // A leaf's class index out of range.
    let st = safetensors::SafeTensors::deserialize(&fx.artifact).unwrap();
    let leaf_class = st.tensor(runtime_nostd::format::TREE_LEAF_CLASS).unwrap();
    let first = leaf_class.data().as_ptr() as usize - fx.artifact.as_ptr() as usize;
    let mut bad = fx.artifact.clone();
    bad[first] = u8::try_from(classes).unwrap();
    let e = runtime_nostd::Model::from_bytes(&bad).err();
    assert_eq!(e, Some(Error::LeafClassRange));
}
