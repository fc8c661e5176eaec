//! Activation ranges from real samples: min/max, or percentile clipping of outliers.

use crate::dataset::Dataset;
use crate::error::{ExportError, Result};
use crate::float_forward::{mlp_activations, normalize};
use crate::float_model::{FloatBody, FloatModel};

/// How a tensor's calibration values become its int8 range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Clipping {
    /// The observed minimum and maximum.
    MinMax,
    /// The `p`-th and `(100 − p)`-th percentiles, `p` in (50, 100]: values beyond are clipped,
    /// trading rare outliers for finer steps. `Percentile(100.0)` equals `MinMax`.
    Percentile(f32),
}

impl std::fmt::Display for Clipping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Clipping::MinMax => f.write_str("minmax"),
            Clipping::Percentile(p) => write!(f, "percentile:{p}"),
        }
    }
}

/// Parses `minmax` or `percentile:P` (e.g. `percentile:99.99`), the `Display` form.
impl std::str::FromStr for Clipping {
    type Err = ExportError;
    fn from_str(s: &str) -> Result<Self> {
        let c =
            match s.split_once(':') {
                None if s == "minmax" => Clipping::MinMax,
                Some(("percentile", p)) => Clipping::Percentile(p.parse().map_err(|_| {
                    ExportError::Option(format!("percentile `{p}` is not a number"))
                })?),
                _ => {
                    return Err(ExportError::Option(format!(
                        "clipping `{s}`: expected `minmax` or `percentile:P`"
                    )));
                }
            };
        c.check()?;
        Ok(c)
    }
}

impl Clipping {
    pub(crate) fn check(self) -> Result<()> {
        match self {
            Clipping::Percentile(p) if !(p > 50.0 && p <= 100.0) => Err(ExportError::Option(
                format!("percentile {p} outside (50, 100]"),
            )),
            _ => Ok(()),
        }
    }
}

/// Ranges `(lo, hi)` of every tensor that gets its own int8 parameters: element 0 is the
/// normalized input; for an MLP element k + 1 is layer k's output (post-ReLU for hidden layers).
/// A tree quantizes only its input. For a CNN element k + 1 is its k-th *weighted* layer's
/// output (conv and dwconv after ReLU, dense as for an MLP); pools keep their input's range.
pub fn calibrate(
    model: &FloatModel,
    data: &Dataset,
    samples: usize,
    clipping: Clipping,
) -> Result<Vec<(f32, f32)>> {
    clipping.check()?;
    data.check_width("calibration data", model.features())?;
    if samples == 0 {
        return Err(ExportError::Option(
            "calib_samples must be at least 1".into(),
        ));
    }
    let n = samples.min(data.rows());
    let plan = model.cnn_plan().transpose()?;
    let tensors = match &model.body {
        FloatBody::Mlp(layers) => 1 + layers.len(),
        FloatBody::Tree(_) => 1,
        FloatBody::Cnn(layers) => 1 + layers.iter().filter(|l| l.layer.has_weights()).count(),
    };
    let mut values: Vec<Vec<f32>> = vec![Vec::new(); tensors];
    let mut x_n = Vec::new();
    for i in 0..n {
        normalize(model, data.row(i), &mut x_n);
        values[0].extend_from_slice(&x_n);
        match (&model.body, &plan) {
            (FloatBody::Mlp(layers), _) => {
                for (k, a) in mlp_activations(layers, &x_n).into_iter().enumerate() {
                    values[k + 1].extend(a);
                }
            }
            (FloatBody::Cnn(layers), Some(plan)) => {
                let acts = crate::float_cnn::cnn_activations(plan, layers, &x_n);
                let weighted = layers
                    .iter()
                    .zip(acts)
                    .filter(|(l, _)| l.layer.has_weights());
                for (k, (_, a)) in weighted.enumerate() {
                    values[k + 1].extend(a);
                }
            }
            _ => {}
        }
    }
    values.into_iter().map(|v| range(v, clipping)).collect()
}

fn range(mut v: Vec<f32>, clipping: Clipping) -> Result<(f32, f32)> {
    if let Some(i) = v.iter().position(|x| !x.is_finite()) {
        return Err(ExportError::NonFinite {
            tensor: "calibration activation".into(),
            index: i,
        });
    }
    let p = match clipping {
        Clipping::MinMax => 100.0,
        Clipping::Percentile(p) => f64::from(p),
    };
    let last = v.len() - 1;
    // Nearest-rank percentiles; selection is O(n) and exact, so the result is deterministic.
    let hi_rank = ((p / 100.0) * last as f64).round() as usize;
    let lo_rank = last - hi_rank;
    let (_, &mut hi, _) = v.select_nth_unstable_by(hi_rank.min(last), f32::total_cmp);
    let (_, &mut lo, _) = v.select_nth_unstable_by(lo_rank, f32::total_cmp);
    Ok((lo, hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minmax_and_percentile() {
        let v: Vec<f32> = (0..=1000).map(|i| i as f32).collect();
        assert_eq!(range(v.clone(), Clipping::MinMax).unwrap(), (0.0, 1000.0));
        assert_eq!(
            range(v.clone(), Clipping::Percentile(99.0)).unwrap(),
            (10.0, 990.0)
        );
        assert_eq!(
            range(v, Clipping::Percentile(100.0)).unwrap(),
            (0.0, 1000.0)
        );
    }

    #[test]
    fn parses_its_display_form() {
        for c in [Clipping::MinMax, Clipping::Percentile(99.99)] {
            assert_eq!(c.to_string().parse::<Clipping>().unwrap(), c);
        }
        for bad in ["max", "percentile", "percentile:x", "percentile:40"] {
            assert!(bad.parse::<Clipping>().is_err(), "{bad}");
        }
    }

    #[test]
    fn percentile_out_of_range_is_refused() {
        assert!(Clipping::Percentile(50.0).check().is_err());
        assert!(Clipping::Percentile(100.5).check().is_err());
        assert!(Clipping::Percentile(f32::NAN).check().is_err());
        assert!(Clipping::Percentile(99.9).check().is_ok());
    }
}
