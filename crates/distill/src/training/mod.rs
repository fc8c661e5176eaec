//! Training, shared by teachers and students: the loop, its losses, the budget that ends it,
//! checkpoints and weight files, the optimizer, divergence guards, metrics and progress.
pub mod budget;
pub mod checkpoint;
pub mod divergence;
pub mod loss;
pub mod metrics;
pub mod optim;
pub mod progress;
mod train;
pub mod weights;

pub use train::*;
