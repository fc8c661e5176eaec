//! Typed reads of tensors and metadata out of a parsed safetensors file, with named errors.

use std::collections::HashMap;

use safetensors::{Dtype, SafeTensors};

use crate::error::{ExportError, Result};

/// A parsed safetensors buffer plus the name used in error messages.
pub(crate) struct StFile<'a> {
    pub what: String,
    pub st: SafeTensors<'a>,
    pub meta: HashMap<String, String>,
}

impl<'a> StFile<'a> {
    pub fn parse(what: &str, bytes: &'a [u8]) -> Result<Self> {
        let bad = |e: safetensors::SafeTensorError| ExportError::Safetensors {
            what: what.into(),
            reason: e.to_string(),
        };
        let (_, header) = SafeTensors::read_metadata(bytes).map_err(bad)?;
        let meta = header.metadata().clone().unwrap_or_default();
        let st = SafeTensors::deserialize(bytes).map_err(bad)?;
        Ok(Self {
            what: what.into(),
            st,
            meta,
        })
    }

    pub fn has(&self, name: &str) -> bool {
        self.st.tensor(name).is_ok()
    }

    /// The tensor's shape and raw little-endian bytes, checking its dtype.
    fn raw(&self, name: &str, dtype: Dtype, expected: &'static str) -> Result<(Vec<usize>, &[u8])> {
        let t = self
            .st
            .tensor(name)
            .map_err(|_| ExportError::MissingTensor {
                what: self.what.clone(),
                name: name.into(),
            })?;
        if t.dtype() != dtype {
            return Err(ExportError::WrongDtype {
                what: self.what.clone(),
                name: name.into(),
                found: format!("{:?}", t.dtype()),
                expected,
            });
        }
        Ok((t.shape().to_vec(), t.data()))
    }

    /// A tensor of 4-byte little-endian words, decoded by `word`.
    fn words<T>(
        &self,
        name: &str,
        dtype: Dtype,
        expected: &'static str,
        word: fn([u8; 4]) -> T,
    ) -> Result<(Vec<usize>, Vec<T>)> {
        let (shape, b) = self.raw(name, dtype, expected)?;
        let (words, _) = b.as_chunks::<4>();
        Ok((shape, words.iter().map(|w| word(*w)).collect()))
    }

    pub fn f32s(&self, name: &str) -> Result<(Vec<usize>, Vec<f32>)> {
        self.words(name, Dtype::F32, "F32", f32::from_le_bytes)
    }

    pub fn i32s(&self, name: &str) -> Result<(Vec<usize>, Vec<i32>)> {
        self.words(name, Dtype::I32, "I32", i32::from_le_bytes)
    }

    pub fn u32s(&self, name: &str) -> Result<(Vec<usize>, Vec<u32>)> {
        self.words(name, Dtype::U32, "U32", u32::from_le_bytes)
    }

    pub fn u8s(&self, name: &str) -> Result<(Vec<usize>, Vec<u8>)> {
        let (shape, b) = self.raw(name, Dtype::U8, "U8")?;
        Ok((shape, b.to_vec()))
    }

    pub fn i8s(&self, name: &str) -> Result<(Vec<usize>, Vec<i8>)> {
        let (shape, b) = self.raw(name, Dtype::I8, "I8")?;
        Ok((shape, b.iter().map(|&v| v as i8).collect()))
    }

    pub fn meta(&self, key: &str) -> Result<&str> {
        self.meta
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| ExportError::BadMetadata {
                what: self.what.clone(),
                key: key.into(),
                reason: "missing".into(),
            })
    }

    pub fn bad_meta(&self, key: &str, reason: impl Into<String>) -> ExportError {
        ExportError::BadMetadata {
            what: self.what.clone(),
            key: key.into(),
            reason: reason.into(),
        }
    }

    /// Checks a tensor's shape is exactly `expected`.
    pub fn expect_shape(&self, name: &str, shape: &[usize], expected: &[usize]) -> Result<()> {
        if shape != expected {
            return Err(ExportError::Shape(format!(
                "{}: `{name}` has shape {shape:?}, the config implies {expected:?}",
                self.what
            )));
        }
        Ok(())
    }
}

/// Parses a list of positive decimal integers separated by `sep` (`"1x28x28"`, `"128,64"`).
pub(crate) fn parse_dims(s: &str, sep: char) -> Option<Vec<usize>> {
    if s.is_empty() {
        return Some(Vec::new());
    }
    s.split(sep)
        .map(|p| p.trim().parse::<usize>().ok().filter(|&d| d > 0))
        .collect()
}
