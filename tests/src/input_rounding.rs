//! The one place tract and runtime-nostd are allowed to differ: input quantization.
//!
//! runtime-nostd computes `(x − mean) / std / s_in` in f32 with two true divisions; tract
//! rewrites each float `Div` by a constant as a multiplication by its reciprocal
//! (`export::onnx_graph` docs). The two results can be a few ULPs apart, which changes
//! `round_half_even` only where the value lies within those ULPs of a half-integer. This
//! module measures, for each differing input value, how far from a half it really was.

use runtime_nostd::format as fmt;
use safetensors::{Dtype, SafeTensors};

use crate::error::{Error, Result};

/// The artifact's input normalization and quantization.
#[derive(Debug, Clone, PartialEq)]
pub struct InputQuant {
    /// `[F]` or `[1]` (broadcast).
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
    pub scale: f32,
    pub zero_point: i32,
}

/// One differing quantized value, and why.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RoundingCase {
    pub sample: usize,
    pub feature: usize,
    pub runtime: i8,
    pub tract: i8,
    /// `(x − mean) / std / s_in` in f64.
    pub exact: f64,
    /// Distance of `exact` from the nearest half-integer, in f32 ULPs of `exact`.
    pub ulps_from_half: f64,
}

impl InputQuant {
    /// Reads `input.mean`, `input.std`, `input.quant`, `input.zero_point` from an artifact.
    pub fn from_artifact(bytes: &[u8]) -> Result<Self> {
        let bad = |reason: String| Error::Safetensors {
            what: "artifact".into(),
            reason,
        };
        let st = SafeTensors::deserialize(bytes).map_err(|e| bad(e.to_string()))?;
        let words = |name: &str, dtype: Dtype| -> Result<Vec<[u8; 4]>> {
            let t = st.tensor(name).map_err(|e| bad(format!("{name}: {e}")))?;
            if t.dtype() != dtype {
                return Err(bad(format!("{name} is {:?}", t.dtype())));
            }
            let (words, rest) = t.data().as_chunks::<4>();
            if !rest.is_empty() || words.is_empty() {
                return Err(bad(format!("{name} has {} bytes", t.data().len())));
            }
            Ok(words.to_vec())
        };
        let f32s = |name: &str| -> Result<Vec<f32>> {
            Ok(words(name, Dtype::F32)?
                .into_iter()
                .map(f32::from_le_bytes)
                .collect())
        };
        Ok(Self {
            mean: f32s(fmt::INPUT_MEAN)?,
            std: f32s(fmt::INPUT_STD)?,
            scale: f32s(fmt::INPUT_QUANT)?[0],
            zero_point: i32::from_le_bytes(words(fmt::INPUT_ZERO_POINT, Dtype::I32)?[0]),
        })
    }

    /// `(x − mean) / std / s_in` for feature `i`, in f64.
    pub fn exact(&self, x: f32, i: usize) -> f64 {
        let pick = |v: &[f32]| f64::from(if v.len() == 1 { v[0] } else { v[i] });
        (f64::from(x) - pick(&self.mean)) / pick(&self.std) / f64::from(self.scale)
    }

    /// Every value where `rt_q` and `tr_q` (`[N * features]`) differ, with its distance from
    /// a half.
    pub fn cases(&self, x: &[f32], rt_q: &[i8], tr_q: &[i8], features: usize) -> Vec<RoundingCase> {
        let f = features.max(1);
        (0..x.len().min(rt_q.len()).min(tr_q.len()))
            .filter(|&k| rt_q[k] != tr_q[k])
            .map(|k| {
                let exact = self.exact(x[k], k % f);
                let half = exact.floor() + 0.5;
                RoundingCase {
                    sample: k / f,
                    feature: k % f,
                    runtime: rt_q[k],
                    tract: tr_q[k],
                    exact,
                    ulps_from_half: (exact - half).abs() / ulp_f32(exact as f32),
                }
            })
            .collect()
    }
}

/// The gap between `v` and the next f32 away from zero.
fn ulp_f32(v: f32) -> f64 {
    let a = v.abs();
    f64::from(f32::from_bits(a.to_bits() + 1) - a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tie_is_zero_ulps_from_half_and_a_plain_value_is_far() {
        let iq = InputQuant {
            mean: vec![1.0],
            std: vec![2.0],
            scale: 0.5,
            zero_point: 0,
        };
        // (6 − 1) / 2 / 0.5 = 5.0; (7 − 1) / 2 / 0.5 = 6.0; (7.5 − 1) / 2 / 0.5 = 6.5.
        let x = [6.0, 7.5, 7.0];
        let cases = iq.cases(&x, &[5, 6, 6], &[5, 7, 7], 3);
        assert_eq!(cases.len(), 2);
        assert_eq!((cases[0].sample, cases[0].feature), (0, 1));
        assert_eq!(cases[0].ulps_from_half, 0.0);
        assert!(cases[1].ulps_from_half > 1e5, "{:?}", cases[1]);
    }
}
