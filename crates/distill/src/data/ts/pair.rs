//! A `.ts` set on disk: which two files of a folder are its training and test split, and the
//! test file's labels in the training file's class order.
use std::path::{Path, PathBuf};

use super::{clip, listed, load_ts};
use crate::data::{DataError, Dataset};

/// The `.ts` pair in `dir`: `train.ts` + `test.ts`, or exactly one `*_TRAIN.ts` and one
/// `*_TEST.ts` (the UCR/UEA archive's naming); `None` when `dir` holds no `.ts` training file.
pub(in crate::data) fn ts_pair(dir: &Path) -> Result<Option<(PathBuf, PathBuf)>, DataError> {
    let missing = |hint: String| DataError::NotFound {
        dir: dir.to_path_buf(),
        hint,
    };
    if dir.join("train.ts").exists() {
        return match dir.join("test.ts") {
            p if p.exists() => Ok(Some((dir.join("train.ts"), p))),
            _ => Err(missing("train.ts is there but test.ts is missing".into())),
        };
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(None);
    };
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with("_TRAIN.ts") {
            train.push(name);
        } else if name.ends_with("_TEST.ts") {
            test.push(name);
        }
    }
    train.sort();
    test.sort();
    match (train.as_slice(), test.as_slice()) {
        ([], []) => Ok(None),
        ([a], [b]) => Ok(Some((dir.join(a), dir.join(b)))),
        _ => Err(missing(format!(
            "a .ts set needs exactly one *_TRAIN.ts and one *_TEST.ts, found [{}] and [{}]",
            train.join(", "),
            test.join(", ")
        ))),
    }
}

/// Loads a `.ts` pair: train, test (its labels mapped to the training file's class indices)
/// and the training file's class names.
pub(in crate::data) fn load_ts_pair(
    train: &Path,
    test: &Path,
) -> Result<(Dataset, Dataset, Vec<String>), DataError> {
    let (train_set, classes) = load_ts(train)?;
    let (mut test_set, test_classes) = load_ts(test)?;
    let mut map = Vec::with_capacity(test_classes.len());
    for name in &test_classes {
        map.push(classes.iter().position(|c| c == name));
    }
    for (i, y) in test_set.y.iter_mut().enumerate() {
        let Some(k) = map[*y as usize] else {
            let name = &test_classes[*y as usize];
            return Err(DataError::format(
                test,
                format!(
                    "series {} has class '{}', which the training file's @classLabel ({}) \
                     does not list",
                    i + 1,
                    clip(name),
                    listed(&classes)
                ),
            ));
        };
        *y = k as u32;
    }
    test_set.num_classes = classes.len();
    Ok((train_set, test_set, classes))
}
