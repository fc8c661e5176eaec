//! The integer requantization rule and the float input quantization, each in one place.

use crate::format::{MAX_SHIFT, MIN_SHIFT};

/// Output quantization of a layer: zero point and clamp range (ReLU ⇒ `act_min == zero_point`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct OutputQuant {
    pub zero_point: i32,
    pub act_min: i32,
    pub act_max: i32,
}

/// THE requantization of the crate (FORMAT.md, "The arithmetic rule"):
/// `clamp(((acc · M + 2^(S−1)) >> S) + z_out, act_min, act_max)`, in i64, arithmetic shift:
/// round half up (towards +∞), like TFLite's single-rounding mode with a non-negative M.
///
/// `shift` outside `MIN_SHIFT..=MAX_SHIFT` is clamped into it (the loader rejects such
/// artifacts; the clamp keeps this public function total). With |acc| < 2^31 and
/// M < 2^31 the product and the rounding term fit in i64 for every input.
///
/// ```
/// use runtime_nostd::{requantize, OutputQuant};
/// let q = OutputQuant { zero_point: -3, act_min: -128, act_max: 127 };
/// // 100 · 2^30 / 2^33 = 12.5 → 13 (half up), then + z_out = 10
/// assert_eq!(requantize(100, 1 << 30, 33, q), 10);
/// // -100 · 2^30 / 2^33 = -12.5 → -12 (half up), then -15
/// assert_eq!(requantize(-100, 1 << 30, 33, q), -15);
/// ```
#[inline]
pub fn requantize(acc: i32, multiplier: i32, shift: i32, out: OutputQuant) -> i8 {
    let s = shift.clamp(MIN_SHIFT, MAX_SHIFT) as u32;
    // (p + 2^(s−1)) >> s, computed as ((p >> (s−1)) + 1) >> 1: with p = q·2^(s−1) + r,
    // 0 <= r < 2^(s−1), both are floor((q + 1) / 2). One variable 64-bit shift instead of
    // two (each a library call on a Cortex-M); `requantize_rounding_identity` checks it.
    let product = i64::from(acc) * i64::from(multiplier);
    let scaled = ((product >> (s - 1)) + 1) >> 1;
    let y = scaled + i64::from(out.zero_point);
    // max then min (not `clamp`, which panics when min > max): total for any parameters.
    y.max(i64::from(out.act_min))
        .min(i64::from(out.act_max))
        .clamp(-128, 127) as i8
}

/// Rounds to the nearest integer, ties to even, for |v| <= 2^22 (callers clamp first).
/// Adding and subtracting 1.5·2^23 leaves the value rounded by the FPU's (or soft-float's)
/// default round-to-nearest-even mode; Rust never reassociates float arithmetic.
#[inline]
pub(crate) fn round_half_even(v: f32) -> f32 {
    const MAGIC: f32 = 12_582_912.0; // 1.5 · 2^23
    (v + MAGIC) - MAGIC
}

/// FORMAT.md's input rule: `clamp(round_half_even((x − mean) / std / s_in) + z_in, −128, 127)`,
/// evaluated in f32 in exactly that order (`export` must do the same for bit-equality).
/// NaN maps to `z_in` (it quantizes as 0).
#[inline]
pub fn quantize_value(x: f32, mean: f32, std: f32, scale: f32, zero_point: i32) -> i8 {
    let v = (x - mean) / std / scale;
    // Any |v| > 256 saturates anyway (|z_in| <= 128); clamping first keeps the rounding trick
    // in its valid range. `f32::clamp` passes NaN through; `as i32` turns NaN into 0.
    let v = if v.is_nan() {
        0.0
    } else {
        v.clamp(-512.0, 512.0)
    };
    let q = round_half_even(v) as i32 + zero_point;
    q.clamp(-128, 127) as i8
}

/// Little-endian i32 values borrowed from the artifact (no alignment assumed).
#[derive(Debug, Clone, Copy)]
pub(crate) struct I32s<'a>(pub &'a [u8]);

impl<'a> I32s<'a> {
    /// Value `i`; 0 past the end (the loader checked every length, so that never happens).
    #[inline]
    pub fn get(&self, i: usize) -> i32 {
        match self.0.get(i * 4..i * 4 + 4) {
            Some(&[a, b, c, d]) => i32::from_le_bytes([a, b, c, d]),
            _ => 0,
        }
    }

