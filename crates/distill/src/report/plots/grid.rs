//! Signed images in a grid (filters, explanations).
use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::*;

/// Tiles in a grid of `cols` columns; each maps -max|v| → blue, 0 → white, +max|v| → red with
/// its own max|v| (printed under the caption). NaN/inf pixels are grey rather than hidden.
pub fn image_grid(path: &Path, title: &str, images: &[Tile], cols: usize) -> Result<(), PlotError> {
    if images.is_empty() {
        return Err(PlotError::Empty("image_grid: no tiles"));
    }
    if cols == 0 {
        let msg = "image_grid: cols must be at least 1";
        return Err(PlotError::Input(msg.into()));
    }
    for (i, t) in images.iter().enumerate() {
        if t.width == 0 || t.height == 0 || t.width.checked_mul(t.height) != Some(t.pixels.len()) {
            let (n, w, h, cap) = (t.pixels.len(), t.width, t.height, &t.caption);
            let msg = format!("image_grid: tile {i} ({cap:?}) has {n} pixels for {w}x{h}");
            return Err(PlotError::Input(msg));
        }
    }
    register_font()?;
    let (cols, big) = (cols.min(images.len()), MAX_SIDE + 1); // oversize: write_atomic errs
    let rows = images.len().div_ceil(cols);
    let tw = images.iter().map(|t| t.width).max().unwrap_or(1).min(big);
    let th = images.iter().map(|t| t.height).max().unwrap_or(1).min(big);
    let scale = (128 / tw.max(th)).max(1); // 28x28 tiles become 112 px
    let (cw, ch) = ((tw * scale).max(130) + 16, th * scale + 52);
    let w = (cols * cw + 16).max(width(title, 24.0)? + 40).min(big);
    let h = (rows * ch + 68).min(big);
    write_atomic(path, (w, h), |root| {
        let (centre, below) = (HPos::Center, VPos::Top);
        let cap_st = style(14.0, BLACK, centre, below);
        let note_st = style(12.0, GREY, centre, below);
        put(
            root,
            title,
            (w / 2, 28),
            &style(24.0, BLACK, centre, VPos::Center),
        )?;
        for (i, t) in images.iter().enumerate() {
            let (cx, y0) = (8 + (i % cols) * cw + cw / 2, 60 + (i / cols) * ch);
            let x0 = cx - t.width * scale / 2;
            let finite = t.pixels.iter().filter(|v| v.is_finite());
            let m = finite.fold(0f32, |m, v| m.max(v.abs()));
            for (k, &v) in t.pixels.iter().enumerate() {
                let t_v = f64::from(v / m.max(f32::MIN_POSITIVE));
                let color = match v.is_finite() {
                    false => RGBColor(128, 128, 128),
                    true => ramp(if v < 0.0 { NEG } else { POS }, t_v.abs()),
                };
                let (x, y) = (x0 + (k % t.width) * scale, y0 + (k / t.width) * scale);
                rect(root, (x, y), (x + scale, y + scale), color.filled())?;
            }
            // A frame, because zero-valued borders are white on white.
            let (x1, y1) = (x0 + t.width * scale, y0 + t.height * scale);
            rect(
                root,
                (x0 - 1, y0 - 1),
                (x1, y1),
                RGBColor(160, 160, 160).into(),
            )?;
            let base = y0 + th * scale + 6;
            let cap = fit(&t.caption, 14.0, cw - 8)?;
            put(root, &cap, (cx, base), &cap_st)?;
            let note = match m == 0.0 || (0.01..1e4).contains(&m) {
                true => format!("max |v| {m:.3}"),
                false => format!("max |v| {m:.2e}"),
            };
            put(root, &note, (cx, base + 20), &note_st)?;
        }
        Ok(())
    })
}
