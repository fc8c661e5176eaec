//! The seeded train/validation split and the input normalization saved with every model.
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::Dataset;

/// Splits off `val_fraction` of `data` as a validation set, the same way for the same seed,
/// stratified: each class gives its share (largest remainders make the total
/// `round(n · val_fraction)`), so a small split still sees every class in proportion — the
/// validation split decides when training stops and which epoch is kept.
pub fn split_train_val(data: &Dataset, val_fraction: f64, seed: u64) -> (Dataset, Dataset) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n_val = val_rows(data.len(), val_fraction);
    let classes = data.y.iter().max().map_or(0, |&m| m as usize + 1);
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); classes];
    for (i, &y) in data.y.iter().enumerate() {
        by_class[y as usize].push(i);
    }
    let share: Vec<f64> = by_class
        .iter()
        .map(|c| c.len() as f64 * n_val as f64 / data.len().max(1) as f64)
        .collect();
    let mut take: Vec<usize> = share.iter().map(|s| s.floor() as usize).collect();
    let mut order: Vec<usize> = (0..classes).collect();
    // Stable: equal remainders go to the lower class index.
    order.sort_by(|&a, &b| (share[b] - share[b].floor()).total_cmp(&(share[a] - share[a].floor())));
    let missing = n_val.saturating_sub(take.iter().sum());
    for &k in order.iter().take(missing) {
        take[k] += 1;
    }
    let (mut train, mut val) = (Vec::new(), Vec::new());
    for (rows, k) in by_class.iter_mut().zip(take) {
        rows.shuffle(&mut rng);
        val.extend_from_slice(&rows[..k.min(rows.len())]);
        train.extend_from_slice(&rows[k.min(rows.len())..]);
    }
    // Mix the classes again: rows grouped by class would be a poor order for anything that
    // reads a prefix (calibration takes the first training rows, `train_limit` too).
    train.shuffle(&mut rng);
    val.shuffle(&mut rng);
    (data.select(&train), data.select(&val))
}

/// How many of `n` rows [`split_train_val`] holds out (at least one is left to train on).
pub fn val_rows(n: usize, val_fraction: f64) -> usize {
    (((n as f64) * val_fraction).round() as usize).min(n.saturating_sub(1))
}

/// x_n = (x − mean) / std, either one pair for all features (images) or one per feature
/// (tables whose columns, and sequences whose channels, have different units); which one
/// `auto` picks is [`crate::config::Normalize::per_feature`].
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
    fn split_is_stratified() {
        // 90 rows of class 0, 10 of class 1: a 10% split holds 9 and 1.
        let d = Dataset {
            x: (0..100).map(|v| v as f32).collect(),
            y: (0..100).map(|v| u32::from(v % 10 == 0)).collect(),
            shape: vec![1],
            num_classes: 2,
        };
        for seed in 0..5 {
            let (t, v) = split_train_val(&d, 0.1, seed);
            assert_eq!((t.len(), v.len()), (90, 10));
            assert_eq!(v.y.iter().filter(|&&y| y == 1).count(), 1, "seed {seed}");
            let mut all: Vec<u32> = t.x.iter().chain(&v.x).map(|&x| x as u32).collect();
            all.sort_unstable();
            assert_eq!(all, (0..100).collect::<Vec<_>>());
        }
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
