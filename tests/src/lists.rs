//! The committed, hand-reviewed lists under `fixtures/`: accuracy floors and known divergences.
//! One entry per line, fields separated by spaces; `#` starts a comment.

use std::collections::BTreeSet;
use std::path::Path;

use runtime_nostd::format::onnx::{CLASS, LEAF, LOGITS, X_Q};

use crate::compare::Comparison;
use crate::error::{Error, Result};

/// The int8 accuracy a fixture must keep on the committed test set.
#[derive(Debug, Clone, PartialEq)]
pub struct Floor {
    pub fixture: String,
    /// Test inputs the floor was measured on (the first ones of the committed set).
    pub rows: usize,
    /// Percent.
    pub percent: f64,
}

/// Where the engines are known to differ: `what` is one of [`KINDS`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Divergence {
    pub fixture: String,
    pub sample: usize,
    pub what: String,
}

/// What a divergence is about, by the ONNX twin's output names (`format::onnx`): a tree's
/// `logits` are its `leaf_probs` as p − 128, compared with runtime-nostd's; `leaf`: trees only.
pub const KINDS: [&str; 4] = [X_Q, LOGITS, CLASS, LEAF];

/// Non-empty, non-comment lines as (line number, fields).
fn entries(path: &Path) -> Result<Vec<(usize, Vec<String>)>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    Ok(text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.split('#').next().unwrap_or("")))
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| (i, l.split_whitespace().map(String::from).collect()))
        .collect())
}

fn parse<T: std::str::FromStr>(path: &Path, line: usize, field: &str, what: &str) -> Result<T> {
    field.parse().map_err(|_| Error::List {
        path: path.to_path_buf(),
        line,
        reason: format!("{what} {field:?} is not a number"),
    })
}

fn arity(path: &Path, line: usize, fields: &[String], want: usize) -> Result<()> {
    if fields.len() == want {
        return Ok(());
    }
    Err(Error::List {
        path: path.to_path_buf(),
        line,
        reason: format!("expected {want} fields, found {}", fields.len()),
    })
}

/// Reads `<fixture> <rows> <percent>` lines.
pub fn floors(path: &Path) -> Result<Vec<Floor>> {
    entries(path)?
        .into_iter()
        .map(|(line, f)| {
            arity(path, line, &f, 3)?;
            Ok(Floor {
                fixture: f[0].clone(),
                rows: parse(path, line, &f[1], "rows")?,
                percent: parse(path, line, &f[2], "percent")?,
            })
        })
        .collect()
}

/// Reads `<fixture> <sample> <x_q|logits|class|leaf>` lines (`leaf`: trees only).
pub fn divergences(path: &Path) -> Result<BTreeSet<Divergence>> {
    entries(path)?
        .into_iter()
        .map(|(line, f)| {
            arity(path, line, &f, 3)?;
            if !KINDS.contains(&f[2].as_str()) {
                return Err(Error::List {
                    path: path.to_path_buf(),
                    line,
                    reason: format!("unknown divergence kind {:?}", f[2]),
                });
            }
            Ok(Divergence {
                fixture: f[0].clone(),
                sample: parse(path, line, &f[1], "sample")?,
                what: f[2].clone(),
            })
        })
        .collect()
}

/// The divergences a comparison observed, in the list's terms.
pub fn observed(fixture: &str, c: &Comparison) -> BTreeSet<Divergence> {
    let kinds = [
        (X_Q, &c.x_q_samples),
        (LOGITS, &c.logit_samples),
        (CLASS, &c.class_samples),
        (LEAF, &c.leaf_samples),
    ];
    kinds
        .into_iter()
        .flat_map(|(what, samples)| {
            samples.iter().map(move |&sample| Divergence {
                fixture: fixture.into(),
                sample,
                what: what.into(),
            })
        })
        .collect()
}
