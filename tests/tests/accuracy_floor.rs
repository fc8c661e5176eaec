//! The int8 accuracy of each committed fixture on the committed test inputs must not fall below
//! the floor recorded with it (`fixtures/floors.txt`), through runtime-nostd and through tract.
//! Also: the committed test vectors belong to the committed artifact (the firmware embeds both).

use regression_tests::{Agreement, Fixture, fixture, lists, runtime_run};
use runtime_nostd::format::vectors as vn;
use safetensors::SafeTensors;

#[test]
fn int8_accuracy_stays_above_the_recorded_floor() {
    let data = fixture::test_set().unwrap();
    for floor in lists::floors(&fixture::dir().join("floors.txt")).unwrap() {
        let data = data.take(floor.rows);
        assert_eq!(
            data.rows(),
            floor.rows,
            "{}: test set too small",
            floor.fixture
        );
        let fx = Fixture::load(&floor.fixture).unwrap();
        let a = Agreement::measure(&fx.artifact, &fx.onnx, &data).unwrap();
        let (rt, tr) = a.accuracy(&data);
        println!(
            "{}: int8 accuracy on {} inputs: runtime-nostd {rt:.2}%, tract {tr:.2}%, floor {:.2}%",
            floor.fixture, floor.rows, floor.percent
        );
        assert!(
            rt >= floor.percent,
            "{}: runtime-nostd {rt:.2}% < floor {:.2}%",
            floor.fixture,
            floor.percent
        );
        assert!(
            tr >= floor.percent,
            "{}: tract {tr:.2}% < floor {:.2}%",
            floor.fixture,
            floor.percent
        );
    }
}

#[test]
fn committed_vectors_are_what_runtime_nostd_computes_for_the_committed_artifact() {
    for floor in lists::floors(&fixture::dir().join("floors.txt")).unwrap() {
        let fx = Fixture::load(&floor.fixture).unwrap();
        let model = runtime_run::load(&fx.artifact, &floor.fixture).unwrap();
        let st = SafeTensors::deserialize(&fx.vectors).unwrap();
        let i8s = |name: &str| -> Vec<i8> {
            st.tensor(name)
                .unwrap()
                .data()
                .iter()
                .map(|&b| b as i8)
                .collect()
        };
        let (x_q, logits) = (i8s(vn::X_Q), i8s(vn::LOGITS));
        let class: Vec<usize> = i8s(vn::CLASS).iter().map(|&c| c as u8 as usize).collect();
        let out = runtime_run::run_quantized(&model, x_q.clone()).unwrap();
        assert_eq!(out.logits, logits, "{}: logits", floor.fixture);
        assert_eq!(out.class, class, "{}: classes", floor.fixture);
        // They are the first rows of the committed test set, quantized by the runtime.
        let data = fixture::test_set().unwrap().take(class.len());
        let again = runtime_run::run_raw(&model, &data.x).unwrap();
        assert_eq!(
            again.x_q, x_q,
            "{}: x_q are not the first test inputs",
            floor.fixture
        );
        let label: Vec<u32> = st
            .tensor(vn::LABEL)
            .unwrap()
            .data()
            .iter()
            .map(|&b| u32::from(b))
            .collect();
        assert_eq!(label, data.y, "{}: labels", floor.fixture);
        println!(
            "{}: {} committed vectors reproduced exactly",
            floor.fixture,
            class.len()
        );
    }
}
