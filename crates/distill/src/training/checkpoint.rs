//! Checkpoints: parameters, optimizer moments and the epoch history in one safetensors file,
//! written atomically after every epoch so an interrupted run loses at most one epoch.
use std::collections::HashMap;
use std::path::Path;

use candle_core::{Device, Tensor};
use candle_nn::VarMap;
use export::fsutil::replace_unsynced;

use crate::error::{Context, Error, Result, ensure};
use crate::training::metrics::EpochRecord;
use crate::training::optim::AdamW;

const MOMENT1: &str = "optim.m.";
const MOMENT2: &str = "optim.v.";
/// Prefix of a model's training state that is not a parameter (a tree's balance averages).
const STATE: &str = "state.";

/// A model's non-parameter training state, by name.
pub type TrainState = Vec<(String, Vec<f32>)>;

pub fn save(
    path: &Path,
    varmap: &VarMap,
    opt: &AdamW,
    history: &[EpochRecord],
    state: TrainState,
) -> Result<()> {
    let mut tensors: Vec<(String, Tensor)> = Vec::new();
    for (name, v) in state {
        let n = v.len();
        tensors.push((
            format!("{STATE}{name}"),
            Tensor::from_vec(v, n, &Device::Cpu)?,
        ));
    }
    {
        let data = varmap.data().lock().map_err(|_| Error::Poisoned)?;
        for (name, var) in data.iter() {
            tensors.push((name.clone(), var.as_tensor().to_device(&Device::Cpu)?));
        }
    }
    let mut meta = HashMap::new();
    if let AdamW::Fused(o) = opt {
        let (step, moments) = o.state();
        meta.insert("optim.step".to_string(), step.to_string());
        for (name, m, v) in moments {
            let n = m.len();
            tensors.push((
                format!("{MOMENT1}{name}"),
                Tensor::from_vec(m, n, &Device::Cpu)?,
            ));
            tensors.push((
                format!("{MOMENT2}{name}"),
                Tensor::from_vec(v, n, &Device::Cpu)?,
            ));
        }
    }
    meta.insert("history".to_string(), serde_json::to_string(history)?);
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    let bytes = safetensors::serialize(tensors.iter().map(|(n, t)| (n.as_str(), t)), Some(meta))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    replace_unsynced(path, &bytes)?;
    Ok(())
}

/// Restores parameters (by name, shapes checked) and optimizer state; returns the history
/// and the model's training state.
pub fn load(
    path: &Path,
    varmap: &VarMap,
    opt: &mut AdamW,
) -> Result<(Vec<EpochRecord>, TrainState)> {
    let what = || format!("{}: not a usable checkpoint", path.display());
    let bytes = std::fs::read(path).with_context(what)?;
    let st = safetensors::SafeTensors::deserialize(&bytes).with_context(what)?;
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).with_context(what)?;
    let meta = header.metadata().clone().unwrap_or_default();
    let history: Vec<EpochRecord> =
        serde_json::from_str(meta.get("history").map_or("[]", |s| s)).with_context(what)?;
    let mut moments: HashMap<String, (Vec<f32>, Vec<f32>)> = HashMap::new();
    {
        let data = varmap.data().lock().map_err(|_| Error::Poisoned)?;
        for (name, var) in data.iter() {
            let view = st
                .tensor(name)
                .with_context(|| format!("{}: parameter {name} is missing", path.display()))?;
            let t = candle_core::safetensors::Load::load(&view, var.device())?;
            ensure!(
                t.dims() == var.dims(),
                Weights,
                "{}: parameter {name} has shape {:?} but the model needs {:?} (was the config changed?)",
                path.display(),
                t.dims(),
                var.dims()
            );
            var.set(&t)?;
            for (prefix, first) in [(MOMENT1, true), (MOMENT2, false)] {
                if let Ok(view) = st.tensor(&format!("{prefix}{name}")) {
                    let v = candle_core::safetensors::Load::load(&view, &Device::Cpu)?
                        .to_vec1::<f32>()?;
                    let slot = moments.entry(name.clone()).or_default();
                    if first { slot.0 = v } else { slot.1 = v }
                }
            }
        }
    }
    if let AdamW::Fused(o) = opt {
        let step: u64 = meta
            .get("optim.step")
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        o.restore(
            step,
            moments.into_iter().map(|(n, (m, v))| (n, m, v)).collect(),
        )?;
    }
    let mut state = Vec::new();
    for (name, view) in st.tensors() {
        if let Some(key) = name.strip_prefix(STATE) {
            let v = candle_core::safetensors::Load::load(&view, &Device::Cpu)?
                .flatten_all()?
                .to_vec1::<f32>()
                .with_context(what)?;
            state.push((key.to_string(), v));
        }
    }
    Ok((history, state))
}
