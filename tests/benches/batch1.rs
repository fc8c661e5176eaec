//! Batch-1 latency of the same int8 model through runtime-nostd (the `.int8.safetensors`) and
//! through tract (its `.int8.onnx` twin), in this process, on the committed test inputs.
//!
//! `cargo bench -p regression-tests --bench batch1`
//!
//! Both sides do the same work per input: quantize the raw f32 input, run the integer MLP,
//! take the top-1 class. runtime-nostd's `infer` alone is printed too.

use std::hint::black_box;
use std::time::Instant;

use regression_tests::{Fixture, TractModel, fixture, runtime_run};

const INPUTS: usize = 200;
const ROUNDS: usize = 7;

/// Median over `ROUNDS` of the mean ns per call of `f` over every input, after one warm-up.
fn time_ns(n: usize, mut f: impl FnMut(usize) -> usize) -> f64 {
    let mut sink = 0;
    for i in 0..n {
        sink += f(i);
    }
    let mut per = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let t = Instant::now();
        for i in 0..n {
            sink += f(i);
        }
        per.push(t.elapsed().as_nanos() as f64 / n as f64);
    }
    black_box(sink);
    per.sort_by(f64::total_cmp);
    per[ROUNDS / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let fx = Fixture::load("demo-mlp")?;
    let data = fixture::test_set()?.take(INPUTS);
    let model = runtime_run::load(&fx.artifact, "demo-mlp")?;
    let (f, c, macs) = (model.input_len(), model.num_classes(), model.macs());
    let tract = TractModel::new(&fx.onnx, 1, f)?;
    let inputs: Vec<_> = (0..data.rows())
        .map(|i| tract.input(data.row(i)))
        .collect::<Result<_, _>>()?;

    // Same answers from both before timing anything.
    let rt = runtime_run::run_raw(&model, &data.x)?;
    for (i, input) in inputs.iter().enumerate() {
        let tr = tract.run_tensor(input.clone())?;
        if rt.class[i] != tr {
            eprintln!("input {i}: runtime-nostd says {}, tract {tr}", rt.class[i]);
        }
    }

    let mut q = vec![0i8; f];
    let mut scratch = vec![0u8; model.scratch_len()];
    let mut logits = vec![0i8; c];
    let n = data.rows();
    let rt_full = time_ns(n, |i| {
        model.quantize_input(black_box(data.row(i)), &mut q).ok();
        let p = model.infer(black_box(&q), &mut scratch, &mut logits);
        p.map_or(usize::MAX, |p| p.class)
    });
    let quantized: Vec<&[i8]> = rt.x_q.chunks_exact(f).collect();
    let rt_infer = time_ns(n, |i| {
        let p = model.infer(black_box(quantized[i]), &mut scratch, &mut logits);
        p.map_or(usize::MAX, |p| p.class)
    });
    let tr = time_ns(n, |i| {
        tract
            .run_tensor(black_box(inputs[i].clone()))
            .unwrap_or(usize::MAX)
    });

    let kernel = runtime_nostd::kernels::SELECTED_NAME;
    println!(
        "demo-mlp: {f} inputs, {c} classes, {macs} MACs per inference, batch 1, {n} inputs x {ROUNDS} rounds (median)"
    );
    println!(
        "  runtime-nostd quantize+infer  {:>9.2} µs  {:>6.2} MACs/ns  (kernel {kernel})",
        rt_full / 1e3,
        macs as f64 / rt_full
    );
    println!(
        "  runtime-nostd infer only      {:>9.2} µs  {:>6.2} MACs/ns",
        rt_infer / 1e3,
        macs as f64 / rt_infer
    );
    println!(
        "  tract (ONNX twin)             {:>9.2} µs  {:>6.2} MACs/ns",
        tr / 1e3,
        macs as f64 / tr
    );
    println!(
        "  ratio runtime-nostd / tract   {:>9.4}  (goal ≤ 0.1)",
        rt_full / tr
    );
    Ok(())
}
