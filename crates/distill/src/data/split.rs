//! The seeded train/validation split and the input normalization saved with every model.
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::Dataset;

/// Splits off `val_fraction` of `data` as a validation set, the same way for the same seed.
pub fn split_train_val(data: &Dataset, val_fraction: f64, seed: u64) -> (Dataset, Dataset) {
    let mut idx: Vec<usize> = (0..data.len()).collect();
    idx.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let n_val = ((data.len() as f64) * val_fraction).round() as usize;
    let n_val = n_val.min(data.len().saturating_sub(1));
    let (val, train) = idx.split_at(n_val);
    (data.select(train), data.select(val))
}

/// x_n = (x − mean) / std, either one pair for all features (images) or one per feature
/// (tables whose columns have different units).
#[derive(Debug, Clone, PartialEq)]
pub struct Normalization {
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
}

impl Normalization {
    /// Statistics of `data`; `per_feature` picks one pair per column instead of one overall.
    pub fn fit(data: &Dataset, per_feature: bool) -> Self {
        let f = data.features();
        let n = data.len().max(1) as f64;
        if per_feature {
            let mut sum = vec![0f64; f];
            let mut sq = vec![0f64; f];
            for row in data.x.chunks_exact(f) {
                for (j, &v) in row.iter().enumerate() {
                    sum[j] += v as f64;
                    sq[j] += (v as f64) * (v as f64);
                }
            }
            let mean: Vec<f64> = sum.iter().map(|s| s / n).collect();
            let std = sq
                .iter()
                .zip(&mean)
                .map(|(s, m)| safe_std(s / n - m * m))
                .collect();
            Normalization {
                mean: mean.iter().map(|&m| m as f32).collect(),
                std,
            }
        } else {
            let total = n * f as f64;
            let sum: f64 = data.x.iter().map(|&v| v as f64).sum();
            let sq: f64 = data.x.iter().map(|&v| (v as f64) * (v as f64)).sum();
            let mean = sum / total;
            Normalization {
                mean: vec![mean as f32],
                std: vec![safe_std(sq / total - mean * mean)],
            }
        }
    }

    /// Normalizes a whole row-major matrix of samples.
    pub fn apply(&self, x: &[f32], features: usize) -> Vec<f32> {
        let mut out = Vec::with_capacity(x.len());
        for row in x.chunks_exact(features) {
            for (j, &v) in row.iter().enumerate() {
                let k = if self.mean.len() == 1 { 0 } else { j };
                out.push((v - self.mean[k]) / self.std[k]);
            }
        }
        out
    }

    /// Undoes [`Normalization::apply`]: normalized samples back to raw values.
    pub fn invert(&self, z: &[f32], features: usize) -> Vec<f32> {
        let mut out = Vec::with_capacity(z.len());
        for row in z.chunks_exact(features) {
            for (j, &v) in row.iter().enumerate() {
                let k = if self.mean.len() == 1 { 0 } else { j };
                out.push(v * self.std[k] + self.mean[k]);
            }
        }
        out
    }
}

/// A constant column would divide by zero; leave it centred but unscaled.
fn safe_std(var: f64) -> f32 {
    let s = var.max(0.0).sqrt();
    if s < 1e-6 { 1.0 } else { s as f32 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> Dataset {
        Dataset {
            x: (0..20).map(|v| v as f32).collect(),
            y: (0..10).map(|v| v % 2).collect(),
            shape: vec![2],
            num_classes: 2,
        }
    }

    #[test]
    fn split_is_seeded_and_disjoint() {
        let (a, b) = split_train_val(&data(), 0.3, 7);
        let (a2, b2) = split_train_val(&data(), 0.3, 7);
        assert_eq!((a.x.clone(), b.x.clone()), (a2.x, b2.x));
        assert_eq!((a.len(), b.len()), (7, 3));
        let (_, c) = split_train_val(&data(), 0.3, 8);
        assert_ne!(b.x, c.x);
    }

    #[test]
    fn normalization_centres_and_scales() {
        let n = Normalization::fit(&data(), true);
        let z = n.apply(&data().x, 2);
        let mean0: f32 = z.iter().step_by(2).sum::<f32>() / 10.0;
        assert!(mean0.abs() < 1e-5);
        let back = n.invert(&z, 2);
        assert!(
            back.iter()
                .zip(&data().x)
                .all(|(a, b)| (a - b).abs() < 1e-4)
        );
        let g = Normalization::fit(&data(), false);
        assert_eq!(g.mean, vec![9.5]);
    }
}
