//! Datasets: IDX (MNIST-style), CSV and `.ts` (UCR/UEA time series) loaders, the seeded
//! validation split and the input normalization that travels with every model.
mod csv;
mod idx;
mod labels;
mod split;
mod ts;

pub mod augment;
pub mod prepared;

use std::path::{Path, PathBuf};

pub use csv::load_csv;
pub use idx::{load_idx_pair, read_idx};
pub use labels::MAX_CLASSES;
pub use split::{Normalization, split_train_val, val_rows};
pub use ts::load_ts;

/// Errors while reading data files. Each names the file and what is wrong with it.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The OS error is in the message, so it is not also a `source()`: a printed chain
    /// would show it twice.
    #[error("{path}: cannot read: {cause}")]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{path}: {problem}")]
    Format { path: PathBuf, problem: String },
    #[error("no dataset found in {dir}: {hint}")]
    NotFound { dir: PathBuf, hint: String },
}

impl DataError {
    pub(crate) fn format(path: &Path, problem: impl Into<String>) -> Self {
        DataError::Format {
            path: path.to_path_buf(),
            problem: problem.into(),
        }
    }
}

/// A labelled set of samples, features row-major as f32 (raw values, not normalized).
#[derive(Debug, Clone)]
pub struct Dataset {
    pub x: Vec<f32>,
    pub y: Vec<u32>,
    /// Shape of one sample, e.g. `[1, 28, 28]` for images, `[64]` for a table or `[12, 25]`
    /// for a series of 12 channels and 25 steps (channels first, stored `[c][t]`).
    pub shape: Vec<usize>,
    pub num_classes: usize,
}

impl Dataset {
    pub fn len(&self) -> usize {
        self.y.len()
    }
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }
    pub fn features(&self) -> usize {
        self.shape.iter().product()
    }
    pub fn row(&self, i: usize) -> &[f32] {
        let f = self.features();
        &self.x[i * f..(i + 1) * f]
    }
    /// The samples at `idx`, in that order.
    pub fn select(&self, idx: &[usize]) -> Dataset {
        let f = self.features();
        let mut x = Vec::with_capacity(idx.len() * f);
        for &i in idx {
            x.extend_from_slice(self.row(i));
        }
        Dataset {
            x,
            y: idx.iter().map(|&i| self.y[i]).collect(),
            shape: self.shape.clone(),
            num_classes: self.num_classes,
        }
    }
    /// The first `n` samples (all of them when `n` is larger).
    pub fn take(&self, n: usize) -> Dataset {
        let idx: Vec<usize> = (0..n.min(self.len())).collect();
        self.select(&idx)
    }
}

/// Train and test sets plus class names, as loaded from one data directory.
#[derive(Debug, Clone)]
pub struct DataBundle {
    pub train: Dataset,
    pub test: Dataset,
    pub class_names: Vec<String>,
    /// Where the data came from, for the logs and the report.
    pub source: String,
}

