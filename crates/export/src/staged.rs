//! All-or-nothing output: every file is written to its temporary name ([`fsutil::tmp_path`])
//! and synced first, and renamed into place only when all of them were written, so a failure
//! never leaves a partial output.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{ExportError, Result};
use crate::fsutil::{self, write_synced};

/// Writes `files` (name, bytes) into `dir` atomically as a set (as far as the filesystem
/// allows: each rename is atomic; if a later rename fails, the earlier ones are removed).
pub fn write_all(dir: &Path, files: &[(String, Vec<u8>)]) -> Result<Vec<PathBuf>> {
    fs::create_dir_all(dir).map_err(|e| ExportError::io(dir, e))?;
    let mut temps: Vec<(PathBuf, PathBuf)> = Vec::with_capacity(files.len());
    for (name, bytes) in files {
        let fin = dir.join(name);
        let tmp = fsutil::tmp_path(&fin);
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

fn cleanup<'a>(paths: impl Iterator<Item = &'a PathBuf>) {
    for p in paths {
        // Best effort: the original error is the one worth reporting.
        let _ = fs::remove_file(p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_files_appear_together() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("new");
        let paths = write_all(
            &out,
            &[("a".into(), b"1".to_vec()), ("b".into(), b"22".to_vec())],
        )
        .unwrap();
        assert_eq!(paths, vec![out.join("a"), out.join("b")]);
        assert_eq!(fs::read(out.join("b")).unwrap(), b"22");
        assert_eq!(
            fs::read_dir(&out).unwrap().count(),
            2,
            "no temporary file left"
        );
    }

    #[test]
    fn a_failed_rename_removes_everything_written() {
        let dir = tempfile::tempdir().unwrap();
        // A non-empty directory where the second file should go makes its rename fail.
        fs::create_dir_all(dir.path().join("b").join("x")).unwrap();
        let e = write_all(
            dir.path(),
            &[("a".into(), b"1".to_vec()), ("b".into(), b"2".to_vec())],
        );
        assert!(matches!(e, Err(ExportError::Io { .. })));
        let left: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            left,
            vec![std::ffi::OsString::from("b")],
            "only the pre-existing directory remains"
        );
    }
}
