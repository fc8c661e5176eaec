//! THE quantization rule of the project, in one place (FORMAT.md, "The arithmetic rule").
//!
//! Everything here runs once, at export, on the host: scales and zero points from ranges,
//! per-channel symmetric weights, zero-point-folded int32 biases, and the integer multiplier
//! and shift the device uses to requantize. The integer requantization itself belongs to
//! runtime-nostd; the ONNX graph reproduces it exactly (see `onnx_mlp`).

use crate::error::{ExportError, Result};

/// Scale and zero point of one int8 activation tensor: `real = scale · (q − zero_point)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ActQuant {
    pub scale: f32,
    pub zero_point: i32,
}

/// Asymmetric int8 parameters covering `[lo, hi]` widened to include 0 (so real 0 — ReLU's
/// floor and padding — is exactly representable).
pub fn act_quant(lo: f32, hi: f32) -> Result<ActQuant> {
    if !(lo.is_finite() && hi.is_finite()) || lo > hi {
        return Err(ExportError::Quantization {
            tensor: "activation".into(),
            reason: format!("bad range [{lo}, {hi}]"),
        });
    }
    let (lo, hi) = (lo.min(0.0), hi.max(0.0));
    // A tensor that is constantly 0 gets scale 1: any scale represents it exactly.
    let scale = if hi > lo { (hi - lo) / 255.0 } else { 1.0 };
    let zero_point = (-128.0 - f64::from(lo) / f64::from(scale))
        .round_ties_even()
        .clamp(-128.0, 127.0) as i32;
    Ok(ActQuant { scale, zero_point })
}

/// Per-output-channel symmetric weights in [−127, 127] and their scales `max|W[j,:]| / 127`.
/// An all-zero row gets scale 1/127, which keeps its bias representable.
pub fn quantize_rows(weight: &[f32], cols: usize) -> (Vec<i8>, Vec<f32>) {
    let mut q = Vec::with_capacity(weight.len());
    let mut scales = Vec::with_capacity(weight.len() / cols.max(1));
    for row in weight.chunks_exact(cols) {
        let amax = row.iter().fold(0f32, |m, w| m.max(w.abs()));
        let s = if amax > 0.0 {
            amax / 127.0
        } else {
            1.0 / 127.0
        };
        q.extend(row.iter().map(|&w| {
            (f64::from(w) / f64::from(s))
                .round_ties_even()
                .clamp(-127.0, 127.0) as i8
        }));
        scales.push(s);
    }
    (q, scales)
}

/// `round(b / (s_in · s_w)) − z_in · Σ_i W[i]`, checked against the worst-case accumulation
/// over any int8 input, so `acc` can never wrap on the device.
pub fn folded_bias(
    tensor: &str,
    b: f32,
    s_in: f32,
    s_w: f32,
    z_in: i32,
    row: &[i8],
) -> Result<i32> {
    let bias_q = (f64::from(b) / (f64::from(s_in) * f64::from(s_w))).round_ties_even();
    let sum: i64 = row.iter().map(|&w| i64::from(w)).sum();
    let folded = bias_q - (i64::from(z_in) * sum) as f64;
    let bound = |r: String| ExportError::Quantization {
        tensor: tensor.into(),
        reason: r,
    };
    if folded.is_nan() || folded.abs() >= 2f64.powi(31) {
        return Err(bound(format!("folded bias {folded} does not fit i32")));
    }
    let folded = folded as i64;
    // The runtime's loader bound (FORMAT.md): |bias| + 128·Σ|W| ≤ i32::MAX, which covers
    // every int8 input; refusing here gives the cause instead of a failed round trip.
    let l1: i64 = row.iter().map(|&w| i64::from(w.unsigned_abs())).sum();
    let worst = folded.abs() + 128 * l1;
    if worst > i64::from(i32::MAX) {
        return Err(bound(format!(
            "|bias| + 128·Σ|W| = {worst} exceeds i32::MAX; the accumulator could wrap"
        )));
    }
    Ok(folded as i32)
}

