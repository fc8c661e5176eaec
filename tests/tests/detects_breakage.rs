//! The checks can fail: a committed artifact altered in ways a bug could alter it must be
//! caught by the same agreement check the regression tests use (its ONNX twin unchanged).

use regression_tests::{Agreement, Fixture, fixture};
use runtime_nostd::format::{LayerTensor, layer_name};
use safetensors::SafeTensors;

/// Byte range of tensor `name` inside the artifact.
fn range(bytes: &[u8], name: &str) -> std::ops::Range<usize> {
    let st = SafeTensors::deserialize(bytes).unwrap();
    let t = st.tensor(name).unwrap();
    let start = t.data().as_ptr() as usize - bytes.as_ptr() as usize;
    start..start + t.data().len()
}

fn problems_after(edit: impl Fn(&mut Vec<u8>)) -> Vec<String> {
    let fx = Fixture::load("demo-mlp").unwrap();
    let data = fixture::test_set().unwrap().take(300);
    let mut artifact = fx.artifact.clone();
    edit(&mut artifact);
    assert_ne!(artifact, fx.artifact);
    Agreement::measure(&artifact, &fx.onnx, &data)
        .unwrap()
        .problems()
}

#[test]
fn a_last_layer_shift_off_by_one_is_caught() {
    let p = problems_after(|a| {
        let name = layer_name(1, LayerTensor::Shift).to_string();
        let r = range(a, &name);
        // Shift of output channel 3, little-endian i32: one more halves that logit's scale.
        a[r.start + 12] += 1;
    });
    println!("{p:#?}");
    assert!(!p.is_empty());
}

#[test]
fn one_changed_hidden_weight_is_caught() {
    let p = problems_after(|a| {
        let r = range(a, &layer_name(0, LayerTensor::Weight).to_string());
        // Row 0, the centre pixel (14, 14) of a 28x28 image.
        let w = &mut a[r.start + 14 * 28 + 14];
        *w = (*w as i8).wrapping_add(100) as u8;
    });
    println!("{p:#?}");
    assert!(!p.is_empty());
}
