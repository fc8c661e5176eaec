//! The dataset made ready for training: split, normalized, hashed and moved to the device.
use candle_core::{Device, Tensor};

use crate::config::Config;
use crate::data::augment::{Augment, Augmenter};
use crate::data::{DataBundle, Dataset, Normalization, split_train_val, val_rows};
use crate::error::{Result, ensure};
use crate::teacher::cache::{f32_bytes, hash_parts, u32_bytes};

pub struct Prepared {
    pub device: Device,
    pub shape: Vec<usize>,
    pub features: usize,
    pub classes: usize,
    pub class_names: Vec<String>,
    pub norm: Normalization,
    /// Hash of the training split (values, labels, order): half of the logit-cache key.
    pub data_hash: String,
    /// Raw (unnormalized) splits, for ONNX teachers and export's calibration/evaluation.
    pub train: Dataset,
    pub test: Dataset,
    pub train_x: Tensor,
    pub train_y: Tensor,
    pub val_x: Tensor,
    pub val_y: Tensor,
    pub test_x: Tensor,
    pub test_y: Tensor,
    /// Why no validation split was held out although `data.val_fraction` asked for one.
    pub no_val_reason: Option<String>,
}

impl Prepared {
    /// Binds `aug` to this dataset's image shape and background; `None` when it is off.
    pub fn augmenter(&self, aug: Augment) -> Result<Option<Augmenter>> {
        if aug.is_off() {
            return Ok(None);
        }
        ensure!(
            self.norm.mean.len() == 1,
            Config,
            "augmentation needs one normalization for all pixels (data.normalize = \"global\" or \"auto\")"
        );
        let blank = self.norm.apply(&[0.0], 1)[0];
        Ok(Some(Augmenter::new(aug, &self.shape, blank)?))
    }

    pub fn new(cfg: &Config, bundle: DataBundle, device: Device) -> Result<Self> {
        let mut full = bundle.train;
        if cfg.data.train_limit > 0 {
            full = full.take(cfg.data.train_limit);
        }
        let n_val = val_rows(full.len(), cfg.data.val_fraction);
        let no_val_reason = (n_val > 0 && n_val < cfg.data.min_val_rows).then(|| {
            format!(
                "No validation split: {n_val} of {} rows would be too few to choose epochs \
                 or distillation settings on (data.min_val_rows = {}), so every model trained \
                 on all rows for its whole budget",
                full.len(),
                cfg.data.min_val_rows
            )
        });
        let fraction = match no_val_reason {
            Some(_) => 0.0,
            None => cfg.data.val_fraction,
        };
        let (train, val) = split_train_val(&full, fraction, cfg.seed);
        ensure!(!train.is_empty(), Mismatch, "the training split is empty");
        let norm = Normalization::fit(&train, cfg.data.normalize.per_feature(&train.shape));
        let f = train.features();
        let to_x = |d: &Dataset| Tensor::from_vec(norm.apply(&d.x, f), (d.len(), f), &device);
        let to_y = |d: &Dataset| Tensor::from_slice(&d.y, d.len(), &device);
        // The normalization is part of what a cached teacher saw: one trained on other inputs
        // must not be reused.
        let data_hash = hash_parts(&[
            &f32_bytes(&train.x),
            &u32_bytes(&train.y),
            &f32_bytes(&norm.mean),
            &f32_bytes(&norm.std),
        ]);
        Ok(Prepared {
            shape: train.shape.clone(),
            features: f,
            classes: train.num_classes,
            class_names: bundle.class_names,
            data_hash,
            train_x: to_x(&train)?,
            train_y: to_y(&train)?,
            val_x: to_x(&val)?,
            val_y: to_y(&val)?,
            test_x: to_x(&bundle.test)?,
            test_y: to_y(&bundle.test)?,
            train,
            test: bundle.test,
            norm,
            device,
            no_val_reason,
        })
    }
}
