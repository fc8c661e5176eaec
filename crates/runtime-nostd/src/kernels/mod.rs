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
//!
//! The window families of the CNN work on channels-last (HWC) int8 activations described by
//! a [`Window`]:
//! * "conv" (`conv2d`, `depthwise_conv2d`): the integer sums of FORMAT.md's CNN rules, then
//!   [`requantize`] per output channel through a [`ChannelQuant`];
//! * "pool" (`max_pool`, `avg_pool`): no weights, quantization passed through.
//!
//! Their contracts are the doc comments of `reference::{conv, pool}`; `frame` holds their test
//! macros (`conv_tests!`, `pool_tests!`, against a naive oracle), which an optimized twin in
//! `<arch>/conv.rs` or `<arch>/pool.rs` instantiates like `dot_rows_tests!`.

use crate::format::cnn::Shape;
use crate::quant::{OutputQuant, requantize};

#[macro_use]
pub mod frame;

pub mod reference {
    pub mod conv;
    pub mod dot;
    pub mod pool;
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

/// The window kernels the model runs: the reference on every target until an optimized twin
/// is added beside it and selected here, as `selected` is for `dot_rows`.
pub use reference::{conv as selected_conv, pool as selected_pool};

/// Geometry of a window kernel on channels-last activations: output position `(y, x)` reads
/// input rows `y·stride + ky − pad_top` (`ky < kh`) and columns `x·stride + kx − pad_left`
/// (`kx < kw`). Slices hold `h·w·c` values, index `(y·w + x)·c + ch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub input: Shape,
    pub output: Shape,
    pub kh: usize,
    pub kw: usize,
    pub stride: usize,
    pub pad_top: usize,
    pub pad_left: usize,
}

impl Window {
    /// Input row (or column) of output coordinate `o` at window offset `k`, `None` in the
    /// padding: `o·stride + k − pad` when that lies in `0..size`.
    #[inline]
    pub fn source(o: usize, k: usize, stride: usize, pad: usize, size: usize) -> Option<usize> {
        o.checked_mul(stride)?
            .checked_add(k)?
            .checked_sub(pad)
            .filter(|&i| i < size)
    }

    /// The run of window offsets `k0..k1` whose coordinate `o·stride + k − pad` lies in
    /// `0..size`, and the coordinate of `k0`: the window's part inside the input along one
    /// axis. Saturating: a window past the input gives an empty run.
    #[inline]
    pub fn span(
        o: usize,
        k: usize,
        stride: usize,
        pad: usize,
        size: usize,
    ) -> (usize, usize, usize) {
        let start = o.saturating_mul(stride);
        let k0 = pad.saturating_sub(start).min(k);
        let k1 = size
            .saturating_add(pad)
            .saturating_sub(start)
            .min(k)
            .max(k0);
        (k0, k1, start.saturating_add(k0).saturating_sub(pad))
    }

    /// Whether every window lies inside the input (no padding is read): the pools' domain.
    pub fn inside(&self) -> bool {
        let fits = |out: usize, k: usize, pad: usize, size: usize| {
            out == 0
                || (out - 1)
                    .checked_mul(self.stride)
                    .and_then(|v| v.checked_add(k))
                    .is_some_and(|end| pad == 0 && end <= size)
        };
        fits(self.output.h, self.kh, self.pad_top, self.input.h)
            && fits(self.output.w, self.kw, self.pad_left, self.input.w)
    }
}

/// Per-output-channel requantization of a conv layer, borrowed from the artifact in place:
/// the zero-point-folded bias, M and S as little-endian i32 words (no alignment assumed), and
/// the layer's output quantization.
#[derive(Debug, Clone, Copy)]
pub struct ChannelQuant<'a> {
    pub bias: &'a [[u8; 4]],
    pub multiplier: &'a [[u8; 4]],
    pub shift: &'a [[u8; 4]],
    pub out: OutputQuant,
}

impl ChannelQuant<'_> {
    /// Channels with all three parameters.
    pub fn channels(&self) -> usize {
        self.bias
            .len()
            .min(self.multiplier.len())
            .min(self.shift.len())
    }

    /// Channel `o` of a sum `acc` (without the bias): `requantize(bias[o] + acc, M[o], S[o],
    /// out)`, the addition wrapping. `None` past the channels.
    #[inline]
    pub fn apply(&self, o: usize, acc: i32) -> Option<i8> {
        let word = |v: &[[u8; 4]]| v.get(o).map(|&b| i32::from_le_bytes(b));
        let (b, m, s) = (word(self.bias)?, word(self.multiplier)?, word(self.shift)?);
        Some(requantize(acc.wrapping_add(b), m, s, self.out))
    }
}
