//! The device's engine: runtime-nostd on the host, one input at a time, as the firmware runs it.

use runtime_nostd::Model;

use crate::error::{Error, Result};
use crate::outputs::Outputs;

fn rt(what: &str) -> impl Fn(runtime_nostd::Error) -> Error + '_ {
    move |error| Error::Runtime {
        what: what.into(),
        error,
    }
}

/// Parses an artifact, naming it in the error.
pub fn load<'a>(bytes: &'a [u8], name: &str) -> Result<Model<'a>> {
    Model::from_bytes(bytes).map_err(rt(name))
}

/// Quantizes and infers every row of `x` (`[N * F]`).
pub fn run_raw(model: &Model, x: &[f32]) -> Result<Outputs> {
    let f = model.input_len();
    if f == 0 || !x.len().is_multiple_of(f) {
        return Err(Error::Shape(format!(
            "{} values are not rows of {f}",
            x.len()
        )));
    }
    let mut x_q = vec![0i8; x.len()];
    for (raw, q) in x.chunks_exact(f).zip(x_q.chunks_exact_mut(f)) {
        model.quantize_input(raw, q).map_err(rt("quantize_input"))?;
    }
    run_quantized(model, x_q)
}

/// Infers every row of already quantized inputs `x_q` (`[N * F]`).
pub fn run_quantized(model: &Model, x_q: Vec<i8>) -> Result<Outputs> {
    let (f, c) = (model.input_len(), model.num_classes());
    if f == 0 || !x_q.len().is_multiple_of(f) {
        return Err(Error::Shape(format!(
            "{} values are not rows of {f}",
            x_q.len()
        )));
    }
    let n = x_q.len() / f;
    let mut scratch = vec![0u8; model.scratch_len()];
    let mut logits = vec![0i8; n * c];
    let mut class = Vec::with_capacity(n);
    let mut leaf = Vec::new();
    for (q, l) in x_q.chunks_exact(f).zip(logits.chunks_exact_mut(c)) {
        let p = model.infer(q, &mut scratch, l).map_err(rt("infer"))?;
        class.push(p.class);
        leaf.extend(p.path.map(|path| usize::from(path.leaf)));
    }
    Ok(Outputs {
        x_q,
        logits,
        class,
        leaf,
    })
}
