//! CSV tables for sensor-style data: a header row, numeric feature columns and one integer
//! label column (by name). The feature count comes from the file.
use std::path::Path;

use super::labels::{check_label, class_count};
use super::{DataError, Dataset};

pub fn load_csv(path: &Path, label_column: &str) -> Result<Dataset, DataError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| csv_error(path, e))?;
    let headers = reader.headers().map_err(|e| csv_error(path, e))?.clone();
    let label_at = headers
        .iter()
        .position(|h| h == label_column)
        .ok_or_else(|| {
            DataError::format(
                path,
                format!("no label column named '{label_column}' in the header {headers:?}"),
            )
        })?;
    let features = headers.len() - 1;
    if features == 0 {
        return Err(DataError::format(path, "the table has no feature columns"));
    }
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for (row, record) in reader.records().enumerate() {
        let line = row + 2; // 1-based, after the header
        let record = record.map_err(|e| csv_error(path, e))?;
        for (col, field) in record.iter().enumerate() {
            if col == label_at {
                // u64 so that a label past u32 (a misaligned column, say) is reported as out
                // of range rather than as unparsable.
                let label: u64 = field.parse().map_err(|_| {
                    DataError::format(
                        path,
                        format!("line {line}: label '{field}' is not a non-negative integer"),
                    )
                })?;
                let label = check_label(label as f64).map_err(|problem| {
                    DataError::format(path, format!("line {line}: {problem}"))
                })?;
                y.push(label);
                continue;
            }
            let v: f32 = field.parse().map_err(|_| {
                DataError::format(
                    path,
                    format!(
                        "line {line}, column '{}': '{field}' is not a number",
                        &headers[col]
                    ),
                )
            })?;
            if !v.is_finite() {
                return Err(DataError::format(
                    path,
                    format!(
                        "line {line}, column '{}': value {v} is not finite",
                        &headers[col]
                    ),
                ));
            }
            x.push(v);
        }
    }
    if y.is_empty() {
        return Err(DataError::format(
            path,
            "the table has a header but no rows",
        ));
    }
    let num_classes = class_count(&y);
    Ok(Dataset {
        x,
        y,
        shape: vec![features],
        num_classes,
    })
}

fn csv_error(path: &Path, e: csv::Error) -> DataError {
    DataError::format(path, format!("malformed CSV: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        std::fs::write(&p, text).unwrap();
        (dir, p)
    }

    #[test]
    fn reads_any_width_with_label_anywhere() {
        let (_d, p) = write("a,label,b\n1,0,2\n3,2,4.5\n");
        let d = load_csv(&p, "label").unwrap();
        assert_eq!(d.shape, vec![2]);
        assert_eq!(d.x, vec![1.0, 2.0, 3.0, 4.5]);
        assert_eq!(d.y, vec![0, 2]);
        assert_eq!(d.num_classes, 3);
    }

    #[test]
    fn names_the_problem() {
        let (_d, p) = write("a,label\n1,x\n");
        let e = load_csv(&p, "label").unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("'x'"), "{e}");
        let (_d, p) = write("a,label\n1,0\n2\n");
        let e = load_csv(&p, "label").unwrap_err().to_string();
        assert!(e.contains("malformed"), "{e}");
        let (_d, p) = write("a,b\n1,0\n");
        assert!(
            load_csv(&p, "label")
                .unwrap_err()
                .to_string()
                .contains("no label column")
        );
        let (_d, p) = write("a,label\nNaN,0\n");
        assert!(
            load_csv(&p, "label")
                .unwrap_err()
                .to_string()
                .contains("not finite")
        );
    }

    #[test]
    fn bounds_labels_by_the_device_class_count() {
        for big in ["2000000000", "4294967295", "256"] {
            let (_d, p) = write(&format!("a,label\n1,0\n2,1\n3,{big}\n"));
            let e = load_csv(&p, "label").unwrap_err().to_string();
            let want = format!(
                "t.csv: line 4: label {big} is out of range: at most 256 classes (labels 0..=255)"
            );
            assert!(e.ends_with(&want), "{e}");
        }
        let (_d, p) = write("a,label\n1,0\n2,255\n");
        let d = load_csv(&p, "label").unwrap();
        assert_eq!((d.y.clone(), d.num_classes), (vec![0, 255], 256));
    }
}
