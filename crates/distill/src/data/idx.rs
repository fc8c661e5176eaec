//! IDX files (the MNIST container): `[0, 0, dtype, ndim]`, `ndim` big-endian u32 sizes, data.
//! Gzip is detected from the magic bytes, not the file name.
use std::io::Read;
use std::path::Path;

use super::labels::{check_label, class_count};
use super::{DataError, Dataset};

/// A decoded IDX array: its dimensions and values as f32.
pub struct IdxArray {
    pub dims: Vec<usize>,
    pub values: Vec<f32>,
}

/// Reads an IDX file with its values as f32 (images: 8-bit pixels and floats are exact).
pub fn read_idx(path: &Path) -> Result<IdxArray, DataError> {
    let (dims, values) = read_idx_as(path, |v| v as f32)?;
    Ok(IdxArray { dims, values })
}

/// Labels are read as f64, which holds every IDX integer and float exactly, so an
/// out-of-range label is reported as written in the file, not as its nearest f32.
fn read_idx_labels(path: &Path) -> Result<(Vec<usize>, Vec<f64>), DataError> {
    read_idx_as(path, |v| v)
}

fn read_idx_as<T>(path: &Path, conv: fn(f64) -> T) -> Result<(Vec<usize>, Vec<T>), DataError> {
    let raw = std::fs::read(path).map_err(|cause| DataError::Io {
        path: path.to_path_buf(),
        cause,
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
    parse_idx(&bytes, conv).map_err(|problem| DataError::format(path, problem))
}

fn parse_idx<T>(bytes: &[u8], conv: fn(f64) -> T) -> Result<(Vec<usize>, Vec<T>), String> {
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
        0x08 => data.iter().map(|&b| conv(f64::from(b))).collect(),
        0x09 => data.iter().map(|&b| conv(f64::from(b as i8))).collect(),
        0x0B => data
            .chunks_exact(2)
            .map(|c| conv(f64::from(i16::from_be_bytes([c[0], c[1]]))))
            .collect(),
        0x0C => data
            .chunks_exact(4)
            .map(|c| conv(f64::from(i32::from_be_bytes([c[0], c[1], c[2], c[3]]))))
            .collect(),
        0x0D => data
            .chunks_exact(4)
            .map(|c| conv(f64::from(f32::from_be_bytes([c[0], c[1], c[2], c[3]]))))
            .collect(),
        _ => data
            .chunks_exact(8)
            .map(|c| conv(f64::from_be_bytes(c.try_into().unwrap_or([0; 8]))))
            .collect(),
    };
    Ok((dims, values))
}

/// Loads an images file and its labels file into a dataset; any image size, any class count.
pub fn load_idx_pair(images: &Path, labels: &Path) -> Result<Dataset, DataError> {
    let img = read_idx(images)?;
    let (lab_dims, lab_values) = read_idx_labels(labels)?;
    if lab_dims.len() != 1 {
        return Err(DataError::format(
            labels,
            format!(
                "labels must be one-dimensional, found dimensions {:?}",
                lab_dims
            ),
        ));
    }
    let n = img.dims[0];
    if lab_dims[0] != n {
        return Err(DataError::format(
            labels,
            format!(
                "{} labels for {n} images in {}",
                lab_dims[0],
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
    let y = lab_values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            check_label(v)
                .map_err(|problem| DataError::format(labels, format!("index {i}: {problem}")))
        })
        .collect::<Result<Vec<u32>, _>>()?;
    let num_classes = class_count(&y);
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
        let (dims, values) = parse_idx(&idx(8, &[2, 1, 2], &[1, 2, 3, 4]), |v| v as f32).unwrap();
        assert_eq!(dims, vec![2, 1, 2]);
        assert_eq!(values, vec![1.0, 2.0, 3.0, 4.0]);
    }

    #[test]
    fn rejects_truncated_and_trailing_and_bad_magic() {
        let parse = |b: &[u8]| parse_idx(b, |v| v as f32).map(|_| ());
        let e = parse(&idx(8, &[2, 2], &[1, 2, 3])).unwrap_err();
        assert!(e.contains("truncated"), "{e}");
        let e = parse(&idx(8, &[1, 2], &[1, 2, 3])).unwrap_err();
        assert!(e.contains("trailing"), "{e}");
        assert!(parse(&[1, 2, 3, 4]).is_err());
        assert!(parse(&[0, 0]).is_err());
        assert!(parse(&idx(0x42, &[1], &[1])).is_err());
    }

    /// Two 1x1 images and a labels file of `elem` holding 0 and `last` (big-endian bytes).
    fn pair_with(elem: u8, last: &[u8]) -> (tempfile::TempDir, Result<Dataset, DataError>) {
        let dir = tempfile::tempdir().unwrap();
        let (images, labels) = (dir.path().join("img"), dir.path().join("lab"));
        std::fs::write(&images, idx(8, &[2, 1, 1], &[7, 9])).unwrap();
        let mut data = vec![0; last.len()];
        data.extend_from_slice(last);
        std::fs::write(&labels, idx(elem, &[2], &data)).unwrap();
        let d = load_idx_pair(&images, &labels);
        (dir, d)
    }

    #[test]
    fn bounds_labels_by_the_device_class_count() {
        let cases: [(u8, Vec<u8>, &str); 4] = [
            (0x0C, 2_000_000_000i32.to_be_bytes().to_vec(), "2000000000"),
            (0x0E, 4_294_967_295f64.to_be_bytes().to_vec(), "4294967295"),
            (0x0C, (-1i32).to_be_bytes().to_vec(), "-1"),
            (0x0B, 256i16.to_be_bytes().to_vec(), "256"),
        ];
        for (elem, bytes, shown) in cases {
            let (_d, got) = pair_with(elem, &bytes);
            let e = got.unwrap_err().to_string();
            let want = format!(
                "lab: index 1: label {shown} is out of range: at most 256 classes (labels 0..=255)"
            );
            assert!(e.ends_with(&want), "{e}");
        }
        let (_d, got) = pair_with(0x0B, &255i16.to_be_bytes());
        let d = got.unwrap();
        assert_eq!((d.y.clone(), d.num_classes), (vec![0, 255], 256));
        let (_d, got) = pair_with(0x0D, &1.5f32.to_be_bytes());
        assert!(got.unwrap_err().to_string().contains("not a whole number"));
    }
}
