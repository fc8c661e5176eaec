//! Caller scratch sizes, as `const fn`s so a firmware can size a `static` buffer from its
//! layer widths at compile time. `Model::scratch_len` returns the same figure for a loaded
//! model, and it is the same on every target (host-computed sizes hold on the device).
//!
//! Layout inside the caller's `&mut [u8]`: up to 3 bytes skipped to reach 4-byte alignment,
//! then the prepared-input words of the widest dense input (`kernels::prep_words`), then the
//! int8 activations:
//! * MLP: two ping-pong buffers of the widest hidden layer (one when there is a single
//!   hidden layer, none for a one-layer MLP); tree: none.
//! * CNN: one arena holding two neighbouring activations at a time, HWC. Activation 0 is the
//!   input (copied from CHW), activation k + 1 the output of layer k; the last layer writes
//!   the caller's logits. Even activations sit at the arena's start, odd ones at its end, so
//!   layer k reads one end and writes the other, and the arena needs
//!   `max_k (len(act k) + len(act k+1))` bytes (`len(act n) = 0` for the logits): at most two
//!   widest activations, often much less. Only dense layers use the prepared words.
//!
//! So: `ALIGN_SLACK + 4 · prep_words(widest dense input) + activations`.

use crate::format::cnn::{Layer, Shape};
use crate::kernels::prep_words;

/// Bytes lost at most to aligning the prepared-input words.
pub const ALIGN_SLACK: usize = 3;

/// Scratch bytes of an MLP with `widths = [inputs, hidden.., classes]` (layer k maps
/// `widths[k]` to `widths[k + 1]`).
///
/// ```
/// // 784-128-10: 3 + 8·196 prepared words + one 128-byte activation buffer
/// assert_eq!(runtime_nostd::mlp_scratch_len(&[784, 128, 10]), 3 + 1568 + 128);
/// ```
pub const fn mlp_scratch_len(widths: &[usize]) -> usize {
    let layers = widths.len().saturating_sub(1);
    let mut max_in = 0;
    let mut max_hidden = 0;
    let mut k = 0;
    while k < layers {
        if widths[k] > max_in {
            max_in = widths[k];
        }
        if k > 0 && widths[k] > max_hidden {
            max_hidden = widths[k];
        }
        k += 1;
    }
    mlp_scratch_bytes(layers, max_in, max_hidden)
}

/// The one formula behind `mlp_scratch_len` and `Model::scratch_len`: `layers` dense layers
/// whose widest input is `max_in` and widest hidden (non-first) input `max_hidden`.
pub(crate) const fn mlp_scratch_bytes(layers: usize, max_in: usize, max_hidden: usize) -> usize {
    let buffers = if layers > 2 {
        2
    } else {
        layers.saturating_sub(1)
    };
    ALIGN_SLACK
        .saturating_add(prep_words(max_in).saturating_mul(4))
        .saturating_add(max_hidden.saturating_mul(buffers))
}

/// Scratch bytes of a soft decision tree over `features` inputs (any depth).
pub const fn tree_scratch_len(features: usize) -> usize {
    ALIGN_SLACK.saturating_add(prep_words(features).saturating_mul(4))
}

/// Scratch bytes of a CNN on `input` (`[C, H, W]` or `[C, T]`) running `layers` (the
/// artifact's `layers` metadata, `format::cnn::Plan::layers`), for a firmware's `static`
/// buffer. `Model::scratch_len` returns the same figure for the loaded model.
///
/// ```
/// use runtime_nostd::cnn_scratch_len;
/// use runtime_nostd::format::cnn::{Layer, Padding};
/// const LAYERS: [Layer; 4] = [
///     Layer::Conv { out: 8, kernel: 3, stride: 1, padding: Padding::Same },
///     Layer::MaxPool(2),
///     Layer::Gap,
///     Layer::Dense(10),
/// ];
/// const SCRATCH: usize = cnn_scratch_len(&[1, 28, 28], &LAYERS);
/// static mut BUFFER: [u8; SCRATCH] = [0; SCRATCH];
/// // Activations 784 → 6272 → 1568 → 8 → logits: the widest neighbours are 6272 + 1568;
/// // the dense layer's 8 inputs take 4 prepared words.
/// assert_eq!(SCRATCH, 3 + 4 * 4 + (6272 + 1568));
/// ```
///
/// # Panics
/// When `input` is not `[C, H, W]` or `[C, T]` or a layer does not fit its input (a compile
/// error when evaluated in a `const`, as above). Validity beyond sizes (the last layer,
/// spatial layers after a dense one) is `Plan`'s to check.
pub const fn cnn_scratch_len(input: &[usize], layers: &[Layer]) -> usize {
    match cnn_layout(input, layers) {
        Some((words, arena)) => cnn_scratch_bytes(words, arena),
        None => panic!("cnn_scratch_len: the layers do not fit the input shape"),
    }
}

