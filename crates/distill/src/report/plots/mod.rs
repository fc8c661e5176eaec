//! PNG plots: training curves, confusion matrix, image grids (filters / explanations); this
//! module holds what they share (font, colours, errors, atomic writing, text helpers).
//!
//! plotters is built without fontconfig/freetype (a bare machine must build it), so text goes
//! through ab_glyph with DejaVu Sans embedded by the `dejavu` crate; every entry point calls
//! `register_font` first because drawing with an unregistered font is an error. Each file is
//! rendered to export's temporary name for it (`fsutil::tmp_path`, which keeps the `.png`
//! the encoder picks the format from), then synced and renamed (`fsutil::persist`), so a
//! failed or interrupted run never leaves a half-written plot under the final name.

use std::path::Path;
use std::sync::OnceLock;

use export::fsutil;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

mod confusion;
mod curves;
mod grid;
#[cfg(test)]
mod tests;

pub use confusion::confusion_matrix;
pub use curves::training_curves;
pub use grid::image_grid;

pub(crate) const FONT: &str = "sans-serif";
/// Largest canvas side we render: the bitmap is held in memory before it is encoded.
pub(crate) const MAX_SIDE: usize = 16_384;
/// Tableau colours: distinguishable, also with red-green colour blindness.
pub(crate) const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];
/// Colour-map ends: ColorBrewer RdBu for signed tiles, Blues for the confusion matrix.
pub(crate) const NEG: [f64; 3] = [33.0, 102.0, 172.0];
pub(crate) const POS: [f64; 3] = [178.0, 24.0, 43.0];
const HEAT: [f64; 3] = [8.0, 48.0, 107.0];
pub(crate) const GREY: RGBColor = RGBColor(100, 100, 100);

#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("the embedded DejaVu Sans font could not be parsed")]
    Font,
    #[error("nothing to plot: {0}")]
    Empty(&'static str),
    #[error("bad plot input: {0}")]
    Input(String),
    #[error("drawing failed: {0}")]
    Draw(String),
    #[error("writing the plot: {0}")]
    Write(#[source] export::ExportError),
}

pub(crate) fn de(e: impl std::fmt::Display) -> PlotError {
    PlotError::Draw(e.to_string())
}

/// Registers DejaVu Sans as "sans-serif"; parses the TTF only once, later calls are free.
pub fn register_font() -> Result<(), PlotError> {
    static OK: OnceLock<bool> = OnceLock::new();
    let ttf = dejavu::sans::regular();
    let ok =
        *OK.get_or_init(|| plotters::style::register_font(FONT, FontStyle::Normal, ttf).is_ok());
    if ok { Ok(()) } else { Err(PlotError::Font) }
}

pub struct Curve {
    pub label: String,
    pub points: Vec<(f64, f64)>,
}

pub struct Tile {
    pub caption: String,
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<f32>,
}

pub(crate) type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// Renders `draw` onto a white `w`×`h` canvas at `path`'s temporary name, then syncs and
/// renames it to `path`.
pub(crate) fn write_atomic<F>(path: &Path, (w, h): (usize, usize), draw: F) -> Result<(), PlotError>
where
    F: FnOnce(&Area) -> Result<(), PlotError>,
{
    register_font()?;
    let shown = path.display().to_string();
    if path.file_stem().is_none() {
        return Err(PlotError::Input(format!("{shown} has no file name")));
    }
    if !(1..=MAX_SIDE).contains(&w) || !(1..=MAX_SIDE).contains(&h) {
        return Err(PlotError::Input(format!(
            "canvas {w}x{h} is outside 1..={MAX_SIDE}"
        )));
    }
    let tmp = fsutil::tmp_path(path);
    let drawn = (|| {
        let root = BitMapBackend::new(&tmp, (w as u32, h as u32)).into_drawing_area();
        root.fill(&WHITE).map_err(de)?;
        draw(&root)?;
        root.present().map_err(de)
    })(); // on error the backend's Drop may still save a partial tmp file: removed below
    match drawn {
        // persist removes the temporary file itself if it fails.
        Ok(()) => fsutil::persist(&tmp, path).map_err(PlotError::Write),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(match e {
                PlotError::Draw(m) => PlotError::Draw(format!("{shown}: {m}")),
                e => e,
            })
        }
    }
}

pub(crate) fn style(size: f64, ink: RGBColor, h: HPos, v: VPos) -> TextStyle<'static> {
    // Built field by field: `TextStyle::color` would tie the style to a borrow of the colour.
    TextStyle {
        font: (FONT, size).into_font(),
        color: ink.to_backend_color(),
        pos: Pos::new(h, v),
    }
}

pub(crate) fn put(
    root: &Area,
    s: &str,
    at: (usize, usize),
    st: &TextStyle,
) -> Result<(), PlotError> {
    root.draw(&Text::new(s, (at.0 as i32, at.1 as i32), st.clone()))
        .map_err(de)
}

/// Rectangle from `a` to `b` (exclusive), filled or outlined per `st`.
pub(crate) fn rect(
    root: &Area,
    a: (usize, usize),
    b: (usize, usize),
    st: ShapeStyle,
) -> Result<(), PlotError> {
    let corners = [(a.0 as i32, a.1 as i32), (b.0 as i32, b.1 as i32)];
    root.draw(&Rectangle::new(corners, st)).map_err(de)
}

pub(crate) fn width(text: &str, size: f64) -> Result<usize, PlotError> {
    Ok((FONT, size).into_font().box_size(text).map_err(de)?.0 as usize)
}

/// Shortens `text` with an ellipsis until it fits in `max_px` at `size`.
pub(crate) fn fit(text: &str, size: f64, max_px: usize) -> Result<String, PlotError> {
    let (mut chars, mut s) = (text.chars().collect::<Vec<_>>(), text.to_string());
    while width(&s, size)? > max_px && chars.pop().is_some() {
        s = chars.iter().collect::<String>() + "…";
    }
    Ok(s)
}

/// White at `t` = 0, `end` at `t` = 1.
pub(crate) fn ramp(end: [f64; 3], t: f64) -> RGBColor {
    let c = |i: usize| (255.0 - (255.0 - end[i]) * t.clamp(0.0, 1.0)).round() as u8;
    RGBColor(c(0), c(1), c(2))
}
