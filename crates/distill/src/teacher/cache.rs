//! The on-disk cache shared by runs: trained teachers and their logits, keyed by hashes of
//! what produced them, so a second run (or a student sweep) never retrains the teacher.
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use export::fsutil::write_atomic;
use sha2::{Digest, Sha256};

use crate::error::{Context, Result};

/// Hex SHA-256 of some byte slices, in order.
pub fn hash_parts(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

pub fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub fn u32_bytes(v: &[u32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    pub fn new(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the cache folder {}", dir.display()))?;
        Ok(Cache {
            dir: dir.to_path_buf(),
        })
    }

    pub fn teacher_path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("teacher-{}.safetensors", &key[..16]))
    }

    fn logits_path(&self, teacher: &str, data: &str) -> PathBuf {
        self.dir.join(format!(
            "logits-{}-{}.safetensors",
            &teacher[..16],
            &data[..16]
        ))
    }

    /// Cached logits `[n, classes]` of this teacher on this data, if present and sound.
    pub fn load_logits(
        &self,
        teacher: &str,
        data: &str,
        n: usize,
        classes: usize,
    ) -> Option<Vec<f32>> {
        let path = self.logits_path(teacher, data);
        let bytes = std::fs::read(&path).ok()?;
        let st = safetensors::SafeTensors::deserialize(&bytes).ok()?;
        let t =
            candle_core::safetensors::Load::load(&st.tensor("logits").ok()?, &Device::Cpu).ok()?;
        if t.dims() != [n, classes] {
            return None;
        }
        t.flatten_all().ok()?.to_vec1::<f32>().ok()
    }

    pub fn save_logits(
        &self,
        teacher: &str,
        data: &str,
        logits: &[f32],
        n: usize,
        classes: usize,
    ) -> Result<PathBuf> {
        let path = self.logits_path(teacher, data);
        let t = Tensor::from_slice(logits, (n, classes), &Device::Cpu)?;
        let meta = HashMap::from([
            ("teacher_sha256".to_string(), teacher.to_string()),
            ("data_sha256".to_string(), data.to_string()),
        ]);
        let bytes = safetensors::serialize([("logits", &t)], Some(meta))?;
        write_atomic(&path, &bytes).with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logits_round_trip_and_reject_wrong_shape() {
        let dir = tempfile::tempdir().unwrap();
        let c = Cache::new(dir.path()).unwrap();
        let (t, d) = (hash_parts(&[b"t"]), hash_parts(&[b"d"]));
        c.save_logits(&t, &d, &[1.0, 2.0, 3.0, 4.0], 2, 2).unwrap();
        assert_eq!(c.load_logits(&t, &d, 2, 2), Some(vec![1.0, 2.0, 3.0, 4.0]));
        assert_eq!(c.load_logits(&t, &d, 4, 1), None);
        assert_eq!(c.load_logits(&d, &t, 2, 2), None);
    }
}
