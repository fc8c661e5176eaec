//! Distill a teacher into a tiny student. The modules follow the pipeline: `data` (load,
//! split, normalize) → `teacher` (train or import, cache its logits) → `students` (one
//! folder per student kind) → `training` (the loop, losses, budget, checkpoints) → `report`;
//! `nn` holds the networks and layers that teachers and students share, `run` ties the
//! stages together and `commands` are the CLI's subcommands. The CLI is `cargo run -p distill`.
//! The pipeline's functions return [`Result`], whose [`Error`] says by its variant what went
//! wrong (tensor code returns candle's own error, which converts into it).
pub mod cli;
pub mod config;
pub mod data;
pub mod device;
pub mod error;
pub mod nn;
pub mod report;
pub mod run;
pub mod students;
pub mod teacher;
pub mod training;

pub use error::{Error, Result};
