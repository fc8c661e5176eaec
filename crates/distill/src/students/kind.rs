//! The extension point for student kinds. Everything kind-specific (the network, its fast
//! step, how it is saved, its report section and pictures) sits behind [`Kind`] and
//! [`Student`] in the kind's folder, and so are its settings (the `[student.<name>]` table
//! of the experiment file) and its command-line flags ([`Flag`]); the pipeline only calls
//! these traits. A new kind is a folder under `students/` plus its line in [`KINDS`].
use std::path::Path;

use candle_core::Tensor;
use candle_nn::VarMap;
use rand_chacha::ChaCha8Rng;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::Config;
use crate::data::prepared::Prepared;
use crate::error::{Error, Result, bail};
use crate::nn::Classifier;
use crate::report::Report;
use crate::students::float_model::StudentMeta;

/// A picture of the saved KD student: its file name in the run folder and how to draw it
/// from that folder (it reads `student.safetensors`).
pub type Picture = (&'static str, fn(&Path) -> Result<()>);

/// A flag a kind adds to the main job: `--<name> VALUE` sets `student.<kind>.<key>`.
pub struct Flag {
    pub name: &'static str,
    pub key: &'static str,
    pub help: &'static str,
    pub value: FlagValue,
}

/// What a [`Flag`] takes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum FlagValue {
    /// One value, read as TOML (`6`, `0.5`, `true`) or else as a string.
    One,
    /// Comma-separated values, e.g. `256,64` (empty for none).
    List,
    /// No value: sets `true`.
    Switch,
}

/// What the pipeline asks of a student kind.
pub trait Kind: Sync {
    /// Its name: the value of `student.kind` and of its settings table `[student.<name>]`.
    fn name(&self) -> &'static str;

    /// Its settings table with every default filled in, or the error that names what is wrong
    /// in it (an unknown key, a value of the wrong type). The resolved config holds this form.
    fn settings(&self, table: &toml::Table) -> Result<toml::Table>;

    /// The flags it adds to the main job.
    fn flags(&self) -> &'static [Flag] {
        &[]
    }

    /// A fresh student with seeded parameters in `varmap`.
    fn build(
        &self,
        cfg: &Config,
        p: &Prepared,
        varmap: &VarMap,
        rng: &mut ChaCha8Rng,
    ) -> Result<Box<dyn Student>>;

    /// The size its int8 artifact will have, in bytes, without the container header.
    fn int8_bytes(&self, cfg: &Config, features: usize, classes: usize) -> Result<usize>;

    /// Its own section of `report.md`, after the common tables (none by default).
    fn report_section(&self, _md: &mut String, _r: &Report) -> Result<()> {
        Ok(())
    }

    /// Checks the settings a run of this kind needs (none by default).
    fn validate(&self, _cfg: &Config) -> Result<()> {
        Ok(())
    }

    /// Pictures drawn from the saved KD student; side products that never fail a run.
    fn pictures(&self) -> &'static [Picture] {
        &[]
    }
}

/// One trained (or training) student of a kind.
pub trait Student {
    fn classifier(&self) -> &dyn Classifier;

    /// Writes it to `path` in export's float format (the one writer of that format).
    fn save(&self, path: &Path, varmap: &VarMap, meta: &StudentMeta) -> Result<()>;

    /// What its test line adds about the device's prediction, given the test inputs (a
    /// tree: how many leaves the max path reaches).
    fn device_note(&self, _x: &Tensor) -> candle_core::Result<Option<String>> {
        Ok(None)
    }
}

/// The registry: the one place that names every kind.
pub const KINDS: &[&dyn Kind] = &[
    &super::mlp::MlpKind,
    &super::tree::TreeKind,
    &super::cnn::CnnKind,
];

/// Every kind's name, in registry order.
pub fn kind_names() -> Vec<&'static str> {
    KINDS.iter().map(|k| k.name()).collect()
}

/// The kind called `name`, or an error that lists the kinds there are.
pub fn kind_named(name: &str) -> Result<&'static dyn Kind> {
    KINDS
        .iter()
        .copied()
        .find(|k| k.name() == name)
        .ok_or_else(|| {
            Error::Config(format!(
                "student.kind: no student kind {name:?}; there are {}",
                kind_names().join(", ")
            ))
        })
}

/// The kind the config names (checked by `Config::validate`).
pub fn kind_of(cfg: &Config) -> Result<&'static dyn Kind> {
    kind_named(&cfg.student.kind)
}

/// A kind's typed settings from its table in `cfg` (the defaults when there is none): the
/// kind's implementation of [`Kind::settings`] and its accessor both go through here.
pub fn settings_of<T: DeserializeOwned + Default>(cfg: &Config, kind: &str) -> Result<T> {
    match cfg.student.kinds.get(kind) {
        Some(toml::Value::Table(t)) => parse_settings(kind, t),
        Some(_) => bail!(Config, "student.{kind} must be a table of {kind} settings"),
        None => Ok(T::default()),
    }
}

/// `table` read as `T`, the error prefixed with the table's name.
pub fn parse_settings<T: DeserializeOwned>(kind: &str, table: &toml::Table) -> Result<T> {
    T::deserialize(toml::Value::Table(table.clone())).map_err(|e| {
        Error::Config(format!(
            "[student.{kind}]: {}",
            e.to_string().trim().replace('\n', " ")
        ))
    })
}

/// `value` written back as kind `kind`'s table of `cfg` (for commands that vary a setting).
pub fn store_settings<T: Serialize>(cfg: &mut Config, kind: &str, value: &T) -> Result<()> {
    let toml::Value::Table(t) = toml::Value::try_from(value)? else {
        bail!(
            Internal,
            "[student.{kind}]: settings must serialize to a table"
        )
    };
    cfg.student.kinds.insert(kind.to_string(), t.into());
    Ok(())
}

/// The settings table of a kind whose settings type is `T`: parsed, then written back with
/// the defaults filled in.
pub fn normalized<T: DeserializeOwned + Serialize>(
    kind: &str,
    table: &toml::Table,
) -> Result<toml::Table> {
    let v: T = parse_settings(kind, table)?;
    match toml::Value::try_from(&v)? {
        toml::Value::Table(t) => Ok(t),
        _ => bail!(
            Internal,
            "[student.{kind}]: settings must serialize to a table"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_flags_are_unique_across_kinds() {
        let mut names = kind_names();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), KINDS.len());
        let mut flags: Vec<_> = KINDS
            .iter()
            .flat_map(|k| k.flags())
            .map(|f| f.name)
            .collect();
        let n = flags.len();
        flags.sort_unstable();
        flags.dedup();
        assert_eq!(flags.len(), n, "two kinds declare the same flag");
    }

    #[test]
    fn every_kind_fills_its_defaults_and_rejects_unknown_keys() {
        for k in KINDS {
            let filled = k.settings(&toml::Table::new()).unwrap();
            assert_eq!(k.settings(&filled).unwrap(), filled, "{}", k.name());
            let mut bad = filled.clone();
            bad.insert("no_such_setting".into(), toml::Value::Integer(1));
            let e = k.settings(&bad).unwrap_err().to_string();
            assert!(e.contains("no_such_setting") && e.contains(k.name()), "{e}");
        }
    }
}
