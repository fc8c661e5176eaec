//! Pictures of a soft decision tree, as in Frosst & Hinton's figures: every inner node's
//! filter drawn in the input's shape (red positive, blue negative: a sample goes right when
//! it looks like the red parts more than the blue ones), leaves as class-distribution bars;
//! and the path one input takes (`explain`). The whole tree's picture is in
//! [`crate::students::tree::figure`].
use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use export::{FloatBody, FloatModel, SoftTree};

use crate::report::plots::{
    Area, GREY, NEG, POS, PlotError, fit, put, ramp, rect, style, write_atomic,
};
pub use crate::students::tree::figure::{MAX_DRAWN_LEVELS, tree_png};

pub(crate) const BLUE: RGBColor = RGBColor(33, 102, 172);
pub(crate) const RED: RGBColor = RGBColor(178, 24, 43);

/// What the pictures need of a tree (from the float model `distill` saves).
pub struct TreeView {
    pub depth: usize,
    /// Filter image height and width (the input's last two dimensions; channel 0 is drawn).
    pub image: (usize, usize),
    /// Whether the input has image dimensions (`[C, H, W]` or `[H, W]`), not a flat table.
    pub image_input: bool,
    /// Filters `[(2^d − 1) · F]` in heap order, biases, and the leaf logits.
    pub tree: SoftTree,
    /// `[2^d · C]`: softmax of the leaf logits.
    pub leaf_probs: Vec<f32>,
    pub classes: Vec<String>,
}

impl TreeView {
    /// The view of a float model file's tree; an MLP is an error.
    pub fn from_model(m: &FloatModel) -> Result<Self, PlotError> {
        let FloatBody::Tree(t) = &m.body else {
            return Err(PlotError::Input("the model is not a tree".into()));
        };
        let c = m.classes.len().max(1);
        let mut leaf_probs = Vec::with_capacity(t.leaves.len());
        for row in t.leaves.chunks(c) {
            let top = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let e: Vec<f32> = row.iter().map(|v| (v - top).exp()).collect();
            let sum: f32 = e.iter().sum();
            leaf_probs.extend(e.iter().map(|v| v / sum));
        }
        let s = &m.input_shape;
        let image = match s.len() {
            0 => (1, 1),
            1 => (1, s[0]),
            n => (s[n - 2], s[n - 1]),
        };
        let view = TreeView {
            depth: t.depth as usize,
            image,
            image_input: s.len() >= 2,
            tree: t.clone(),
            leaf_probs,
            classes: m.classes.clone(),
        };
        check(&view)?;
        Ok(view)
    }

    /// The max-probability path of a normalized input: `(node, w·x + b)` per level, and the
    /// leaf (right iff w·x + b > 0, as export and the runtime decide).
    pub fn walk(&self, x_n: &[f32]) -> (Vec<(usize, f32)>, usize) {
        export::float_forward::tree_path(&self.tree, x_n)
    }

    pub(crate) fn features(&self) -> usize {
        self.tree.inner_weight.len() / ((1 << self.depth) - 1).max(1)
    }

    /// Every weight of inner node `node` (all channels, flat).
    pub(crate) fn weights(&self, node: usize) -> &[f32] {
        let f = self.features();
        &self.tree.inner_weight[node * f..(node + 1) * f]
    }

    pub(crate) fn filter(&self, node: usize) -> &[f32] {
        let (f, (h, w)) = (self.features(), self.image);
        &self.tree.inner_weight[node * f..node * f + h * w]
    }

    /// The class distribution of a leaf, or the mean over the leaves under a deeper node.
    pub(crate) fn distribution(&self, level: usize, k: usize) -> Vec<f32> {
        let c = self.classes.len();
        let span = 1 << (self.depth - level);
        let mut d = vec![0f32; c];
        for leaf in k * span..(k + 1) * span {
            for (o, p) in d.iter_mut().zip(&self.leaf_probs[leaf * c..(leaf + 1) * c]) {
                *o += p / span as f32;
            }
        }
        d
    }
}

/// A filter or image, `scale` pixels per value, signed (blue–white–red) or grey.
pub(crate) fn tile(
    root: &Area,
    v: &[f32],
    (h, w): (usize, usize),
    at: (usize, usize),
    scale: usize,
    signed: bool,
) -> Result<(), PlotError> {
    let m = v
        .iter()
        .filter(|x| x.is_finite())
        .fold(0f32, |m, x| m.max(x.abs()))
        .max(f32::MIN_POSITIVE);
    let lo = v.iter().copied().fold(f32::INFINITY, f32::min);
    let hi = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    for (i, &x) in v.iter().enumerate().take(h * w) {
        let color = if signed {
            ramp(if x < 0.0 { NEG } else { POS }, f64::from(x.abs() / m))
        } else {
            let t = ((x - lo) / (hi - lo).max(f32::MIN_POSITIVE) * 255.0) as u8;
            RGBColor(255 - t, 255 - t, 255 - t)
        };
        let (x0, y0) = (at.0 + (i % w) * scale, at.1 + (i / w) * scale);
        rect(root, (x0, y0), (x0 + scale, y0 + scale), color.filled())?;
    }
    rect(
        root,
        (at.0 - 1, at.1 - 1),
        (at.0 + w * scale, at.1 + h * scale),
        RGBColor(160, 160, 160).into(),
    )
}

