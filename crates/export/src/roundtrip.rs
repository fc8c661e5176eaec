//! Reading the artifact back through runtime-nostd before anything is reported or written.

use runtime_nostd::{Kind, Model};

use crate::error::{ExportError, Result};
use crate::quantized::{QuantBody, QuantModel};
use crate::st_read::StFile;

fn fail(reason: String) -> ExportError {
    ExportError::RoundTrip(reason)
}

/// Checks that `bytes` parse in runtime-nostd and describe `m`: metadata, scratch and MAC
/// figures, and (through a safetensors parse independent of the runtime) every tensor
/// byte-identical to `expected`, the tensors export meant to write.
pub fn check<'a>(
    bytes: &'a [u8],
    m: &QuantModel,
    expected: &[crate::st_write::Owned],
) -> Result<Model<'a>> {
    let model = Model::from_bytes(bytes)
        .map_err(|e| fail(format!("runtime-nostd rejected the artifact: {e:?}")))?;
    let (kind, n) = match &m.body {
        QuantBody::Mlp(l) => (Kind::Mlp, l.len()),
        QuantBody::Tree(t) => (Kind::Tree, t.depth as usize),
        QuantBody::Cnn(c) => (Kind::Cnn, c.layers.len()),
    };
    let same = model.kind() == kind
        && model.num_layers_or_depth() == n
        && model.input_shape() == m.input_shape.as_slice()
        && model.num_classes() == m.classes.len()
        && (0..m.classes.len()).all(|i| model.class_name(i) == Some(m.classes[i].as_str()))
        && model.source_sha256() == crate::artifact::hex(&m.source_sha256)
        && model.macs() == m.macs();
    if !same {
        return Err(fail(
            "runtime-nostd reads different metadata than was written".into(),
        ));
    }
    let f = StFile::parse("artifact", bytes)?;
    if f.st.len() != expected.len() {
        return Err(fail(format!(
            "{} tensors read back, {} written",
            f.st.len(),
            expected.len()
        )));
    }
    for t in expected {
        let v =
            f.st.tensor(&t.name)
                .map_err(|_| fail(format!("tensor `{}` missing", t.name)))?;
        if v.dtype() != t.dtype || v.shape() != t.shape.as_slice() || v.data() != t.data.as_slice()
        {
            return Err(fail(format!(
                "tensor `{}` differs after the round trip",
                t.name
            )));
        }
    }
    Ok(model)
}
