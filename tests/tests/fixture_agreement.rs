//! tract (the `.int8.onnx`) against runtime-nostd (the `.int8.safetensors`) on every committed
//! test input, for every committed fixture; every difference must be listed in
//! `fixtures/known-divergences.txt` and explained (see `regression_tests::agreement`).

use std::collections::BTreeSet;

use regression_tests::lists::{self, Divergence};
use regression_tests::{Agreement, Fixture, fixture};

#[test]
fn tract_and_runtime_nostd_agree_on_every_committed_input() {
    let data = fixture::test_set().unwrap();
    let floors = lists::floors(&fixture::dir().join("floors.txt")).unwrap();
    let known = lists::divergences(&fixture::dir().join("known-divergences.txt")).unwrap();
    assert!(!floors.is_empty(), "no fixture listed in floors.txt");
    for floor in &floors {
        let name = &floor.fixture;
        let fx = Fixture::load(name).unwrap();
        let a = Agreement::measure(&fx.artifact, &fx.onnx, &data).unwrap();
        println!("{name}: {}", a.raw);
        println!("{name}: {}", a.explain());
        let problems = a.problems();
        assert!(problems.is_empty(), "{name}: {problems:#?}");

        let seen = lists::observed(name, &a.raw);
        let listed: BTreeSet<Divergence> = known
            .iter()
            .filter(|d| &d.fixture == name)
            .cloned()
            .collect();
        let unlisted: Vec<_> = seen.difference(&listed).collect();
        let gone: Vec<_> = listed.difference(&seen).collect();
        assert!(
            unlisted.is_empty() && gone.is_empty(),
            "{name}: known-divergences.txt is out of date.\n  new: {unlisted:?}\n  no longer seen: {gone:?}"
        );
    }
}
