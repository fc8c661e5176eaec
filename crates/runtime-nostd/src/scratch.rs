//! Caller scratch sizes, as `const fn`s so a firmware can size a `static` buffer from its
//! layer widths at compile time. `Model::scratch_len` returns the same figure for a loaded
//! model, and it is the same on every target (host-computed sizes hold on the device).
//!
//! Layout inside the caller's `&mut [u8]`: up to 3 bytes skipped to reach 4-byte alignment,
//! then the prepared-input words of the widest layer input (`kernels::prep_words`), then
//! the int8 hidden activations (two ping-pong buffers of the widest hidden layer; one when
//! there is a single hidden layer, none for a one-layer MLP or a tree).

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
