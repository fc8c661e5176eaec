//! The confusion matrix as a heat map.
use std::path::Path;

use plotters::prelude::*;
use plotters::style::FontTransform::Rotate270;
use plotters::style::text_anchor::{HPos, VPos};

use super::*;

/// Heat map of a C×C row-major matrix (row = true class, column = predicted) with the counts
/// written in; colour is the share of the row, so every class reads the same way.
pub fn confusion_matrix(
    path: &Path,
    title: &str,
    counts: &[u32],
    class_names: &[String],
) -> Result<(), PlotError> {
    let n = class_names.len();
    if n == 0 {
        return Err(PlotError::Empty("confusion_matrix: no class names"));
    }
    if n.checked_mul(n) != Some(counts.len()) {
        let msg = format!("confusion_matrix: {} counts, {n} class names", counts.len());
        return Err(PlotError::Input(msg));
    }
    register_font()?; // text is measured before the canvas exists
    let cell = (640 / n).clamp(24, 64);
    let (label_px, count_px) = (15.0, (cell as f64 * 0.3).clamp(9.0, 16.0));
    let names = class_names
        .iter()
        .map(|s| fit(s, label_px, 160))
        .collect::<Result<Vec<_>, _>>()?;
    let widest = names
        .iter()
        .map(|s| width(s, label_px))
        .try_fold(0, |m, w| w.map(|w| m.max(w)))?;
    let note = "cell colour = share of the true class (row); numbers = counts";
    let (top, side, texts) = (86, cell * n, width(title, 24.0)?.max(width(note, 14.0)?));
    let w = (widest + side + 74).max(texts + 40);
    let left = widest + 44 + (w - (widest + side + 74)) / 2; // centred under a wider title
    let h = top + side + widest + 44;
    write_atomic(path, (w, h), |root| {
        let mid = |size, ink| style(size, ink, HPos::Center, VPos::Center);
        put(root, title, (w / 2, 24), &mid(24.0, BLACK))?;
        put(root, note, (w / 2, 54), &mid(14.0, GREY))?;
        for (r, row) in counts.chunks(n).enumerate() {
            let total = row.iter().map(|&c| f64::from(c)).sum::<f64>().max(1.0);
            for (c, &count) in row.iter().enumerate() {
                let (x, y, frac) = (left + c * cell, top + r * cell, f64::from(count) / total);
                rect(
                    root,
                    (x, y),
                    (x + cell, y + cell),
                    ramp(HEAT, frac).filled(),
                )?;
                let (ink, at) = (
                    if frac > 0.5 { WHITE } else { BLACK },
                    (x + cell / 2, y + cell / 2),
                );
                put(root, &count.to_string(), at, &mid(count_px, ink))?;
            }
        }
        rect(root, (left, top), (left + side, top + side), BLACK.into())?;
        // Row names right-aligned on the left; column names turned to read upwards, so long
        // names such as "T-shirt/top" never collide.
        let row_st = style(label_px, BLACK, HPos::Right, VPos::Center);
        let col_st = row_st.transform(Rotate270);
        for (i, name) in names.iter().enumerate() {
            let at = i * cell + cell / 2;
            put(root, name, (left - 8, top + at), &row_st)?;
            put(root, name, (left + at, top + side + 8), &col_st)?;
        }
        let (axis, turned) = (mid(16.0, BLACK), mid(16.0, BLACK).transform(Rotate270));
        put(root, "predicted class", (left + side / 2, h - 16), &axis)?;
        put(
            root,
            "true class",
            (left - widest - 28, top + side / 2),
            &turned,
        )
    })
}
