//! `<stem>.vectors.safetensors`: test vectors the firmware self-test embeds.

use std::collections::BTreeMap;

use safetensors::Dtype;

use crate::error::{ExportError, Result};
use crate::st_write::{Owned, serialize};

/// Runtime-nostd's outputs on the first evaluation samples, on the host.
pub struct Vectors {
    pub features: usize,
    pub classes: usize,
    /// `[N * F]`.
    pub x_q: Vec<i8>,
    /// `[N * C]`: int8 logits (tree: the leaf distribution as `p − 128`, as `infer` writes it).
    pub logits: Vec<i8>,
    pub class: Vec<u8>,
    /// Ground truth, when the evaluation set has labels.
    pub label: Option<Vec<u8>>,
}

impl Vectors {
    /// Serializes `x_q` I8 `[N, F]`, `logits` I8 `[N, C]`, `class` U8 `[N]`, `label` U8 `[N]`
    /// (when known), with the artifact's SHA-256 in the metadata so a firmware can tell that
    /// vectors and model belong together.
    pub fn to_bytes(&self, artifact_sha256: &str) -> Result<Vec<u8>> {
        let n = self.class.len();
        let bytes = |v: &[i8]| v.iter().map(|&x| x as u8).collect::<Vec<u8>>();
        let mut t = vec![
            Owned::new("x_q", Dtype::I8, vec![n, self.features], bytes(&self.x_q)),
            Owned::new(
                "logits",
                Dtype::I8,
                vec![n, self.classes],
                bytes(&self.logits),
            ),
            Owned::new("class", Dtype::U8, vec![n], self.class.clone()),
        ];
        if let Some(label) = &self.label {
            t.push(Owned::new("label", Dtype::U8, vec![n], label.clone()));
        }
        let mut meta = BTreeMap::new();
        meta.insert("artifact_sha256".to_string(), artifact_sha256.to_string());
        meta.insert("format".to_string(), "microdistill-vectors".to_string());
        serialize(&t, &meta)
    }
}

/// A label as U8, refusing labels that are not class indices.
pub fn label_u8(y: u32, classes: usize) -> Result<u8> {
    u8::try_from(y)
        .ok()
        .filter(|&v| usize::from(v) < classes)
        .ok_or_else(|| ExportError::Data {
            what: "evaluation labels".into(),
            reason: format!("label {y} is not a class index below {classes}"),
        })
}
