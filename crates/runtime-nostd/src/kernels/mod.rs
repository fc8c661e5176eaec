//! int8 dot-product kernels, split like tract's linalg: `frame` holds the contract and the
//! test macro, `reference` the plain always-compiled version, and one module per target
//! family an optimized one with the same signatures. `selected` is what the model runs.
//!
//! The kernel family "dot_rows" is two functions:
//! * `prepare(input, prep) -> bool`: writes whatever per-input layout the kernel wants into
//!   `prep` (`prep_words(input.len())` words), once per input vector;
//! * `dot_rows(weights, input, prep, acc) -> bool`: for `r in 0..acc.len()`,
//!   `acc[r] = Σ_i weights[r·cols + i] · input[i]` with `cols = input.len()`, summed with
//!   wrapping i32 arithmetic (the loader proves it never wraps for a valid artifact).
//!
//! Both return `false` and write nothing when a slice is too short.

#[macro_use]
pub mod frame;

pub mod reference {
    pub mod dot;
}

#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
pub mod host {
    pub mod dot;
}

pub mod cortex_m4 {
    pub mod dot;
}

/// Words of `prep` every variant accepts for `cols` inputs: the largest need of any variant
/// (the Cortex-M4 kernel's two words per four inputs), so that a scratch size computed on
/// the host is right on every device.
pub const fn prep_words(cols: usize) -> usize {
    2 * (cols / 4)
}

/// Name of the `dot_rows` variant this build runs (type and tile, tract-style).
#[cfg(arm_dsp)]
pub const SELECTED_NAME: &str = "cortex_m4_dsp_i8_dot_4x16";
#[cfg(all(not(arm_dsp), any(target_arch = "x86_64", target_arch = "aarch64")))]
pub const SELECTED_NAME: &str = "host_i8_dot_16n";
#[cfg(not(any(arm_dsp, target_arch = "x86_64", target_arch = "aarch64")))]
pub const SELECTED_NAME: &str = "reference_i8_dot";

#[cfg(arm_dsp)]
pub use cortex_m4::dot as selected;
#[cfg(all(not(arm_dsp), any(target_arch = "x86_64", target_arch = "aarch64")))]
pub use host::dot as selected;
#[cfg(not(any(arm_dsp, target_arch = "x86_64", target_arch = "aarch64")))]
pub use reference::dot as selected;