pub const FASHION_MNIST_CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// Loads a data directory: IDX files (`train-images-idx3-ubyte[.gz]` and friends),
/// `train.csv` + `test.csv`, or a `.ts` pair (`NAME_TRAIN.ts` + `NAME_TEST.ts`, or `train.ts` +
/// `test.ts`). Optional `classes.txt` gives one class name per line (for `.ts`, it overrides
/// the files' `@classLabel` names).
pub fn load_dir(dir: &Path, label_column: &str) -> Result<DataBundle, DataError> {
    let mut names = None;
    let (train, test, test_labels) = if let Some(pair) = idx_pair(dir, "train")? {
        let test = idx_pair(dir, "t10k")?
            .or(idx_pair(dir, "test")?)
            .ok_or_else(|| DataError::NotFound {
                dir: dir.to_path_buf(),
                hint: "found train IDX files but no t10k-/test- images and labels".into(),
            })?;
        (
            load_idx_pair(&pair.0, &pair.1)?,
            load_idx_pair(&test.0, &test.1)?,
            test.1,
        )
    } else if dir.join("train.csv").exists() {
        let test_path = dir.join("test.csv");
        if !test_path.exists() {
            return Err(DataError::NotFound {
                dir: dir.to_path_buf(),
                hint: "train.csv is there but test.csv is missing".into(),
            });
        }
        (
            load_csv(&dir.join("train.csv"), label_column)?,
            load_csv(&test_path, label_column)?,
            test_path,
        )
    } else if let Some((train_path, test_path)) = ts::ts_pair(dir)? {
        let (train, test, classes) = ts::load_ts_pair(&train_path, &test_path)?;
        names = Some(classes);
        (train, test, test_path)
    } else {
        return Err(DataError::NotFound {
            dir: dir.to_path_buf(),
            hint: "expected train-images-idx3-ubyte[.gz] + train-labels-idx1-ubyte[.gz] \
                   (and t10k-*), train.csv + test.csv, or a .ts pair (NAME_TRAIN.ts + \
                   NAME_TEST.ts, or train.ts + test.ts)"
                .into(),
        });
    };
    if train.shape != test.shape {
        return Err(DataError::format(
            dir,
            format!(
                "train samples have shape {:?} but test samples {:?}",
                train.shape, test.shape
            ),
        ));
    }
    let num_classes = train.num_classes;
    if let Some((i, &bad)) = test
        .y
        .iter()
        .enumerate()
        .find(|(_, l)| **l as usize >= num_classes)
    {
        return Err(DataError::format(
            &test_labels,
            format!(
                "label {bad} at index {i} is out of range: the training labels are 0..{num_classes}"
            ),
        ));
    }
    let class_names = class_names(dir, num_classes, names)?;
    let mut train = train;
    let mut test = test;
    train.num_classes = num_classes;
    test.num_classes = num_classes;
    Ok(DataBundle {
        train,
        test,
        class_names,
        source: dir.display().to_string(),
    })
}

fn idx_pair(dir: &Path, prefix: &str) -> Result<Option<(PathBuf, PathBuf)>, DataError> {
    let find = |stem: &str| {
        [stem.to_string(), format!("{stem}.gz")]
            .into_iter()
            .map(|n| dir.join(n))
            .find(|p| p.exists())
    };
    match (
        find(&format!("{prefix}-images-idx3-ubyte")),
        find(&format!("{prefix}-labels-idx1-ubyte")),
    ) {
        (Some(i), Some(l)) => Ok(Some((i, l))),
        (None, None) => Ok(None),
        (Some(i), None) => Err(DataError::format(
            &i,
            "found images but no matching labels file",
        )),
        (None, Some(l)) => Err(DataError::format(
            &l,
            "found labels but no matching images file",
        )),
    }
}

/// `classes.txt` when present, else the names the files gave (`.ts`), else Fashion-MNIST's
/// for a `fashion` folder of 10 classes, else `class 0`, `class 1`, ….
fn class_names(
    dir: &Path,
    n: usize,
    from_files: Option<Vec<String>>,
) -> Result<Vec<String>, DataError> {
    let path = dir.join("classes.txt");
    if path.exists() {
        let text = std::fs::read_to_string(&path).map_err(|cause| DataError::Io {
            path: path.clone(),
            cause,
        })?;
        let names: Vec<String> = text.lines().map(|l| l.trim().to_string()).collect();
        if names.len() != n {
            return Err(DataError::format(
                &path,
                format!(
                    "lists {} class names but the labels have {n} classes",
                    names.len()
                ),
            ));
        }
        return Ok(names);
    }
    if let Some(names) = from_files {
        return Ok(names);
    }
    if n == FASHION_MNIST_CLASSES.len() && dir.to_string_lossy().contains("fashion") {
        return Ok(FASHION_MNIST_CLASSES
            .iter()
            .map(|s| s.to_string())
            .collect());
    }
    Ok((0..n).map(|i| format!("class {i}")).collect())
}
