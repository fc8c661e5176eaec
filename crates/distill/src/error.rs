//! The library's error type: one variant per cause, plus [`Error::Context`], which says what
//! was being done when its source failed. Messages are the ones users read: the `distill`
//! binary prints an error and then each of its sources, `outer: inner: …`, each once; so a
//! variant that wraps another library's error is `transparent` (its message and sources are
//! that error's own), and [`Error::Context`] shows only its context.
use std::fmt::Display;

use crate::data::DataError;
use crate::report::plots::PlotError;
use crate::teacher::onnx::OnnxTeacherError;
use crate::training::divergence::Diverged;

/// Why a distill operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A setting, flag or experiment file is invalid; the message names the setting.
    #[error("{0}")]
    Config(String),
    /// Valid settings that do not fit this data: samples of a shape a model cannot take, an
    /// empty training split.
    #[error("{0}")]
    Mismatch(String),
    /// A weights file or checkpoint does not fit the model it is loaded into.
    #[error("{0}")]
    Weights(String),
    /// The compute device asked for cannot be used.
    #[error("{0}")]
    Device(String),
    /// An epoch's mean training loss diverged; `kept` says which checkpoint is left.
    #[error("{diverged}. {kept}")]
    Diverged { diverged: Diverged, kept: String },
    /// A step's training loss was not a finite number; `kept` as for [`Error::Diverged`].
    #[error(
        "{stage}: the loss became {loss} at epoch {epoch}, step {step}; stopping: lower the \
         learning rate. {kept}"
    )]
    LossNotFinite {
        stage: String,
        loss: f64,
        epoch: usize,
        step: usize,
        kept: String,
    },
    /// An int8 artifact does not hold what it should, or its ONNX twin computes something
    /// else (`distill inspect`, `distill eval`).
    #[error("{0}")]
    Artifact(String),
    /// A thread panicked while it held a model's parameter map.
    #[error("parameter map poisoned")]
    Poisoned,
    /// Something distill itself should have ruled out (a bug, not a bad input).
    #[error("{0}")]
    Internal(String),
    /// A data file could not be read or is malformed.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The ONNX teacher could not be loaded or run.
    #[error(transparent)]
    Onnx(#[from] OnnxTeacherError),
    /// Reading, quantizing or writing a model through `export` failed.
    #[error(transparent)]
    Export(#[from] export::ExportError),
    /// A picture could not be drawn.
    #[error(transparent)]
    Plot(#[from] PlotError),
    /// A tensor operation failed (shapes, dtypes, the device).
    #[error(transparent)]
    Tensor(#[from] candle_core::Error),
    /// A file operation failed (the context names the file).
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// A safetensors file could not be parsed or written.
    #[error(transparent)]
    Safetensors(#[from] safetensors::SafeTensorError),
    /// JSON (a checkpoint's history, a metrics line) could not be read or written.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// Settings could not be written as TOML.
    #[error(transparent)]
    Toml(#[from] toml::ser::Error),
    /// A number does not fit the type a file stores it as.
    #[error(transparent)]
    Int(#[from] std::num::TryFromIntError),
    /// Formatting into a string failed (writing a report).
    #[error(transparent)]
    Fmt(#[from] std::fmt::Error),
    /// `source`, failed while doing what `context` says.
    #[error("{context}")]
    Context {
        context: String,
        #[source]
        source: Box<Error>,
    },
}

/// A result whose error is distill's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// This error as the source of one that says what was being done.
    pub fn context(self, context: impl Display) -> Self {
        Error::Context {
            context: context.to_string(),
            source: Box::new(self),
        }
    }
}

/// `.context(…)` and `.with_context(|| …)` on any result whose error converts into [`Error`].
///
/// ```
/// use distill::error::{Context, Error, chain};
///
/// let e = std::fs::read("/no/such/config.toml")
///     .context("reading the config")
///     .unwrap_err();
/// assert!(matches!(&e, Error::Context { source, .. } if matches!(**source, Error::Io(_))));
/// assert!(chain(&e).starts_with("reading the config: "), "{}", chain(&e));
/// ```
pub trait Context<T> {
    /// The error, if any, as the source of an [`Error::Context`] saying `context`.
    fn context(self, context: impl Display) -> Result<T>;
    /// As [`Context::context`], the message built only on failure.
    fn with_context<C: Display>(self, context: impl FnOnce() -> C) -> Result<T>;
}

impl<T, E: Into<Error>> Context<T> for std::result::Result<T, E> {
    fn context(self, context: impl Display) -> Result<T> {
        self.map_err(|e| e.into().context(context))
    }

    fn with_context<C: Display>(self, context: impl FnOnce() -> C) -> Result<T> {
        self.map_err(|e| e.into().context(context()))
    }
}

/// An error and its sources, `outer: inner: …`, each message once: the line the binary prints
/// on failure, for the messages a run writes into its own files (`report.md`).
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        next = cause.source();
    }
    s
}

/// `return Err(Error::$variant(format!(…)))`.
macro_rules! bail {
    ($variant:ident, $($fmt:tt)+) => {
        return Err($crate::error::Error::$variant(format!($($fmt)+)).into())
    };
}

/// [`bail!`] unless `cond` holds.
macro_rules! ensure {
    ($cond:expr, $variant:ident, $($fmt:tt)+) => {
        // Named first: `!(a > b)` on floats is what is meant (NaN fails it), not `a <= b`.
        let holds: bool = $cond;
        if !holds {
            $crate::error::bail!($variant, $($fmt)+);
        }
    };
}

pub(crate) use {bail, ensure};

#[cfg(test)]
mod tests;
