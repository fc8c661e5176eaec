//! `tree.png`: the whole tree, one row per level, the leaves' class distributions below.
//!
//! Each inner node is drawn one of two ways. An image input's filter is drawn in the image's
//! shape (Frosst & Hinton's figures). A table's filter has no shape, and a wide one drawn as a
//! strip made a canvas tens of thousands of pixels wide (751 features: 24,276 px, over the
//! renderer's limit), so a table, or an image too wide for the canvas, gets horizontal bars of
//! the node's largest-|w| features, named by their column, in a cell whose size does not
//! depend on the feature count.
use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use crate::report::plots::{GREY, MAX_SIDE, PlotError, de, fit, put, rect, style, write_atomic};
use crate::students::tree::plots::{BLUE, RED, TreeView, bars, check, tile};

/// More levels make tiles too small to read (a depth-8 tree has 128 nodes on its last level).
pub const MAX_DRAWN_LEVELS: usize = 5;
/// Features shown per node when the filter is drawn as bars.
pub const BAR_FEATURES: usize = 5;
/// Height of one feature's bar row, in pixels.
const BAR_ROW: usize = 11;

/// How the inner nodes are drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Art {
    /// The filter as an image, `scale` pixels per weight.
    Filter { scale: usize },
    /// The largest-|w| features as bars.
    Bars,
}

struct Layout {
    art: Art,
    levels: usize,
    /// Size of one node's picture, and of a column (picture plus margin).
    node: (usize, usize),
    col: usize,
    row: usize,
    canvas: (usize, usize),
}

impl Layout {
    fn of(t: &TreeView) -> Self {
        let levels = t.depth.min(MAX_DRAWN_LEVELS);
        let cols = 1usize << levels;
        let scale = if cols >= 16 { 2 } else { 3 };
        let (h, w) = t.image;
        let filter = Self::with(Art::Filter { scale }, levels, (w * scale, h * scale));
        let fits = filter.canvas.0 <= MAX_SIDE && filter.canvas.1 <= MAX_SIDE;
        if t.image_input && fits {
            return filter;
        }
        Self::with(Art::Bars, levels, (96, BAR_FEATURES * BAR_ROW))
    }

    fn with(art: Art, levels: usize, node: (usize, usize)) -> Self {
        let col = (node.0 + 14).max(74);
        let row = node.1 + 36;
        let canvas = ((1 << levels) * col + 20, 86 + levels * row + 90);
        Layout {
            art,
            levels,
            node,
            col,
            row,
            canvas,
        }
    }
}

/// The `k` entries of `w` largest in magnitude, largest first (ties: lower index first);
/// non-finite weights are skipped.
pub fn top_features(w: &[f32], k: usize) -> Vec<(usize, f32)> {
    let mut v: Vec<(usize, f32)> = w
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, x)| x.is_finite())
        .collect();
    v.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(&b.0)));
    v.truncate(k);
    v
}

/// A node's largest-|w| features as horizontal bars in a `w`×`h` box: `x12` names the
/// 13th feature column; red is positive, blue negative, lengths relative to the largest.
fn weight_bars(
    root: &crate::report::plots::Area,
    w: &[f32],
    at: (usize, usize),
    (bw, bh): (usize, usize),
) -> Result<(), PlotError> {
    let top = top_features(w, BAR_FEATURES);
    let m = top
        .first()
        .map_or(0.0, |t| t.1.abs())
        .max(f32::MIN_POSITIVE);
    let label_w = 36;
    let span = bw.saturating_sub(label_w + 2).max(1);
    let lbl = style(9.0, GREY, HPos::Right, VPos::Center);
    for (i, &(f, x)) in top.iter().enumerate() {
        let y = at.1 + i * BAR_ROW;
        let name = fit(&format!("x{f}"), 9.0, label_w - 2)?;
        put(root, &name, (at.0 + label_w - 2, y + BAR_ROW / 2), &lbl)?;
        let len = ((x.abs() / m) * span as f32).round().max(1.0) as usize;
        let ink = if x < 0.0 { BLUE } else { RED };
        let x0 = at.0 + label_w;
        rect(root, (x0, y + 2), (x0 + len, y + BAR_ROW - 1), ink.filled())?;
    }
    rect(
        root,
        (at.0 - 1, at.1 - 1),
        (at.0 + bw, at.1 + bh),
        RGBColor(200, 200, 200).into(),
    )
}

/// The tree's top `MAX_DRAWN_LEVELS` levels of filters, then the leaves (or, for a deeper
/// tree, the mean leaf distribution under each node of the first undrawn level).
pub fn tree_png(path: &Path, title: &str, t: &TreeView) -> Result<(), PlotError> {
    check(t)?;
    let l = Layout::of(t);
    let (levels, (nw, nh), cw) = (l.levels, l.node, l.col);
    let cols = 1usize << levels;
    let (width, height) = l.canvas;
    let top = 86;
    let note = if t.depth > levels {
        format!(
            "top {levels} of {} levels drawn; the last row shows the mean leaf distribution under each node of level {levels}",
            t.depth
        )
    } else {
        format!("all {} levels; last row: the leaves", t.depth)
    };
    let how = match l.art {
        Art::Filter { .. } => "Filters: red +, blue −".to_string(),
        Art::Bars => format!(
            "Each node: its {BAR_FEATURES} largest weights (xK = feature column K, from 0), red +, blue −"
        ),
    };
    write_atomic(path, (width, height), |root| {
        let centre = |level: usize, k: usize| 10 + (2 * k + 1) * (cols * cw) / (2 << level);
        put(
            root,
            title,
            (width / 2, 22),
            &style(22.0, RGBColor(0, 0, 0), HPos::Center, VPos::Center),
        )?;
        let sub = format!("{note}. {how}; a sample goes right (red edge) iff w·x + b > 0.");
        put(
            root,
            &fit(&sub, 13.0, width - 20)?,
            (width / 2, 50),
            &style(13.0, GREY, HPos::Center, VPos::Center),
        )?;
        for level in 0..=levels {
            let y = top + level * l.row;
            for k in 0..1usize << level {
                let cx = centre(level, k);
                if level > 0 {
                    let (px, py) = (centre(level - 1, k / 2), y - l.row + nh + 14);
                    let ink = if k % 2 == 1 { RED } else { BLUE };
                    let line = PathElement::new(
                        vec![(px as i32, py as i32), (cx as i32, y as i32 - 2)],
                        ink,
                    );
                    root.draw(&line).map_err(de)?;
                }
                if level < levels {
                    let node = (1 << level) - 1 + k;
                    let at = (cx - nw / 2, y);
                    match l.art {
                        Art::Filter { scale } => {
                            tile(root, t.filter(node), t.image, at, scale, true)?
                        }
                        Art::Bars => weight_bars(root, t.weights(node), at, (nw, nh))?,
                    }
                    let lbl = style(10.0, GREY, HPos::Center, VPos::Top);
                    put(root, &node.to_string(), (cx, y + nh + 2), &lbl)?;
                } else {
                    let bw = cw - 14;
                    bars(
                        root,
                        &t.distribution(level, k),
                        &t.classes,
                        (cx - bw / 2, y),
                        (bw, 44),
                    )?;
                }
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests;
