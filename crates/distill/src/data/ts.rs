//! The UCR/UEA archive's `.ts` format (sktime, aeon): `@` header lines up to `@data`, then one
//! series a line — its dimensions separated by `:`, each dimension's values by `,`, the class
//! label last. Lines starting with `#` are comments.
//!
//! A sample has shape `[C, T]`: channels (the file's dimensions) first, like an image's
//! `[C, H, W]` and PyTorch's `Conv1d` input, stored row-major as `[c][t]`. Classes are the
//! `@classLabel` names, indexed in the order listed there. What cannot train as it is, is
//! refused by file and line: unequal lengths, missing values, time stamps, regression targets.
mod header;
mod pair;
#[cfg(test)]
mod tests;

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use super::{DataError, Dataset};
use header::{Header, Promise};
pub(super) use pair::{load_ts_pair, ts_pair};

/// Reads one `.ts` file: the samples (`shape = [C, T]`) and the class names of `@classLabel`.
pub fn load_ts(path: &Path) -> Result<(Dataset, Vec<String>), DataError> {
    let io = |cause| DataError::Io {
        path: path.to_path_buf(),
        cause,
    };
    let at = |n: usize, problem: String| DataError::format(path, format!("line {n}: {problem}"));
    let mut lines = BufReader::new(File::open(path).map_err(io)?)
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l));
    let mut next = || -> Result<Option<(usize, String)>, DataError> {
        for (n, line) in lines.by_ref() {
            let line = line.map_err(|e| match e.kind() {
                std::io::ErrorKind::InvalidData => at(n, "not UTF-8 text".into()),
                _ => io(e),
            })?;
            let t = line.trim();
            if !t.is_empty() && !t.starts_with('#') {
                return Ok(Some((n, t.to_string())));
            }
        }
        Ok(None)
    };
    let (mut header, mut data_at, mut any) = (Header::default(), None, false);
    while let Some((n, line)) = next()? {
        any = true;
        if !line.starts_with('@') {
            let problem = format!(
                "'{}' before @data: header lines start with '@'",
                clip(&line)
            );
            return Err(at(n, problem));
        }
        if header.read_line(&line).map_err(|p| at(n, p))? {
            data_at = Some(n);
            break;
        }
    }
    let Some(data_at) = data_at else {
        let problem = match any {
            true => "the header ends without @data: no series follow",
            false => "the file is empty",
        };
        return Err(DataError::format(path, problem));
    };
    let promise = header.finish().map_err(|p| at(data_at, p))?;
    let mut rows = Rows::new(&promise);
    while let Some((n, line)) = next()? {
        rows.push(n, &line).map_err(|p| at(n, p))?;
    }
    // Both are known once a series is read (the header may give them without one).
    let (Some((c, _)), Some((t, _)), false) = (rows.dims, rows.length, rows.y.is_empty()) else {
        let problem = format!("no series after @data (line {data_at})");
        return Err(DataError::format(path, problem));
    };
    let data = Dataset {
        x: rows.x,
        y: rows.y,
        shape: vec![c, t],
        num_classes: promise.classes.len(),
    };
    Ok((data, promise.classes))
}

/// The series read so far, and the dimensions and length every later one must match (with
/// where each came from, for the message).
struct Rows<'a> {
    promise: &'a Promise,
    dims: Option<(usize, String)>,
    length: Option<(usize, String)>,
    x: Vec<f32>,
    y: Vec<u32>,
}

impl<'a> Rows<'a> {
    fn new(promise: &'a Promise) -> Self {
        Rows {
            promise,
            dims: promise.dims.map(|(d, from)| (d, from.to_string())),
            length: promise.length.map(|l| (l, "@seriesLength".to_string())),
            x: Vec::new(),
            y: Vec::new(),
        }
    }

    /// One data line `n` (trimmed, not empty).
    fn push(&mut self, n: usize, line: &str) -> Result<(), String> {
        let (series, label) = line.rsplit_once(':').ok_or(
            "no ':' before a class label: the line is truncated or its series has no label",
        )?;
        let parts: Vec<&str> = series.split(':').collect();
        let (want, from) = self
            .dims
            .get_or_insert_with(|| (parts.len(), format!("the first series (line {n})")));
        if parts.len() != *want {
            return Err(format!(
                "{} dimensions where {from} has {want} (a truncated line?)",
                parts.len()
            ));
        }
        for (c, part) in parts.iter().enumerate() {
            let before = self.x.len();
            for (t, v) in part.split(',').enumerate() {
                let v =
                    value(v).map_err(|p| format!("dimension {}, value {}: {p}", c + 1, t + 1))?;
                self.x.push(v);
            }
            let len = self.x.len() - before;
            let (want, from) = self
                .length
                .get_or_insert_with(|| (len, format!("the first series (line {n})")));
            if len != *want {
                return Err(format!(
                    "dimension {} has {len} values where {from} has {want}: only equal-length \
                     series are supported (aeon ships equal-length `_eq_` versions of some \
                     unequal-length sets, e.g. JapaneseVowels_eq_TRAIN.ts), or the line is \
                     truncated",
                    c + 1
                ));
            }
        }
        let label = label.trim();
        if label.is_empty() {
            return Err("no class label after the last ':' (a truncated line?)".into());
        }
        let classes = &self.promise.classes;
        let index = classes.iter().position(|c| c == label).ok_or_else(|| {
            format!(
                "class label '{}' is not in @classLabel ({})",
                clip(label),
                listed(classes)
            )
        })?;
        // `Header` bounded the class count by `MAX_CLASSES`, so the index fits.
        self.y.push(index as u32);
        Ok(())
    }
}

fn value(s: &str) -> Result<f32, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty value (a truncated line?)".into());
    }
    let missing = || format!("missing value '{s}': series with missing values are not supported");
    if s == "?" {
        return Err(missing());
    }
    let v: f32 = s
        .parse()
        .map_err(|_| format!("'{}' is not a number", clip(s)))?;
    if v.is_nan() {
        return Err(missing());
    }
    if !v.is_finite() {
        return Err(format!("'{}' is not a finite f32", clip(s)));
    }
    Ok(v)
}

/// At most 40 characters of `s`, for messages about text that may be a whole line.
fn clip(s: &str) -> String {
    match s.char_indices().nth(40) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// The class names for a message, the first 10 of them.
fn listed(classes: &[String]) -> String {
    let shown: Vec<String> = classes.iter().take(10).map(|c| clip(c)).collect();
    let more = if classes.len() > 10 { " …" } else { "" };
    format!("{}{more}", shown.join(" "))
}
