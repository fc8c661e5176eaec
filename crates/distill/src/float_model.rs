//! Saving a trained student in the float-model contract that `export` reads
//! (runtime-nostd's FORMAT.md, last section): f32 tensors plus metadata strings.
use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;
use candle_core::{DType, Device, Tensor};
use candle_nn::VarMap;
use export::st_write::Owned;

use runtime_nostd::format::{self as fmt, meta};

use crate::data::Normalization;
use crate::fsutil::write_atomic;

/// Everything besides the weights that describes a float MLP student.
pub struct MlpMeta<'a> {
    pub input_shape: &'a [usize],
    pub hidden: &'a [usize],
    pub classes: &'a [String],
    pub norm: &'a Normalization,
    /// The resolved experiment config, stored for provenance.
    pub config_toml: &'a str,
}

pub fn save_mlp(path: &Path, varmap: &VarMap, meta: &MlpMeta) -> anyhow::Result<()> {
    let n = meta.norm.mean.len();
    let extra = vec![
        (
            fmt::INPUT_MEAN.to_string(),
            Tensor::from_slice(&meta.norm.mean, n, &Device::Cpu)?,
        ),
        (
            fmt::INPUT_STD.to_string(),
            Tensor::from_slice(&meta.norm.std, n, &Device::Cpu)?,
        ),
    ];
    let join = |v: &[usize], sep: char| {
        let parts: Vec<String> = v.iter().map(|d| d.to_string()).collect();
        parts.join(&sep.to_string())
    };
    let metadata = HashMap::from([
        (meta::KIND.to_string(), fmt::KIND_MLP.to_string()),
        (
            meta::INPUT_SHAPE.to_string(),
            join(meta.input_shape, fmt::SHAPE_SEPARATOR),
        ),
        (
            meta::HIDDEN.to_string(),
            join(meta.hidden, fmt::HIDDEN_SEPARATOR),
        ),
        (
            meta::CLASSES.to_string(),
            meta.classes.join(&fmt::CLASS_SEPARATOR.to_string()),
        ),
        (meta::CONFIG.to_string(), meta.config_toml.to_string()),
    ]);
    save_varmap(path, varmap, extra, metadata)
}

/// Writes every variable of `varmap` plus `extra` tensors, atomically, names sorted.
pub fn save_varmap(
    path: &Path,
    varmap: &VarMap,
    extra: Vec<(String, Tensor)>,
    metadata: HashMap<String, String>,
) -> anyhow::Result<()> {
    let mut tensors: Vec<(String, Tensor)> = {
        let data = varmap
            .data()
            .lock()
            .map_err(|_| anyhow::anyhow!("parameter map poisoned"))?;
        data.iter()
            .map(|(k, v)| (k.clone(), v.as_tensor().clone()))
            .collect()
    };
    tensors.extend(extra);
    let owned = tensors
        .iter()
        .map(|(name, t)| {
            let values = t
                .to_device(&Device::Cpu)?
                .to_dtype(DType::F32)?
                .flatten_all()?
                .to_vec1::<f32>()?;
            let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            Ok(Owned::new(
                name,
                safetensors::Dtype::F32,
                t.dims().to_vec(),
                bytes,
            ))
        })
        .collect::<candle_core::Result<Vec<_>>>()?;
    // export's writer sorts the header, so the same weights always give the same file bytes
    // (and the same `source_sha256` in the int8 artifact).
    let bytes = export::st_write::serialize(&owned, &metadata.into_iter().collect())?;
    write_atomic(path, &bytes).with_context(|| format!("writing {}", path.display()))
}

/// Loads every tensor of a safetensors file into `varmap` (a cached teacher).
pub fn load_into(path: &Path, varmap: &mut VarMap) -> anyhow::Result<()> {
    varmap.load(path).with_context(|| {
        format!(
            "{}: cannot load these weights into the model",
            path.display()
        )
    })
}
