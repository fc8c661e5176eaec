//! Pictures are side products of a run. A picture that cannot be drawn (a canvas over the
//! renderer's limit, a full disk, a font that will not load) is logged as a warning and noted
//! in the report; the models, the report, the export and the exit status never depend on one:
//! a run that trained for an hour must not end in exit 1 over a PNG.
use std::fmt::Display;

/// A picture the run did not draw, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Skipped {
    /// The file name, e.g. `tree.png`.
    pub file: String,
    pub reason: String,
}

impl Skipped {
    /// The line logged when it happens.
    pub fn warning(&self) -> String {
        format!("warning: {} not drawn: {}", self.file, self.reason)
    }

    /// The line `report.md` carries in the picture's place.
    pub fn note(&self) -> String {
        format!("*{} was skipped (not drawn: {}).*", self.file, self.reason)
    }
}

/// Whether a picture was drawn.
pub type Drawn = Result<(), Skipped>;

/// The markdown for a picture: its `link` when drawn, the note otherwise.
pub fn markdown(drawn: &Drawn, link: &str) -> String {
    match drawn {
        Ok(()) => link.to_string(),
        Err(s) => s.note(),
    }
}

/// Runs `draw` for the picture `file`; its failure becomes a [`Skipped`], never an error. The
/// reason is the error's message: give a [`crate::Error`] as its [`chain`](crate::error::chain),
/// so that its causes are in it.
pub fn draw<E: Display>(file: &str, draw: impl FnOnce() -> Result<(), E>) -> Drawn {
    draw().map_err(|e| Skipped {
        file: file.to_string(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::plots::PlotError;

    #[test]
    fn a_failed_picture_is_a_note_not_an_error() {
        assert_eq!(draw("a.png", || Ok::<(), PlotError>(())), Ok(()));
        let s = draw("tree.png", || {
            Err(PlotError::Input(
                "canvas 24276x328 is outside 1..=16384".into(),
            ))
        })
        .unwrap_err();
        assert_eq!(
            s.warning(),
            "warning: tree.png not drawn: bad plot input: canvas 24276x328 is outside 1..=16384"
        );
        assert!(
            s.note().starts_with("*tree.png was skipped"),
            "{}",
            s.note()
        );
        assert_eq!(markdown(&Err(s.clone()), "![t](tree.png)"), s.note());
        assert_eq!(markdown(&Ok(()), "![t](tree.png)"), "![t](tree.png)");
        let chained = draw("x.png", || {
            let full = std::io::Error::other("disk full");
            Err(crate::error::chain(
                &crate::Error::from(full).context("writing x.png"),
            ))
        })
        .unwrap_err();
        assert_eq!(chained.reason, "writing x.png: disk full");
    }
}
