//! Saving a trained student in the float-model contract that `export` reads
//! (runtime-nostd's FORMAT.md, last section): f32 tensors plus metadata strings.
use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;
use candle_core::{DType, Device, Tensor};
use candle_nn::VarMap;
use export::fsutil::write_atomic;
use export::st_write::Owned;

use runtime_nostd::format::{self as fmt, meta};

use crate::data::Normalization;
use crate::students::tree::SoftTree;

/// Everything besides the weights that describes a float student.
pub struct StudentMeta<'a> {
    pub input_shape: &'a [usize],
    pub classes: &'a [String],
    pub norm: &'a Normalization,
    /// The resolved experiment config, stored for provenance.
    pub config_toml: &'a str,
}

pub fn save_mlp(
    path: &Path,
    varmap: &VarMap,
    hidden: &[usize],
    meta: &StudentMeta,
) -> anyhow::Result<()> {
    let mut metadata = common_metadata(meta, fmt::KIND_MLP);
    metadata.insert(
        meta::HIDDEN.to_string(),
        join(hidden, fmt::HIDDEN_SEPARATOR),
    );
    save_varmap(path, varmap, norm_tensors(meta)?, metadata)
}

/// Writes a soft tree with exactly the tensors FORMAT.md names (β itself, not a learned
/// log β the checkpoint holds).
pub fn save_tree(path: &Path, tree: &SoftTree, meta: &StudentMeta) -> anyhow::Result<()> {
    let mut metadata = common_metadata(meta, fmt::KIND_TREE);
    metadata.insert(meta::DEPTH.to_string(), tree.depth.to_string());
    let mut tensors = norm_tensors(meta)?;
    tensors.extend([
        (
            fmt::FLOAT_TREE_INNER_WEIGHT.to_string(),
            tree.weight.clone(),
        ),
        (fmt::FLOAT_TREE_INNER_BIAS.to_string(), tree.saved_bias()?),
        (fmt::FLOAT_TREE_LEAVES.to_string(), tree.leaves.clone()),
        (
            fmt::FLOAT_TREE_BETA.to_string(),
            Tensor::new(&[tree.beta()?], &Device::Cpu)?,
        ),
    ]);
    save_tensors(path, tensors, metadata)
}

fn join(v: &[usize], sep: char) -> String {
    let parts: Vec<String> = v.iter().map(|d| d.to_string()).collect();
    parts.join(&sep.to_string())
}

fn norm_tensors(meta: &StudentMeta) -> anyhow::Result<Vec<(String, Tensor)>> {
    let n = meta.norm.mean.len();
    Ok(vec![
        (
            fmt::INPUT_MEAN.to_string(),
            Tensor::from_slice(&meta.norm.mean, n, &Device::Cpu)?,
        ),
        (
            fmt::INPUT_STD.to_string(),
            Tensor::from_slice(&meta.norm.std, n, &Device::Cpu)?,
        ),
    ])
}

fn common_metadata(meta: &StudentMeta, kind: &str) -> HashMap<String, String> {
    HashMap::from([
        (meta::KIND.to_string(), kind.to_string()),
        (
            meta::INPUT_SHAPE.to_string(),
            join(meta.input_shape, fmt::SHAPE_SEPARATOR),
        ),
        (
            meta::CLASSES.to_string(),
            meta.classes.join(&fmt::CLASS_SEPARATOR.to_string()),
        ),
        (meta::CONFIG.to_string(), meta.config_toml.to_string()),
    ])
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
    save_tensors(path, tensors, metadata)
}

/// Writes `tensors` as F32 with `metadata`, atomically, through export's sorted writer.
pub fn save_tensors(
    path: &Path,
    tensors: Vec<(String, Tensor)>,
    metadata: HashMap<String, String>,
) -> anyhow::Result<()> {
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
