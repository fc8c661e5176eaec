//! Distill a teacher into a tiny student: data loading, teachers (candle or ONNX through
//! tract), KD losses, training, checkpoints, reports. The CLI is `cargo run -p distill`.
pub mod augment;
pub mod cache;
pub mod checkpoint;
pub mod cli;
pub mod config;
pub mod data;
pub mod device;
pub mod fast_mlp;
pub mod float_model;
pub mod fsutil;
pub mod loss;
pub mod metrics;
pub mod models;
pub mod optim;
pub mod plots;
pub mod prepared;
pub mod progress;
pub mod report;
pub mod run;
pub mod students;
pub mod teacher;
pub mod train;
pub mod transfer;
pub mod tree_loss;
pub mod tree_plots;
pub mod tree_report;
