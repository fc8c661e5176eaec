//! The soft decision tree student (Frosst & Hinton 2017): the model, its loss and fast CPU
//! step, its report section and its pictures.
pub mod config;
pub mod fast;
pub mod figure;
mod kind;
pub mod loss;
mod model;
pub mod plots;
pub mod report;
pub mod sweep;

pub use config::{TreeConfig, validate};
pub use kind::TreeKind;
pub use model::*;

/// The kind's name in `student.kind` and its settings table.
pub const NAME: &str = "tree";
