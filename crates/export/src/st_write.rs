//! Deterministic safetensors writing through the `safetensors` crate's serializer.
//!
//! `safetensors::serialize` (0.8) orders tensors by descending dtype size, then by name, and
//! lays their bytes out back to back after a header space-padded to a multiple of 8. So every
//! 4-byte (I32/F32) tensor starts 4-aligned, and 1-byte tensors follow them; a 1-byte tensor
//! starts 4-aligned only when the 1-byte tensors before it have lengths that are multiples of
//! 4 (safetensors requires contiguous offsets, so padding between tensors is impossible).
//! It serializes `__metadata__` from a `HashMap`, whose key order changes from one map to the
//! next; the header is therefore re-emitted here with keys in sorted order (a `BTreeMap`),
//! which keeps the same offsets and makes the file bytes a function of its content only.

use std::collections::BTreeMap;

use safetensors::{Dtype, SafeTensors, tensor::TensorView};

use crate::error::{ExportError, Result};

/// One tensor to write, owning its little-endian bytes.
pub struct Owned {
    pub name: String,
    pub dtype: Dtype,
    pub shape: Vec<usize>,
    pub data: Vec<u8>,
}

impl Owned {
    pub fn new(name: &str, dtype: Dtype, shape: Vec<usize>, data: Vec<u8>) -> Self {
        Self {
            name: name.into(),
            dtype,
            shape,
            data,
        }
    }
}

fn err(reason: impl ToString) -> ExportError {
    ExportError::Safetensors {
        what: "writer".into(),
        reason: reason.to_string(),
    }
}

/// Serializes `tensors` with `meta` as `__metadata__`; same content ⇒ same bytes (usable by
/// any writer that needs a stable file hash, e.g. for `source_sha256`).
pub fn serialize(tensors: &[Owned], meta: &BTreeMap<String, String>) -> Result<Vec<u8>> {
    let views = tensors
        .iter()
        .map(|t| TensorView::new(t.dtype, t.shape.clone(), &t.data).map(|v| (t.name.clone(), v)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(err)?;
    let info =
        (!meta.is_empty()).then(|| meta.iter().map(|(k, v)| (k.clone(), v.clone())).collect());
    let bytes = safetensors::serialize(views, info).map_err(err)?;
    canonical_header(&bytes)
}

/// Re-emits the header of a valid safetensors buffer with every JSON object's keys sorted.
fn canonical_header(bytes: &[u8]) -> Result<Vec<u8>> {
    let n = bytes
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_le_bytes)
        .ok_or_else(|| err("short buffer"))?;
    let end = usize::try_from(n)
        .ok()
        .and_then(|n| n.checked_add(8))
        .ok_or_else(|| err("header length"))?;
    let header = bytes
        .get(8..end)
        .ok_or_else(|| err("header beyond buffer"))?;
    // serde_json::Value maps may preserve insertion order if a dependency enables that
    // feature; a BTreeMap at each level sorts regardless.
    let parsed: BTreeMap<String, BTreeMap<String, serde_json::Value>> =
        serde_json::from_slice(header).map_err(err)?;
    let mut json = serde_json::to_vec(&parsed).map_err(err)?;
    json.resize(json.len().next_multiple_of(8), b' ');
    let mut out = Vec::with_capacity(8 + json.len() + bytes.len() - end);
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(&bytes[end..]);
    SafeTensors::deserialize(&out).map_err(err)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_depend_on_content_only() {
        let t = || {
            vec![
                Owned::new("b", Dtype::I8, vec![3], vec![1, 2, 3]),
                Owned::new("a", Dtype::F32, vec![1], vec![0; 4]),
            ]
        };
        let meta: BTreeMap<String, String> = [
            "kind",
            "classes",
            "format",
            "depth",
            "input_shape",
            "z",
            "a",
        ]
        .iter()
        .map(|k| (k.to_string(), k.to_uppercase()))
        .collect();
        let first = serialize(&t(), &meta).unwrap();
        // Each HashMap the crate builds iterates in its own order: repeated writes would show it.
        for _ in 0..20 {
            assert_eq!(serialize(&t(), &meta).unwrap(), first);
        }
        let n = u64::from_le_bytes(first[..8].try_into().unwrap()) as usize;
        assert_eq!(n % 8, 0);
        let header = std::str::from_utf8(&first[8..8 + n]).unwrap();
        assert!(
            header.starts_with(r#"{"__metadata__":{"a":"A","classes":"CLASSES","#),
            "{header}"
        );
        let st = SafeTensors::deserialize(&first).unwrap();
        assert_eq!(st.tensor("b").unwrap().data(), &[1, 2, 3]);
    }
}
