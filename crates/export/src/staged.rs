//! All-or-nothing output: every file is written to a temporary name first and renamed into
//! place only when all of them were written, so a failure never leaves a partial output.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{ExportError, Result};

/// Writes `files` (name, bytes) into `dir` atomically as a set (as far as the filesystem
/// allows: each rename is atomic; if a later rename fails, the earlier ones are removed).
pub fn write_all(dir: &Path, files: &[(String, Vec<u8>)]) -> Result<Vec<PathBuf>> {
    fs::create_dir_all(dir).map_err(|e| ExportError::io(dir, e))?;
    let mut temps: Vec<(PathBuf, PathBuf)> = Vec::with_capacity(files.len());
    for (name, bytes) in files {
        let fin = dir.join(name);
        let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        if let Err(e) = write_synced(&tmp, bytes) {
            let _ = fs::remove_file(&tmp);
            cleanup(temps.iter().map(|(t, _)| t));
            return Err(ExportError::io(&tmp, e));
        }
        temps.push((tmp, fin));
    }
    for (i, (tmp, fin)) in temps.iter().enumerate() {
        if let Err(e) = fs::rename(tmp, fin) {
            cleanup(temps[..i].iter().map(|(_, f)| f));
            cleanup(temps[i..].iter().map(|(t, _)| t));
            return Err(ExportError::io(fin, e));
        }
    }
    Ok(temps.into_iter().map(|(_, f)| f).collect())
}

fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = fs::File::create(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

fn cleanup<'a>(paths: impl Iterator<Item = &'a PathBuf>) {
    for p in paths {
        // Best effort: the original error is the one worth reporting.
        let _ = fs::remove_file(p);
    }
}
