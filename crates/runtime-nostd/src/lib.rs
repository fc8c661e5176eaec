//! Allocation-free int8 inference for distilled students (MLP, soft decision tree, CNN).
//!
//! `Model::from_bytes` parses a `*.int8.safetensors` artifact (specified in `FORMAT.md`;
//! names and limits in [`format`]) in place and validates everything once; `infer` then
//! runs with caller-provided buffers and no allocation, on any target.
//!
//! ```no_run
//! # fn f(bytes: &[u8], raw: &[f32]) -> Result<(), runtime_nostd::Error> {
//! use runtime_nostd::Model;
//! let model = Model::from_bytes(bytes)?;
//! let mut q = [0i8; 784];
//! model.quantize_input(raw, &mut q[..model.input_len()])?;
//! let mut scratch = [0u8; runtime_nostd::mlp_scratch_len(&[784, 128, 10])];
//! let mut logits = [0i8; 10];
//! let p = model.infer(&q[..model.input_len()], &mut scratch, &mut logits[..model.num_classes()])?;
//! # let _ = p.class; Ok(()) }
//! ```
//!
//! # The arithmetic rule (bit-exact on every target)
//!
//! Input (float, once per input): `q = clamp(round_half_even((x − mean) / std / s_in) + z_in,
//! −128, 127)`, in f32, in that order ([`quantize_value`]). NaN quantizes as `z_in`.
//!
//! Dense layer / tree node, in integers only:
//! ```text
//! acc[j] = bias[j] + Σ_i W[j,i] · q[i]        i32; the loader rejects any row where
//!                                              |bias| + 128·Σ|W| ≥ 2^31, so it never wraps
//! y[j]   = ((acc[j] · M[j] + 2^(S[j]−1)) >> S[j]) + z_out    i64, arithmetic shift:
//!                                              one rounding, half up (towards +∞)
//! out[j] = clamp(y[j], act_min, act_max)      ReLU is act_min = z_out
//! ```
//! [`requantize`] is the only implementation of the second and third lines. The bias is
//! stored zero-point-folded (`round(b/(s_in·s_w)) − z_in·Σ_i W[j,i]`), so kernels see only
//! `W·q`. MLP class: first maximum of the last layer's int8 logits. Tree: at inner node n go
//! right iff `acc > 0` (no requantization, no sigmoid); class = the leaf's stored class.
//!
//! CNN (FORMAT.md, "CNN"; layer list in [`format::cnn`]): activations channels-last (HWC),
//! the input read in the data's order (CHW). `conv`/`dwconv` apply the same two lines per
//! output position and channel, positions outside the input reading the layer's input zero
//! point; `maxpool` takes the window's maximum; `avgpool`/`gap` its mean rounded half away
//! from zero (`(s ± n/2) / n`, truncating); `dense` is the MLP's layer on the HWC flatten.
//! Class: first maximum of the last `dense`'s logits.
//!
//! This rounds once (like TFLite's/CMSIS-NN's "single rounding" with M ≥ 0). A float
//! reference (tract on the ONNX export) rounds `acc · s_in · s_w / s_out` to nearest-even in
//! f32: the two can differ by one step where the scaled value is within float error of a
//! half, which is why the cross-check tolerates ±1 on logits.
//!
//! # Kernels
//! [`kernels`] follows tract's split: `reference` (plain, always compiled), `host`
//! (auto-vectorized, x86_64/aarch64), `cortex_m4` (SXTB16 + SMLAD through `asm!`, selected
//! with `cfg(arm_dsp)`, which `build.rs` sets for `thumbv7em-*` targets or when the compiler
//! reports `target_feature = "dsp"`: stable rustc reports no Arm target features). Every
//! variant is tested
//! for exact equality with the reference; the `asm!` one under QEMU (`qemu-check/`). The
//! CNN's window kernels (`reference::{conv, pool}`) have only their reference so far, tested
//! against a naive oracle by the macros an optimized twin will instantiate too.
#![cfg_attr(not(test), no_std)]

mod cnn;
mod container;
mod error;
pub mod format;
mod json;
pub mod kernels;
mod mlp;
mod model;
mod quant;
mod scratch;
mod tree;

pub use error::Error;
pub use model::{Kind, Model, Prediction, argmax};
pub use quant::{OutputQuant, quantize_value, requantize};
pub use scratch::{ALIGN_SLACK, cnn_scratch_len, mlp_scratch_len, tree_scratch_len};
pub use tree::TreePath;
