//! The one error type of the library: every failure `export` can report, by cause.

use std::path::PathBuf;

/// Why an export failed. Nothing is left on disk when any of these is returned.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Reading or writing a file failed. The OS error is in the message, so it is not also
    /// a `source()`: a printed chain would show it twice.
    #[error("{path}: {cause}")]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    /// A safetensors file could not be parsed.
    #[error("{what}: not a valid safetensors file: {reason}")]
    Safetensors { what: String, reason: String },
    /// A tensor the format requires is absent.
    #[error("{what}: missing tensor `{name}`")]
    MissingTensor { what: String, name: String },
    /// A tensor has the wrong dtype.
    #[error("{what}: tensor `{name}` has dtype {found}, expected {expected}")]
    WrongDtype {
        what: String,
        name: String,
        found: String,
        expected: &'static str,
    },
    /// A metadata key the format requires is absent or malformed.
    #[error("{what}: metadata `{key}`: {reason}")]
    BadMetadata {
        what: String,
        key: String,
        reason: String,
    },
    /// `kind` is neither `mlp` nor `tree`.
    #[error("unknown model kind `{0}` (expected `mlp` or `tree`)")]
    UnknownKind(String),
    /// Tensor shapes disagree with each other or with the model's config.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// A weight, bias or normalization value is NaN or infinite.
    #[error("non-finite value in `{tensor}` at flat index {index}")]
    NonFinite { tensor: String, index: usize },
    /// Calibration or evaluation data does not fit the model.
    #[error("{what}: {reason}")]
    Data { what: String, reason: String },
    /// An option is out of range.
    #[error("invalid option: {0}")]
    Option(String),
    /// A class name or metadata string the runtime could not read back.
    #[error("string {0:?} cannot be stored: it needs a JSON escape or contains `|`")]
    UnstorableString(String),
    /// A quantization parameter is outside what the integer rule can represent.
    #[error("quantization of {tensor}: {reason}")]
    Quantization { tensor: String, reason: String },
    /// The artifact does not fit the requested board.
    #[error(
        "model does not fit {board}: needs {flash} B flash and {ram} B RAM, \
         the board has {flash_avail} B flash and {ram_avail} B RAM for the model \
         ({flash_total} B / {ram_total} B minus {flash_reserve} B / {ram_reserve} B kept for code and stack)"
    )]
    DoesNotFit {
        board: String,
        flash: usize,
        ram: usize,
        flash_avail: usize,
        ram_avail: usize,
        flash_total: usize,
        ram_total: usize,
        flash_reserve: usize,
        ram_reserve: usize,
    },
    /// int8 scores too far below float on held-out data.
    #[error(
        "int8 loses {drop:.2} points against float ({int8:.2}% against {float:.2}% on {samples} \
         held-out samples; the limit is {limit} points). Likely cause: {cause}. Nothing was \
         written; to keep this int8 model anyway, pass --keep-int8 (or raise --max-int8-drop)"
    )]
    Int8Drop {
        float: f64,
        int8: f64,
        drop: f64,
        limit: f64,
        samples: usize,
        cause: String,
    },
    /// An error while loading the named file (in the message, not a `source()`: see `Io`).
    #[error("loading {path}: {inner}")]
    InFile {
        path: PathBuf,
        inner: Box<ExportError>,
    },
    /// runtime-nostd, the device's reader, refuses an artifact: its error by name.
    #[error("runtime-nostd rejects the artifact: {0:?} ({0})")]
    Artifact(runtime_nostd::Error),
    /// runtime-nostd refused or misread the artifact just written.
    #[error("round trip through runtime-nostd failed: {0}")]
    RoundTrip(String),
    /// Building, loading or running the ONNX graph failed.
    #[error("ONNX: {0}")]
    Onnx(String),
}

impl ExportError {
    /// This error, as met while loading `path`.
    pub fn in_file(self, path: impl Into<PathBuf>) -> Self {
        Self::InFile {
            path: path.into(),
            inner: Box::new(self),
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, cause: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            cause,
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = ExportError> = std::result::Result<T, E>;
