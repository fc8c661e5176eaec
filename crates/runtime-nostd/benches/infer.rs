//! Host speed of runtime-nostd alone (the tract comparison lives in the workspace `tests/`):
//! µs per inference and MACs per ns for a 784-128-10 MLP and a depth-6 tree over 784 inputs,
//! and the 784→128 layer through the reference and the selected kernel.
//! `cargo bench -p runtime-nostd --bench infer`

#[path = "../tests/common/mod.rs"]
mod common;

use common::{Artifact, Rng};
use runtime_nostd::Model;
use runtime_nostd::kernels::{SELECTED_NAME, prep_words, reference, selected};
use std::hint::black_box;
use std::time::Instant;

/// Runs `f` for about `budget_ms`, returns ns per call (best of 5 rounds).
fn time(budget_ms: u64, mut f: impl FnMut()) -> f64 {
    let mut n = 1u64;
    loop {
        let t = Instant::now();
        for _ in 0..n {
            f();
        }
        if t.elapsed().as_millis() as u64 >= budget_ms / 5 {
            break;
        }
        n *= 2;
    }
    (0..5)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..n {
                f();
            }
            t.elapsed().as_nanos() as f64 / n as f64
        })
        .fold(f64::INFINITY, f64::min)
}

fn report(name: &str, macs: usize, ns: f64) {
    println!(
        "{name:<34} {:>9.2} µs  {:>6.2} MACs/ns",
        ns / 1000.0,
        macs as f64 / ns
    );
}

fn main() {
    println!("selected kernel: {SELECTED_NAME}");
    let mut rng = Rng(42);
    let input: Vec<i8> = (0..784).map(|_| rng.i8()).collect();

    let (rows, cols) = (128, 784);
    let w: Vec<i8> = (0..rows * cols).map(|_| rng.i8().max(-127)).collect();
    let mut prep = vec![0u32; prep_words(cols)];
    let mut acc = vec![0i32; rows];
    let ns = time(500, || {
        reference::dot::dot_rows(black_box(&w), black_box(&input), &[], &mut acc);
    });
    report("layer 784x128, reference kernel", rows * cols, ns);
    let ns = time(500, || {
        selected::prepare(black_box(&input), &mut prep);
        selected::dot_rows(black_box(&w), black_box(&input), &prep, &mut acc);
    });
    report("layer 784x128, selected kernel", rows * cols, ns);

    for (name, art) in [
        (
            "mlp 784-128-10 infer",
            Artifact::random_mlp(&[784, 128, 10], 1),
        ),
        (
            "tree depth 6 x 784 infer",
            Artifact::random_tree(6, 784, 10, 2),
        ),
    ] {
        let bytes = art.bytes();
        let m = Model::from_bytes(&bytes).expect("bench artifact loads");
        let mut scratch = vec![0u8; m.scratch_len()];
        let mut logits = vec![0i8; m.num_classes()];
        let ns = time(500, || {
            black_box(m.infer(black_box(&input), &mut scratch, &mut logits).ok());
        });
        report(name, m.macs(), ns);
        let ns = time(300, || {
            black_box(Model::from_bytes(black_box(&bytes)).ok());
        });
        println!(
            "{:<34} {:>9.2} µs  ({} bytes)",
            format!("  from_bytes ({name})").as_str(),
            ns / 1000.0,
            bytes.len()
        );
    }
}
