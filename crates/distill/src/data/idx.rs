//! IDX files (the MNIST container): `[0, 0, dtype, ndim]`, `ndim` big-endian u32 sizes, data.
//! Gzip is detected from the magic bytes, not the file name.
use std::io::Read;
use std::path::Path;

use super::{DataError, Dataset};

/// A decoded IDX array: its dimensions and values as f32.
pub struct IdxArray {
    pub dims: Vec<usize>,
    pub values: Vec<f32>,
}

/// Classes above this are almost surely a corrupt label file, not a real dataset.
const MAX_CLASSES: u32 = 4096;

pub fn read_idx(path: &Path) -> Result<IdxArray, DataError> {
    let raw = std::fs::read(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| DataError::format(path, format!("corrupt or truncated gzip data: {e}")))?;
        out
    } else {
        raw
    };
    parse_idx(&bytes).map_err(|problem| DataError::format(path, problem))
}

fn parse_idx(bytes: &[u8]) -> Result<IdxArray, String> {
    let header = bytes
        .get(..4)
        .ok_or("file shorter than the 4-byte IDX magic")?;
    if header[0] != 0 || header[1] != 0 {
        return Err("not an IDX file (magic must start with two zero bytes)".into());
    }
    let (elem, ndim) = (header[2], header[3] as usize);
    let width = match elem {
        0x08 | 0x09 => 1,
        0x0B => 2,
        0x0C | 0x0D => 4,
        0x0E => 8,
        other => return Err(format!("unknown IDX element type 0x{other:02x}")),
    };
    if ndim == 0 {
        return Err("IDX array with zero dimensions".into());
    }
    let dims_end = 4 + 4 * ndim;
    let dim_bytes = bytes
        .get(4..dims_end)
        .ok_or("truncated in the dimension list")?;
    let dims: Vec<usize> = dim_bytes
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let count = dims
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or("dimensions overflow")?;
    let expected = count.checked_mul(width).ok_or("dimensions overflow")?;
    let data = &bytes[dims_end..];
    if data.len() != expected {
        return Err(format!(
            "dimensions {dims:?} need {expected} data bytes but the file holds {} ({})",
            data.len(),
            if data.len() < expected {
                "truncated"
            } else {
                "trailing bytes"
            }
        ));
    }
    let values = match elem {
        0x08 => data.iter().map(|&b| b as f32).collect(),
        0x09 => data.iter().map(|&b| b as i8 as f32).collect(),
        0x0B => data
            .chunks_exact(2)
            .map(|c| i16::from_be_bytes([c[0], c[1]]) as f32)
            .collect(),
        0x0C => data
            .chunks_exact(4)
            .map(|c| i32::from_be_bytes([c[0], c[1], c[2], c[3]]) as f32)
            .collect(),
        0x0D => data
            .chunks_exact(4)
            .map(|c| f32::from_be_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        _ => data
            .chunks_exact(8)
            .map(|c| f64::from_be_bytes(c.try_into().unwrap_or([0; 8])) as f32)
            .collect(),
    };
    Ok(IdxArray { dims, values })
}

/// Loads an images file and its labels file into a dataset; any image size, any class count.
pub fn load_idx_pair(images: &Path, labels: &Path) -> Result<Dataset, DataError> {
    let img = read_idx(images)?;
    let lab = read_idx(labels)?;
    if lab.dims.len() != 1 {
        return Err(DataError::format(
            labels,
            format!(
                "labels must be one-dimensional, found dimensions {:?}",
                lab.dims
            ),
        ));
    }
    let n = img.dims[0];
    if lab.dims[0] != n {
        return Err(DataError::format(
            labels,
            format!(
                "{} labels for {n} images in {}",
                lab.dims[0],
                images.display()
            ),
        ));
    }
    if n == 0 {
        return Err(DataError::format(images, "holds no samples"));
    }
    if img.values.iter().any(|v| !v.is_finite()) {
        return Err(DataError::format(images, "contains NaN or infinite values"));
    }
    let mut y = Vec::with_capacity(n);
    for (i, &v) in lab.values.iter().enumerate() {
        if v < 0.0 || v.fract() != 0.0 || v >= MAX_CLASSES as f32 {
            return Err(DataError::format(
                labels,
                format!("label {v} at index {i} is out of range 0..{MAX_CLASSES}"),
            ));
        }
        y.push(v as u32);
    }
    let num_classes = y.iter().max().map_or(0, |m| m + 1) as usize;
    // A sample of shape [rows, cols] is stored as one channel so a CNN can take it as is.
    let mut shape: Vec<usize> = img.dims[1..].to_vec();
    if shape.len() == 2 {
        shape.insert(0, 1);
    }
    if shape.is_empty() {
        shape.push(1);
    }
    Ok(Dataset {
        x: img.values,
        y,
        shape,
        num_classes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx(elem: u8, dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut v = vec![0, 0, elem, dims.len() as u8];
        for d in dims {
            v.extend_from_slice(&d.to_be_bytes());
        }
        v.extend_from_slice(data);
        v
    }

    #[test]
    fn parses_u8_images() {
        let a = parse_idx(&idx(8, &[2, 1, 2], &[1, 2, 3, 4])).unwrap();
        assert_eq!(a.dims, vec![2, 1, 2]);
        assert_eq!(a.values, vec![1.0, 2.0, 3.0, 4.0]);
    }

    #[test]
    fn rejects_truncated_and_trailing_and_bad_magic() {
        let e = parse_idx(&idx(8, &[2, 2], &[1, 2, 3])).err().unwrap();
        assert!(e.contains("truncated"), "{e}");
        let e = parse_idx(&idx(8, &[1, 2], &[1, 2, 3])).err().unwrap();
        assert!(e.contains("trailing"), "{e}");
        assert!(parse_idx(&[1, 2, 3, 4]).is_err());
        assert!(parse_idx(&[0, 0]).is_err());
        assert!(parse_idx(&idx(0x42, &[1], &[1])).is_err());
    }
}