    /// Values `i..` as their little-endian bytes (empty past the end), for loops that zip
    /// them without a bounds check per value.
    pub fn words_from(self, i: usize) -> &'a [[u8; 4]] {
        self.0
            .get(i.saturating_mul(4)..)
            .unwrap_or(&[])
            .as_chunks::<4>()
            .0
    }

    pub fn iter(self) -> impl Iterator<Item = i32> + 'a {
        self.0
            .as_chunks::<4>()
            .0
            .iter()
            .map(|&c| i32::from_le_bytes(c))
    }
}

/// Little-endian f32 values borrowed from the artifact.
#[derive(Debug, Clone, Copy)]
pub(crate) struct F32s<'a>(pub &'a [u8]);

impl<'a> F32s<'a> {
    pub fn len(&self) -> usize {
        self.0.len() / 4
    }

    #[inline]
    pub fn get(&self, i: usize) -> f32 {
        f32::from_bits(I32s(self.0).get(i) as u32)
    }

    pub fn iter(self) -> impl Iterator<Item = f32> + 'a {
        I32s(self.0).iter().map(|v| f32::from_bits(v as u32))
    }
}

/// Reinterprets the artifact's I8 bytes in place.
pub(crate) fn as_i8(bytes: &[u8]) -> &[i8] {
    // SAFETY: u8 and i8 have the same size and alignment and every bit pattern is valid for
    // both; the returned slice borrows `bytes` for the same lifetime and length.
    unsafe { core::slice::from_raw_parts(bytes.as_ptr().cast::<i8>(), bytes.len()) }
}

/// Reinterprets caller scratch bytes as int8 activations.
pub(crate) fn as_i8_mut(bytes: &mut [u8]) -> &mut [i8] {
    // SAFETY: as for `as_i8`; the unique borrow of `bytes` moves into the result.
    unsafe { core::slice::from_raw_parts_mut(bytes.as_mut_ptr().cast::<i8>(), bytes.len()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_half_even_ties() {
        for (v, r) in [
            (0.5, 0.0),
            (1.5, 2.0),
            (2.5, 2.0),
            (-0.5, 0.0),
            (-1.5, -2.0),
            (-2.5, -2.0),
            (2.4, 2.0),
            (-2.6, -3.0),
        ] {
            assert_eq!(round_half_even(v), r, "{v}");
        }
    }

    proptest::proptest! {
        #[test]
        fn round_half_even_matches_std(v in -600.0f32..600.0, half in proptest::bool::ANY) {
            // Exact halves are the interesting case; plain values check the rest.
            let v = if half { (v * 2.0).round() / 2.0 } else { v };
            proptest::prop_assert_eq!(round_half_even(v), v.round_ties_even(), "v = {}", v);
        }
    }

    #[test]
    fn quantize_value_saturates_and_nan() {
        assert_eq!(quantize_value(1e30, 0.0, 1.0, 1.0, 0), 127);
        assert_eq!(quantize_value(-1e30, 0.0, 1.0, 1.0, 0), -128);
        assert_eq!(quantize_value(f32::NAN, 0.0, 1.0, 1.0, 5), 5);
        // (3 - 1) / 2 / 0.4 = 2.5 → 2 (even), + 1
        assert_eq!(quantize_value(3.0, 1.0, 2.0, 0.4, 1), 3);
    }

    proptest::proptest! {
        #[test]
        fn requantize_rounding_identity(acc in proptest::num::i32::ANY,
                                        m in proptest::num::i32::ANY,
                                        s in MIN_SHIFT..=MAX_SHIFT,
                                        z in -300i32..300) {
            // The rule as written in FORMAT.md, in i128 so nothing can overflow.
            let p = i128::from(acc) * i128::from(m);
            let y = ((p + (1i128 << (s - 1))) >> s) + i128::from(z);
            let want = y.clamp(-128, 127) as i8;
            let q = OutputQuant { zero_point: z, act_min: -128, act_max: 127 };
            proptest::prop_assert_eq!(requantize(acc, m, s, q), want);
        }
    }

    #[test]
    fn requantize_extremes_do_not_overflow() {
        let q = OutputQuant {
            zero_point: 127,
            act_min: -128,
            act_max: 127,
        };
        assert_eq!(requantize(i32::MAX, i32::MAX, 1, q), 127);
        assert_eq!(requantize(i32::MIN, i32::MAX, 1, q), -128);
        // Out-of-range shifts clamp instead of panicking; inverted ranges are total.
        let bad = OutputQuant {
            zero_point: 0,
            act_min: 100,
            act_max: -100,
        };
        let _ = requantize(5, 1 << 30, 0, bad);
        let _ = requantize(5, 1 << 30, 200, bad);
    }
}
