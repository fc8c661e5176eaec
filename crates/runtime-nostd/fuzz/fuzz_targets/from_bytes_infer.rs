//! Arbitrary bytes → `Model::from_bytes` → (if it loads) `quantize_input` and `infer`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use runtime_nostd::Model;

fuzz_target!(|data: &[u8]| {
    let Ok(m) = Model::from_bytes(data) else {
        return;
    };
    // Bounded by the format's limits, but keep the harness fast on huge shapes.
    if m.input_len() > 1 << 16 {
        return;
    }
    let mut scratch = vec![0u8; m.scratch_len()];
    let mut logits = vec![0i8; m.num_classes()];
    let x: Vec<f32> = (0..m.input_len()).map(|i| (i % 7) as f32 - 3.0).collect();
    let mut q = vec![0i8; m.input_len()];
    m.quantize_input(&x, &mut q).expect("lengths match");
    let p = m
        .infer(&q, &mut scratch, &mut logits)
        .expect("a loaded model infers");
    assert!(p.class < m.num_classes());
    let _ = m.class_name(p.class).expect("class name exists");
});
