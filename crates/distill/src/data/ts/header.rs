//! The `.ts` header: `@key value` lines up to `@data`. Keys are case-insensitive (aeon
//! lowercases them; files in the wild write both `@timeStamps` and `@timestamps`), and keys
//! distill has no use for are skipped, as aeon skips them.
use super::clip;
use crate::data::labels::check_class_count;

/// What the header says about the series, before any is read.
#[derive(Debug, Default)]
pub(super) struct Header {
    classes: Vec<String>,
    labelled: Option<bool>,
    univariate: Option<bool>,
    dimensions: Option<usize>,
    length: Option<usize>,
}

/// The header once `@data` is reached, checked as a whole: what every series must match.
#[derive(Debug)]
pub(super) struct Promise {
    /// The class names in `@classLabel` order: class index i is `classes[i]`.
    pub classes: Vec<String>,
    /// Dimensions per series and the header line that says so (`@dimensions`, `@univariate`).
    pub dims: Option<(usize, &'static str)>,
    /// Values per dimension (`@seriesLength`).
    pub length: Option<usize>,
}

impl Header {
    /// Reads one header line (trimmed, starting with `@`); `Ok(true)` at `@data`.
    pub fn read_line(&mut self, line: &str) -> Result<bool, String> {
        let mut tokens = line.split_whitespace();
        let tag = tokens.next().unwrap_or("@");
        let values: Vec<&str> = tokens.collect();
        let key = tag[1..].to_ascii_lowercase();
        match key.as_str() {
            "data" if values.is_empty() => return Ok(true),
            "data" => return Err("@data takes no value: the series start on the next line".into()),
            // `@missing` and `@equalLength` are informational: the data lines are checked one
            // by one (a `?` or a length that differs is refused where it is).
            "timestamps" | "targetlabel" | "missing" | "equallength" => {
                let on = flag(tag, &values)?;
                if on && key == "timestamps" {
                    return Err(format!(
                        "{tag} true: series with time stamps are not supported (only plain \
                         comma-separated values, one step after another)"
                    ));
                }
                if on && key == "targetlabel" {
                    return Err(format!(
                        "{tag} true: this is a regression set; distill trains classifiers and \
                         needs @classLabel true with the class names"
                    ));
                }
            }
            "univariate" => self.univariate = Some(flag(tag, &values)?),
            "dimensions" => self.dimensions = Some(count(tag, &values)?),
            "serieslength" => self.length = Some(count(tag, &values)?),
            "classlabel" => self.class_label(tag, &values)?,
            _ => {}
        }
        Ok(false)
    }

    fn class_label(&mut self, tag: &str, values: &[&str]) -> Result<(), String> {
        let Some((first, names)) = values.split_first() else {
            return Err(format!("{tag} takes true (then the class names) or false"));
        };
        if !first.eq_ignore_ascii_case("true") {
            flag(tag, &values[..1])?;
            self.labelled = Some(false);
            return Ok(());
        }
        if names.is_empty() {
            return Err(format!("{tag} true lists no class names"));
        }
        check_class_count(names.len()).map_err(|p| format!("{tag}: {p}"))?;
        for (i, name) in names.iter().enumerate() {
            if names[..i].contains(name) {
                return Err(format!("{tag} lists '{}' twice", clip(name)));
            }
        }
        self.labelled = Some(true);
        self.classes = names.iter().map(|s| s.to_string()).collect();
        Ok(())
    }

    /// The header as a whole, at `@data`.
    pub fn finish(self) -> Result<Promise, String> {
        match self.labelled {
            None => {
                return Err("no @classLabel line: distill needs the class names \
                            (@classLabel true <names…>)"
                    .into());
            }
            Some(false) => {
                return Err(
                    "@classLabel false: the series have no class labels, and distill \
                            trains on labelled data"
                        .into(),
                );
            }
            Some(true) => {}
        }
        let dims = match (self.univariate, self.dimensions) {
            (Some(true), Some(d)) if d != 1 => {
                return Err(format!(
                    "@univariate true but @dimensions {d}: the header contradicts itself"
                ));
            }
            (_, Some(d)) => Some((d, "@dimensions")),
            (Some(true), None) => Some((1, "@univariate true")),
            _ => None,
        };
        Ok(Promise {
            classes: self.classes,
            dims,
            length: self.length,
        })
    }
}

fn flag(tag: &str, values: &[&str]) -> Result<bool, String> {
    match values {
        [v] if v.eq_ignore_ascii_case("true") => Ok(true),
        [v] if v.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(format!(
            "{tag} takes true or false, not '{}'",
            clip(&values.join(" "))
        )),
    }
}

/// A positive whole number; only compared with what the lines hold, never used to size memory.
fn count(tag: &str, values: &[&str]) -> Result<usize, String> {
    match values {
        [v] => match v.parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!(
                "{tag} takes a positive whole number, not '{}'",
                clip(v)
            )),
        },
        _ => Err(format!(
            "{tag} takes one positive whole number, not '{}'",
            clip(&values.join(" "))
        )),
    }
}
