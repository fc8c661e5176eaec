//! Saving a trained student in the float-model contract that `export` reads
//! (runtime-nostd's FORMAT.md, last section): this builds an [`export::FloatModel`] from the
//! candle parameters and saves it through export's writer, the only writer of that file.
use std::path::Path;

use candle_nn::VarMap;
use export::{Dense, FloatBody, FloatModel};
use runtime_nostd::format::{LayerTensor, layer_name};

use crate::data::Normalization;
use crate::error::{Context, Error, Result, ensure};
use crate::nn::host_f32;
use crate::students::tree::SoftTree;

#[cfg(test)]
mod tests;

/// Everything besides the weights that describes a float student.
pub struct StudentMeta<'a> {
    pub input_shape: &'a [usize],
    pub classes: &'a [String],
    pub norm: &'a Normalization,
    /// The resolved experiment config, stored for provenance.
    pub config_toml: &'a str,
}

/// Saves an MLP whose parameters are `layers.{k}.weight|bias` in `varmap`, `hidden` giving the
/// hidden widths; the map must hold exactly those (nothing the file would silently drop).
pub fn save_mlp(path: &Path, varmap: &VarMap, hidden: &[usize], meta: &StudentMeta) -> Result<()> {
    let layers = mlp_layers(varmap, hidden.len() + 1)?;
    save(path, FloatBody::Mlp(layers), meta)
}

/// Saves a soft tree with the tensors FORMAT.md names: the bias for uncentred inputs
/// ([`SoftTree::saved_bias`]) and β itself, not the learned log β the checkpoint holds.
pub fn save_tree(path: &Path, tree: &SoftTree, meta: &StudentMeta) -> Result<()> {
    let body = FloatBody::Tree(export::SoftTree {
        depth: u32::try_from(tree.depth)?,
        inner_weight: host_f32(&tree.weight)?,
        inner_bias: host_f32(&tree.saved_bias()?)?,
        leaves: host_f32(&tree.leaves)?,
        beta: tree.beta()?,
    });
    save(path, body, meta)
}

pub(crate) fn save(path: &Path, body: FloatBody, meta: &StudentMeta) -> Result<()> {
    let model = FloatModel {
        input_shape: meta.input_shape.to_vec(),
        classes: meta.classes.to_vec(),
        mean: meta.norm.mean.clone(),
        std: meta.norm.std.clone(),
        body,
        // The file's own hash, which `FloatModel::load` sets; the writer does not use it.
        source_sha256: [0; 32],
        config: Some(meta.config_toml.to_string()),
    };
    model
        .save(path)
        .with_context(|| format!("saving the float student {}", path.display()))
}

/// The `count` dense layers of an MLP parameter map, in order.
fn mlp_layers(varmap: &VarMap, count: usize) -> Result<Vec<Dense>> {
    let data = varmap.data().lock().map_err(|_| Error::Poisoned)?;
    ensure!(
        data.len() == 2 * count,
        Internal,
        "the MLP's parameter map holds {} tensors, its {count} layers need {}",
        data.len(),
        2 * count
    );
    let get = |k: usize, t: LayerTensor| {
        let name = layer_name(k, t).to_string();
        data.get(&name)
            .map(|v| v.as_tensor().clone())
            .ok_or_else(|| Error::Internal(format!("the MLP has no parameter {name}")))
    };
    (0..count)
        .map(|k| {
            let weight = get(k, LayerTensor::Weight)?;
            let (out_features, in_features) = weight.dims2()?;
            Ok(Dense {
                out_features,
                in_features,
                weight: host_f32(&weight)?,
                bias: host_f32(&get(k, LayerTensor::Bias)?)?,
            })
        })
        .collect()
}
