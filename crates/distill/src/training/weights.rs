//! distill's own weight files: the best epoch's weights and cached teachers. These are plain
//! dumps of a parameter map for distill to read back, not the float student contract (that
//! one is written by `export::FloatModel::save`, see `students::float_model`).
use std::path::Path;

use crate::error::{Context, Error, Result, ensure};
use crate::nn::host_f32;
use candle_nn::VarMap;
use export::st_write::Owned;

/// Writes every variable of `varmap` as F32, atomically, through export's sorted writer, so
/// the same weights always give the same file bytes. `durable` syncs the file to disk (a
/// cached teacher); without it the write is atomic but unsynced (the best epoch's weights,
/// rewritten as training improves: see `export::fsutil::replace_unsynced`).
pub fn save_varmap(path: &Path, varmap: &VarMap, durable: bool) -> Result<()> {
    let owned = {
        let data = varmap.data().lock().map_err(|_| Error::Poisoned)?;
        data.iter()
            .map(|(name, v)| {
                let t = v.as_tensor();
                let values = host_f32(t)?;
                let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
                Ok(Owned::new(
                    name,
                    safetensors::Dtype::F32,
                    t.dims().to_vec(),
                    bytes,
                ))
            })
            .collect::<candle_core::Result<Vec<_>>>()?
    };
    let bytes = export::st_write::serialize(&owned, &Default::default())?;
    let written = match durable {
        true => export::fsutil::write_atomic(path, &bytes),
        false => export::fsutil::replace_unsynced(path, &bytes),
    };
    written.with_context(|| format!("saving {}", path.display()))
}

/// Loads every tensor of a safetensors file into `varmap` (a cached teacher).
pub fn load_into(path: &Path, varmap: &mut VarMap) -> Result<()> {
    varmap.load(path).with_context(|| {
        format!(
            "{}: cannot load these weights into the model",
            path.display()
        )
    })
}

/// Sets every parameter of `varmap` from the safetensors file at `path` (the best epoch).
pub fn restore_weights(path: &Path, varmap: &VarMap) -> Result<()> {
    let what = || {
        format!(
            "{}: cannot restore the best epoch's weights",
            path.display()
        )
    };
    let bytes = std::fs::read(path).with_context(what)?;
    let st = safetensors::SafeTensors::deserialize(&bytes).with_context(what)?;
    let data = varmap.data().lock().map_err(|_| Error::Poisoned)?;
    for (name, var) in data.iter() {
        let view = st.tensor(name).with_context(what)?;
        let t = candle_core::safetensors::Load::load(&view, var.device())?;
        ensure!(
            t.dims() == var.dims(),
            Weights,
            "{}: {name} changed shape",
            what()
        );
        var.set(&t.to_dtype(var.dtype())?)?;
    }
    Ok(())
}