/// The CNN's scratch regions: `(prepared words, activation arena bytes)`, walking the shapes
/// with `Layer::output`; `None` when a layer does not fit or a length overflows.
pub(crate) const fn cnn_layout(input: &[usize], layers: &[Layer]) -> Option<(usize, usize)> {
    let Some(mut shape) = Shape::of_input(input) else {
        return None;
    };
    let is_sequence = input.len() == 2;
    let (mut dense_in, mut arena) = (0, 0);
    let mut rest = layers;
    while let [layer, tail @ ..] = rest {
        let (Some(out), Some(len)) = (layer.output(shape, is_sequence), shape.checked_len()) else {
            return None;
        };
        let next = match (tail.is_empty(), out.checked_len()) {
            (true, _) => 0,
            (false, Some(n)) => n,
            (false, None) => return None,
        };
        if len.saturating_add(next) > arena {
            arena = len.saturating_add(next);
        }
        if matches!(layer, Layer::Dense(_)) && len > dense_in {
            dense_in = len;
        }
        (shape, rest) = (out, tail);
    }
    Some((prep_words(dense_in), arena))
}

/// The one formula behind `cnn_scratch_len` and `Model::scratch_len` of a CNN.
pub(crate) const fn cnn_scratch_bytes(prep_words: usize, arena: usize) -> usize {
    ALIGN_SLACK
        .saturating_add(prep_words.saturating_mul(4))
        .saturating_add(arena)
}

/// Splits scratch into aligned prepared-input words and int8 activation bytes.
/// `None` when it is too short.
pub(crate) fn split(scratch: &mut [u8], words: usize) -> Option<(&mut [u32], &mut [i8])> {
    let offset = scratch.as_ptr().align_offset(4);
    let rest = scratch.get_mut(offset..)?;
    let (prep, acts) = rest.split_at_mut_checked(words.checked_mul(4)?)?;
    // SAFETY: every bit pattern is a valid u32; `align_to_mut` only reinterprets the
    // aligned middle part, which here is all of `prep` (its start is 4-aligned and its
    // length a multiple of 4; anything else is refused below).
    let (head, prep, tail) = unsafe { prep.align_to_mut::<u32>() };
    if !head.is_empty() || !tail.is_empty() {
        return None;
    }
    Some((prep, crate::quant::as_i8_mut(acts)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(mlp_scratch_len(&[3, 2]), 3);
        assert_eq!(mlp_scratch_len(&[8, 5, 2]), 3 + 16 + 5);
        assert_eq!(mlp_scratch_len(&[8, 5, 9, 6, 2]), 3 + 16 + 2 * 9);
        assert_eq!(tree_scratch_len(7), 3 + 8);
        assert_eq!(mlp_scratch_len(&[]), 3);
    }

    #[test]
    fn cnn_sizes() {
        use crate::format::cnn::Plan;
        let size = |input: &[usize], text: &str, classes| {
            let plan = Plan::parse(text, input, classes).unwrap();
            cnn_scratch_len(input, plan.layers())
        };
        // Only a dense layer: the input copy; 12 inputs → 6 prepared words.
        assert_eq!(size(&[3, 2, 2], "dense 4", 4), 3 + 24 + 12);
        // 2×3×3 → conv 5 (45) → maxpool (5) → dense 8 (8) → dense 2: max(18+45, 45+5, 5+8, 8).
        let text = "conv 5 k3 s1 same;maxpool 2;dense 8;dense 2";
        assert_eq!(size(&[2, 3, 3], text, 2), 3 + 4 * 4 + 63);
        // A sequence [4, 10] (40): conv 6 k3 valid (6×8 = 48) → gap (6) → dense 3 (2 words).
        assert_eq!(
            size(&[4, 10], "conv 6 k3 s1 valid;gap;dense 3", 3),
            3 + 8 + 88
        );
        assert_eq!(cnn_layout(&[5], &[Layer::Dense(2)]), None);
        assert_eq!(cnn_layout(&[1, 2, 2], &[Layer::MaxPool(3)]), None);
    }

    #[test]
    fn split_is_aligned_at_any_offset() {
        let mut buf = [0u8; 40];
        for start in 0..4 {
            let s = &mut buf[start..start + 3 + 16 + 5];
            let (p, a) = split(s, 4).unwrap();
            assert_eq!(p.len(), 4);
            assert!(a.len() >= 5);
        }
        assert!(split(&mut buf[..10], 4).is_none());
    }
}
