//! The one error type of the regression-test library: why a fixture or test set could not be
//! read or run.

use std::path::PathBuf;

/// Every failure the helpers report, by cause.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading a file failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// An IDX file is malformed or does not match its partner (distill's reader says which).
    #[error(transparent)]
    Idx(#[from] distill::data::DataError),
    /// A safetensors file is malformed or lacks what we need.
    #[error("{what}: {reason}")]
    Safetensors { what: String, reason: String },
    /// runtime-nostd refused the artifact or an input.
    #[error("runtime-nostd, {what}: {error}")]
    Runtime {
        what: String,
        error: runtime_nostd::Error,
    },
    /// tract could not load or run the ONNX graph, or returned unexpected outputs.
    #[error("tract: {0}")]
    Tract(String),
    /// A committed list (floors, known divergences) has a malformed line.
    #[error("{path}:{line}: {reason}")]
    List {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    /// Inputs of different sizes were compared.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// Writing the evaluation set through `export` failed.
    #[error(transparent)]
    Export(#[from] export::ExportError),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
