//! What one engine computed for a batch of raw inputs.

/// Per-input results, row-major.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Outputs {
    /// `[N * F]`: the quantized input.
    pub x_q: Vec<i8>,
    /// `[N * C]`: int8 logits.
    pub logits: Vec<i8>,
    /// `[N]`: top-1 class.
    pub class: Vec<usize>,
    /// Tree only, `[N]`: the leaf the max-probability path reached; empty for an MLP.
    pub leaf: Vec<usize>,
}