/// Integer multiplier `M` in [2^30, 2^31) and right shift `S` in [1, 62] with
/// `M · 2^−S ≈ m` (FORMAT.md): `e = floor(log2 m) + 1`, `M = round(m · 2^(31−e))`, `S = 31 − e`,
/// and `M = 2^31` renormalised to `2^30` with `S − 1`.
pub fn multiplier_shift(tensor: &str, m: f64) -> Result<(i32, i32)> {
    let bad = |r: String| ExportError::Quantization {
        tensor: tensor.into(),
        reason: r,
    };
    if !(m > 0.0 && m < 2f64.powi(30) && m.is_normal()) {
        return Err(bad(format!("real multiplier {m:e} outside (0, 2^30)")));
    }
    let e = m.log2().floor() as i32 + 1;
    // log2 may round across an integer boundary; fix e so that m / 2^e is in [0.5, 1).
    let e = if m / 2f64.powi(e) >= 1.0 {
        e + 1
    } else if m / 2f64.powi(e) < 0.5 {
        e - 1
    } else {
        e
    };
    let mut mant = (m * 2f64.powi(31 - e)).round_ties_even() as i64;
    let mut shift = 31 - e;
    if mant == 1i64 << 31 {
        mant = 1i64 << 30;
        shift -= 1;
    }
    if !(1..=62).contains(&shift) {
        return Err(bad(format!(
            "real multiplier {m:e} needs shift {shift}, outside [1, 62]"
        )));
    }
    Ok((mant as i32, shift))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multiplier_reconstructs_m() {
        for &m in &[
            1e-9,
            0.000_123,
            0.25,
            0.5,
            0.999_999_999_9,
            1.0,
            3.7,
            1000.0,
        ] {
            let (mm, s) = multiplier_shift("t", m).unwrap();
            assert!((1 << 30..=i32::MAX).contains(&mm), "m={m} M={mm}");
            let back = f64::from(mm) / 2f64.powi(s);
            assert!((back - m).abs() <= m * 2f64.powi(-30), "m={m} back={back}");
        }
    }

    #[test]
    fn multiplier_rounding_up_to_two_pow_31_is_renormalised() {
        let m = 0.5 - 2f64.powi(-40);
        assert_eq!(multiplier_shift("t", m).unwrap(), (1 << 30, 31));
    }

    #[test]
    fn multiplier_out_of_range_is_an_error() {
        for m in [0.0, -1.0, f64::NAN, 2f64.powi(30), 1e-30] {
            assert!(multiplier_shift("t", m).is_err(), "{m}");
        }
    }

    #[test]
    fn relu_range_puts_zero_point_at_minus_128() {
        let q = act_quant(0.0, 5.1).unwrap();
        assert_eq!(q.zero_point, -128);
        assert!((q.scale - 0.02).abs() < 1e-7);
        // real −1 must map to −128: zp = −128 + 1 / 0.01.
        let q = act_quant(-1.0, 1.55).unwrap();
        assert_eq!(q.zero_point, -28);
        assert_eq!(
            act_quant(0.0, 0.0).unwrap(),
            ActQuant {
                scale: 1.0,
                zero_point: -128
            }
        );
    }

    #[test]
    fn rows_are_symmetric_per_channel() {
        let (q, s) = quantize_rows(&[1.0, -0.5, 0.0, 0.0, 0.0, 0.2], 3);
        assert_eq!(q, vec![127, -64, 0, 0, 0, 127]);
        assert_eq!(s, vec![1.0 / 127.0, 0.2 / 127.0]);
    }

    #[test]
    fn bias_folds_zero_point_and_bounds_accumulator() {
        // b / (s_in s_w) = 10, z_in = 3, ΣW = 5 ⇒ 10 − 15.
        assert_eq!(folded_bias("t", 1.0, 0.5, 0.2, 3, &[2, 3]).unwrap(), -5);
        let wide = vec![127i8; 200_000];
        assert!(folded_bias("t", 0.0, 1.0, 1.0, 0, &wide).is_err());
        assert!(folded_bias("t", 1e12, 1.0, 1.0, 0, &[1]).is_err());
    }
}