/// Bars of a class distribution in a `w`×`h` box, the top class named below.
pub(crate) fn bars(
    root: &Area,
    d: &[f32],
    classes: &[String],
    at: (usize, usize),
    (w, h): (usize, usize),
) -> Result<(), PlotError> {
    let c = d.len().max(1);
    let bw = (w / c).max(1);
    let best = export::float_forward::argmax(d);
    for (i, &p) in d.iter().enumerate() {
        let bh = ((p.clamp(0.0, 1.0) * h as f32) as usize).max(1);
        let ink = if i == best { RED } else { GREY };
        let x0 = at.0 + i * bw;
        rect(
            root,
            (x0, at.1 + h - bh),
            (x0 + bw.saturating_sub(1).max(1), at.1 + h),
            ink.filled(),
        )?;
    }
    rect(
        root,
        (at.0 - 1, at.1 - 1),
        (at.0 + bw * c, at.1 + h),
        RGBColor(200, 200, 200).into(),
    )?;
    let name = classes.get(best).map_or("?", String::as_str);
    let label = fit(&format!("{name} {:.0}%", 100.0 * d[best]), 11.0, bw * c + 8)?;
    put(
        root,
        &label,
        (at.0 + bw * c / 2, at.1 + h + 3),
        &style(11.0, RGBColor(0, 0, 0), HPos::Center, VPos::Top),
    )
}

/// One input's way down the tree: the input, then each visited node's filter with w·x + b
/// and the branch taken, then the reached leaf's distribution.
pub fn path_png(
    path: &Path,
    title: &str,
    t: &TreeView,
    input: &[f32],
    visited: &[(usize, f32)],
    leaf: usize,
) -> Result<(), PlotError> {
    check(t)?;
    let (h, w) = t.image;
    let scale = (112 / h.max(w)).max(1);
    let cw = (w * scale + 20).max(130);
    let n = visited.len() + 2;
    let (width, height) = (n * cw + 20, h * scale + 130);
    write_atomic(path, (width, height), |root| {
        put(
            root,
            title,
            (width / 2, 24),
            &style(20.0, RGBColor(0, 0, 0), HPos::Center, VPos::Center),
        )?;
        let y = 60;
        let cap = |s: &str, i: usize, dy: usize, ink: RGBColor| {
            let st = style(12.0, ink, HPos::Center, VPos::Top);
            put(
                root,
                &fit(s, 12.0, cw - 6)?,
                (10 + i * cw + cw / 2, y + h * scale + dy),
                &st,
            )
        };
        tile(
            root,
            &input[..(h * w).min(input.len())],
            t.image,
            (10 + (cw - w * scale) / 2, y),
            scale,
            false,
        )?;
        cap("input", 0, 6, RGBColor(0, 0, 0))?;
        for (i, &(node, z)) in visited.iter().enumerate() {
            let x0 = 10 + (i + 1) * cw + (cw - w * scale) / 2;
            tile(root, t.filter(node), t.image, (x0, y), scale, true)?;
            let right = z > 0.0;
            let (word, ink) = if right {
                ("right", RED)
            } else {
                ("left", BLUE)
            };
            cap(
                &format!("level {i}: node {node}"),
                i + 1,
                6,
                RGBColor(0, 0, 0),
            )?;
            cap(&format!("w·x+b = {z:.2}"), i + 1, 24, GREY)?;
            cap(&format!("→ {word}"), i + 1, 42, ink)?;
        }
        let c = t.classes.len();
        let d = &t.leaf_probs[leaf * c..(leaf + 1) * c];
        let bw = cw - 30;
        bars(
            root,
            d,
            &t.classes,
            (10 + (n - 1) * cw + 15, y + h * scale - 60),
            (bw, 60),
        )?;
        cap(&format!("leaf {leaf}"), n - 1, 24, GREY)
    })
}

pub(crate) fn check(t: &TreeView) -> Result<(), PlotError> {
    let (h, w) = t.image;
    let c = t.classes.len();
    let ok = (1..=10).contains(&t.depth)
        && h * w > 0
        && t.tree.inner_weight.len().is_multiple_of((1 << t.depth) - 1)
        && t.tree.inner_bias.len() == (1 << t.depth) - 1
        && t.tree.depth as usize == t.depth
        && t.features() >= h * w
        && c > 0
        && t.leaf_probs.len() == (1 << t.depth) * c;
    if ok {
        Ok(())
    } else {
        Err(PlotError::Input(format!(
            "tree picture: depth {}, {}x{} image, {} weights, {} leaf values, {c} classes do not fit together",
            t.depth,
            h,
            w,
            t.tree.inner_weight.len(),
            t.leaf_probs.len()
        )))
    }
}
