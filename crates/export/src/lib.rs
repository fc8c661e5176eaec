//! int8 export: calibrate a float student on real data, quantize it to the artifact
//! runtime-nostd runs (`FORMAT.md` in runtime-nostd), write its ONNX twin, check both, and
//! report size, RAM and accuracy.
//!
//! ```no_run
//! # fn main() -> Result<(), export::ExportError> {
//! use std::path::Path;
//! use export::{Clipping, Dataset, ExportOptions, FloatModel};
//! let model = FloatModel::load(Path::new("runs/x/student.safetensors"))?;
//! let calib = Dataset::load(Path::new("runs/x/calib.safetensors"))?;
//! let eval = Dataset::load(Path::new("runs/x/eval.safetensors"))?;
//! let opts = ExportOptions {
//!     out_dir: "runs/x".into(),
//!     clipping: Clipping::Percentile(99.99),
//!     board: Some("nrf52840".parse()?),
//!     ..ExportOptions::default()
//! };
//! let report = export::run(&model, &calib, &eval, &opts)?;
//! println!("{report}");
//! # Ok(()) }
//! ```
//!
//! # What [`run`] does, in order
//! 1. Validates the float model (shapes against its config, finite values, `std > 0`) and the
//!    data widths.
//! 2. Calibrates ([`calibrate()`]) the normalized input and every MLP layer output (a CNN's:
//!    every conv, dwconv and dense output; pools keep their input's range) on the first
//!    `calib_samples` rows: min/max or percentile clipping.
//! 3. Quantizes ([`quant_rule`], the project's only copy of the rule): weights symmetric per
//!    output channel in [−127, 127]; activations int8 with a scale and zero point per tensor
//!    (ranges widened to include 0); bias `round(b/(s_in·s_w)) − z_in·ΣW` in i32, refused if
//!    `|bias| + 128·Σ|W|` could overflow; multiplier M in [2^30, 2^31) and shift S in [1, 62]
//!    per channel; ReLU as `act_min = z_out`. A tree's nodes are quantized like a layer
//!    without requantization (the sign of `acc` is all the device needs). A CNN's convolutions
//!    are quantized per output channel like dense rows, then reordered to the runtime's
//!    channels-last layouts ([`cnn_layout`]).
//! 4. Serializes `<stem>.int8.safetensors` deterministically ([`artifact_bytes`]) and
//!    `<stem>.int8.onnx` ([`onnx_bytes`]: MatMulInteger — ConvInteger for a CNN — plus exact
//!    float64 requantization; see [`onnx_graph`] for where it can differ from the device: only
//!    in input quantization).
//! 5. Loads the artifact through `runtime_nostd::Model::from_bytes`, checks its metadata
//!    and every tensor byte-for-byte, then runs the evaluation set through runtime-nostd
//!    and checks each result against an independent integer forward pass.
//! 6. Runs the ONNX graph in tract on the evaluation set and compares it with runtime-nostd.
//! 7. Checks the board budget ([`Board`]), if one was given.
//! 8. Writes, all together or not at all: the artifact, the ONNX graph,
//!    `<stem>.vectors.safetensors` — the first `vectors` evaluation rows as `x_q` I8 `[N, F]`,
//!    runtime-nostd's `logits` I8 `[N, C]` and `class` U8 `[N]`, and `label` U8 `[N]` when
//!    the evaluation set has labels, for the firmware's self-test — and `<stem>.export.json`,
//!    the [`ExportReport`].
//!
//! Errors are [`ExportError`]; on any error no output file is left behind.

pub mod artifact;
mod artifact_read;
pub mod board;
pub mod calibrate;
pub mod cli;
pub mod cnn_layout;
mod dataset;
mod error;
mod evaluate;
mod float_cnn;
pub mod float_forward;
mod float_load;
mod float_model;
pub mod fsutil;
mod int8_drop;
mod onnx_cnn;
pub mod onnx_graph;
mod onnx_pb;
mod onnx_tree;
mod pipeline;
pub mod quant_rule;
mod quantized;
mod reference;
mod report;
mod roundtrip;
mod st_read;
pub mod st_write;
mod staged;
pub mod tract_eval;
pub mod vectors;

pub use artifact::artifact_bytes;
pub use artifact_read::read_artifact;
pub use board::Board;
pub use calibrate::{Clipping, calibrate};
pub use dataset::Dataset;
pub use error::{ExportError, Result};
pub use float_model::{CnnLayer, Dense, FloatBody, FloatModel, SoftTree};
pub use onnx_graph::onnx_bytes;
pub use pipeline::{DEFAULT_MAX_INT8_DROP, ExportOptions, quantize, run};
pub use quantized::{QuantBody, QuantCnn, QuantDense, QuantModel, QuantTree};
pub use report::{Accuracy, Agreement, BoardFit, ExportReport};
pub use tract_eval::{TractOutputs, run_onnx};
