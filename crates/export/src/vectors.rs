//! `<stem>.vectors.safetensors`: test vectors the firmware self-test embeds.

use std::collections::BTreeMap;

use runtime_nostd::format::vectors as names;
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
    /// `[N * F]` raw inputs, when the file is for another engine to run too (not firmware).
    pub x: Option<Vec<f32>>,
}

impl Vectors {
    /// Serializes `x_q` I8 `[N, F]`, `logits` I8 `[N, C]`, `class` U8 `[N]`, `label` U8 `[N]`
    /// (when known), with the artifact's SHA-256 in the metadata so a firmware can tell that
    /// vectors and model belong together.
    pub fn to_bytes(&self, artifact_sha256: &str) -> Result<Vec<u8>> {
        let n = self.class.len();
        let bytes = |v: &[i8]| v.iter().map(|&x| x as u8).collect::<Vec<u8>>();
        let mut t = vec![
            Owned::new(
                names::X_Q,
                Dtype::I8,
                vec![n, self.features],
                bytes(&self.x_q),
            ),
            Owned::new(
                names::LOGITS,
                Dtype::I8,
                vec![n, self.classes],
                bytes(&self.logits),
            ),
            Owned::new(names::CLASS, Dtype::U8, vec![n], self.class.clone()),
        ];
        if let Some(label) = &self.label {
            t.push(Owned::new(names::LABEL, Dtype::U8, vec![n], label.clone()));
        }
        if let Some(x) = &self.x {
            t.push(crate::artifact::f32s(names::X, vec![n, self.features], x));
        }
        let mut meta = BTreeMap::new();
        meta.insert(
            names::meta::ARTIFACT_SHA256.to_string(),
            artifact_sha256.to_string(),
        );
        meta.insert(
            names::meta::FORMAT.to_string(),
            names::FORMAT_NAME.to_string(),
        );
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

#[cfg(test)]
mod tests {
    use super::*;
    use safetensors::SafeTensors;

    fn vectors(label: Option<Vec<u8>>) -> Vectors {
        Vectors {
            features: 2,
            classes: 3,
            x_q: vec![1, -2, 3, -4],
            logits: vec![5, 6, -7, 8, -9, 10],
            class: vec![1, 2],
            label,
            x: None,
        }
    }

    #[test]
    fn writes_the_contract_names_and_label_only_when_known() {
        for label in [Some(vec![1, 0]), None] {
            let raw = vectors(label.clone()).to_bytes("ab12").unwrap();
            let st = SafeTensors::deserialize(&raw).unwrap();
            let mut got = st.names();
            got.sort();
            let mut want = vec![names::CLASS, names::LOGITS, names::X_Q];
            if label.is_some() {
                want.push(names::LABEL);
            }
            want.sort();
            assert_eq!(got, want);
            let (_, header) = SafeTensors::read_metadata(&raw).unwrap();
            let meta = header.metadata().clone().unwrap();
            assert_eq!(meta[names::meta::FORMAT], names::FORMAT_NAME);
            assert_eq!(meta[names::meta::ARTIFACT_SHA256], "ab12");
        }
    }

    #[test]
    fn labels_must_be_class_indices() {
        assert_eq!(label_u8(2, 3).unwrap(), 2);
        assert!(label_u8(3, 3).is_err());
        assert!(label_u8(256, 300).is_err());
    }
}
