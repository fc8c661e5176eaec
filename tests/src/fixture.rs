//! The committed fixtures under `tests/fixtures/` (see its README for how they were made).

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::testset::TestSet;

/// `tests/fixtures/`.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// The committed test inputs: the first 1000 Fashion-MNIST test images and labels.
pub fn test_set() -> Result<TestSet> {
    TestSet::load_idx(&dir().join("fashion-mnist-test1000"), "t10k")
}

/// One exported model: `<name>.int8.safetensors`, `<name>.int8.onnx`,
/// `<name>.vectors.safetensors`.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub name: String,
    pub artifact: Vec<u8>,
    pub onnx: Vec<u8>,
    pub vectors: Vec<u8>,
}

impl Fixture {
    /// Reads the three files of fixture `name` from `folder`.
    pub fn load_from(folder: &Path, name: &str) -> Result<Self> {
        let read = |suffix: &str| {
            let p = folder.join(format!("{name}.{suffix}"));
            std::fs::read(&p).map_err(|e| Error::io(p, e))
        };
        Ok(Self {
            name: name.into(),
            artifact: read("int8.safetensors")?,
            onnx: read("int8.onnx")?,
            vectors: read("vectors.safetensors")?,
        })
    }

    /// Reads committed fixture `name`.
    pub fn load(name: &str) -> Result<Self> {
        Self::load_from(&dir(), name)
    }
}
