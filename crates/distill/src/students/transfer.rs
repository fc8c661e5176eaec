//! The transfer set (Hinton et al. 2015, §2): inputs the labels never covered — perturbed
//! copies and mixtures of the training images — labelled by the teacher alone. The KD student
//! trains on the training split plus this set; its rows carry teacher targets but no label,
//! so only the soft term of the loss sees them.
use candle_core::Tensor;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::data::augment::Augment;
use crate::data::prepared::Prepared;
use crate::error::Result;
use crate::teacher::TeacherResult;
use crate::teacher::cache::{Cache, hash_parts};
use crate::training::progress::EpochProgress;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TransferConfig {
    /// Perturbed copies of the training split to add (0 = no transfer set).
    pub copies: usize,
    /// How each copy is perturbed.
    pub augment: Augment,
    /// Fraction of transfer samples that blend two training images with a uniform weight.
    pub mixup: f32,
}

impl Default for TransferConfig {
    fn default() -> Self {
        TransferConfig {
            copies: 0,
            augment: Augment {
                shift: 2,
                ..Augment::default()
            },
            mixup: 0.0,
        }
    }
}

impl TransferConfig {
    pub fn describe(&self) -> String {
        format!(
            "{} teacher-labelled copies of the training split ({}; mixup {:.0}%)",
            self.copies,
            self.augment.describe(),
            100.0 * self.mixup
        )
    }
}

/// What the KD student trains on: the training split followed by the transfer set.
pub struct KdData {
    pub x: Tensor,
    pub y: Tensor,
    pub teacher: Tensor,
    /// 1.0 on labelled rows, 0.0 on transfer rows.
    pub label_mask: Tensor,
}

/// Builds (or reads from the cache) the transfer set's teacher logits and joins it to the
/// training split; `None` when `transfer.copies` is 0.
pub fn kd_data(
    cfg: &Config,
    p: &Prepared,
    teacher: &TeacherResult,
    cache: &Cache,
    log: &EpochProgress,
) -> Result<Option<KdData>> {
    let t = &cfg.transfer;
    if t.copies == 0 {
        return Ok(None);
    }
    let (x, y) = generate(t, p, cfg.seed)?;
    let n = y.dim(0)?;
    let set_key = hash_parts(&[
        p.data_hash.as_bytes(),
        toml::to_string(t)?.as_bytes(),
        &cfg.seed.to_le_bytes(),
    ]);
    let logits = match cache.load_logits(&teacher.key, &set_key, n, p.classes) {
        Some(v) => {
            log.println(&format!(
                "transfer: {n} samples, teacher logits read from the cache"
            ));
            Tensor::from_vec(v, (n, p.classes), &p.device)?
        }
        None => {
            log.println(&format!(
                "transfer: labelling {n} samples with the teacher ({})",
                t.describe()
            ));
            let l = teacher.model.logits(&x, p)?;
            let v = l.flatten_all()?.to_vec1::<f32>()?;
            cache.save_logits(&teacher.key, &set_key, &v, n, p.classes)?;
            l
        }
    };
    let m = p.train_x.dim(0)?;
    Ok(Some(KdData {
        x: Tensor::cat(&[&p.train_x, &x], 0)?,
        y: Tensor::cat(&[&p.train_y, &y], 0)?,
        teacher: Tensor::cat(&[&teacher.train_logits, &logits], 0)?,
        label_mask: Tensor::cat(
            &[
                &Tensor::ones(m, candle_core::DType::F32, &p.device)?,
                &Tensor::zeros(n, candle_core::DType::F32, &p.device)?,
            ],
            0,
        )?,
    }))
}

/// The transfer inputs (normalized, like `p.train_x`) and the label of each one's first
/// source image (only a valid index: the loss masks it).
fn generate(t: &TransferConfig, p: &Prepared, seed: u64) -> Result<(Tensor, Tensor)> {
    let aug = p.augmenter(t.augment)?;
    let f = p.features;
    let base = p.train_x.flatten_all()?.to_vec1::<f32>()?;
    let labels = p.train_y.to_vec1::<u32>()?;
    let m = labels.len();
    let mut x = Vec::with_capacity(t.copies * base.len());
    let mut y = Vec::with_capacity(t.copies * m);
    for copy in 0..t.copies {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7ea5_0000 ^ copy as u64);
        for (i, &label) in labels.iter().enumerate() {
            let row = &base[i * f..(i + 1) * f];
            let start = x.len();
            if rng.random::<f32>() < t.mixup {
                let j = rng.random_range(0..m);
                let w: f32 = rng.random();
                let other = &base[j * f..(j + 1) * f];
                x.extend(row.iter().zip(other).map(|(a, b)| w * a + (1.0 - w) * b));
            } else {
                x.extend_from_slice(row);
            }
            if let Some(a) = &aug {
                a.apply(&mut x[start..], &mut rng);
            }
            y.push(label);
        }
    }
    let n = y.len();
    Ok((
        Tensor::from_vec(x, (n, f), &p.device)?,
        Tensor::from_vec(y, n, &p.device)?,
    ))
}
