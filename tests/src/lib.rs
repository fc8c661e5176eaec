//! Workspace regression tests: tract runs each fixture's `*.int8.onnx`, runtime-nostd its
//! `*.int8.safetensors`, on every committed test input, and the two must agree within the
//! bounds of issue 4; accuracy must stay above the floors recorded with the fixtures.
//!
//! Fixtures are made separately (`fixtures/README.md`); these helpers only read and compare.

pub mod agreement;
pub mod compare;
mod error;
pub mod fixture;
pub mod input_rounding;
pub mod lists;
mod outputs;
pub mod runtime_run;
pub mod testset;
pub mod tract_run;

pub use agreement::Agreement;
pub use compare::Comparison;
pub use error::{Error, Result};
pub use fixture::Fixture;
pub use outputs::Outputs;
pub use testset::TestSet;
pub use tract_run::TractModel;
