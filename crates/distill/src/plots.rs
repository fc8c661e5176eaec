//! PNG plots: training curves, confusion matrix, image grids (filters / explanations).
//!
//! plotters is built without fontconfig/freetype (a bare machine must build it), so text goes
//! through ab_glyph with DejaVu Sans embedded by the `dejavu` crate; every entry point calls
//! `register_font` first because drawing with an unregistered font is an error. Each file is
//! rendered to `<stem>.tmp.png` (the encoder picks the format from the extension) and renamed,
//! so a failed or interrupted run never leaves a half-written plot under the final name.

use std::ops::Range;
use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontTransform::Rotate270;
use plotters::style::text_anchor::{HPos, Pos, VPos};

pub(crate) const FONT: &str = "sans-serif";
/// Largest canvas side we render: the bitmap is held in memory before it is encoded.
const MAX_SIDE: usize = 16_384;
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
    #[error("writing {0}: {1}")]
    Io(String, #[source] std::io::Error),
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

/// Renders `draw` onto a white `w`×`h` canvas at `<stem>.tmp.png`, then renames it to `path`.
pub(crate) fn write_atomic<F>(path: &Path, (w, h): (usize, usize), draw: F) -> Result<(), PlotError>
where
    F: FnOnce(&Area) -> Result<(), PlotError>,
{
    register_font()?;
    let shown = path.display().to_string();
    let Some(stem) = path.file_stem() else {
        return Err(PlotError::Input(format!("{shown} has no file name")));
    };
    if !(1..=MAX_SIDE).contains(&w) || !(1..=MAX_SIDE).contains(&h) {
        return Err(PlotError::Input(format!(
            "canvas {w}x{h} is outside 1..={MAX_SIDE}"
        )));
    }
    let mut name = stem.to_os_string();
    name.push(".tmp.png");
    let tmp = path.with_file_name(name);
    let drawn = (|| {
        let root = BitMapBackend::new(&tmp, (w as u32, h as u32)).into_drawing_area();
        root.fill(&WHITE).map_err(de)?;
        draw(&root)?;
        root.present().map_err(de)
    })(); // on error the backend's Drop may still save a partial tmp file: removed below
    let res = match drawn {
        Err(PlotError::Draw(m)) => Err(PlotError::Draw(format!("{shown}: {m}"))),
        Err(e) => Err(e),
        Ok(()) => std::fs::rename(&tmp, path).map_err(|e| PlotError::Io(shown, e)),
    };
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
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

/// Non-finite points (a diverged run's NaN loss) are skipped rather than failing the plot.
fn finite(c: &Curve) -> impl Iterator<Item = (f64, f64)> + '_ {
    c.points
        .iter()
        .copied()
        .filter(|(x, y)| x.is_finite() && y.is_finite())
}

/// Padded data ranges; a single value gets a non-empty range around it.
fn bounds(curves: &[Curve]) -> Option<(Range<f64>, Range<f64>)> {
    let mut pts = curves.iter().flat_map(finite);
    let (x, y) = pts.next()?;
    let (lo, hi) = pts.fold(((x, y), (x, y)), |(lo, hi), (x, y)| {
        ((lo.0.min(x), lo.1.min(y)), (hi.0.max(x), hi.1.max(y)))
    });
    let pad = |a: f64, b: f64, frac: f64, min: f64| {
        let m = if b > a {
            (b - a) * frac
        } else {
            (a.abs() * 0.1).max(min)
        };
        (a - m)..(b + m)
    };
    let (xr, yr) = (pad(lo.0, hi.0, 0.03, 1.0), pad(lo.1, hi.1, 0.08, 1e-3));
    let ok = [xr.start, xr.end, yr.start, yr.end]
        .iter()
        .all(|v| v.is_finite());
    ok.then_some((xr, yr))
}

type Panel<'a> = (&'a str, &'a str, SeriesLabelPosition);

fn panel(area: &Area, (caption, y_desc, legend): Panel, curves: &[Curve]) -> Result<(), PlotError> {
    let (xr, yr) =
        bounds(curves).ok_or(PlotError::Empty("training_curves: a panel has no points"))?;
    // About one tick per epoch, so a 1-epoch run doesn't get ticks at 0.2, 0.4, ...
    let x_ticks = ((xr.end - xr.start).ceil() as usize + 1).clamp(2, 12);
    let mut chart = ChartBuilder::on(area)
        .caption(caption, (FONT, 20))
        .margin(14)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(xr, yr)
        .map_err(de)?;
    let tick = |x: &f64| format!("{}", (x * 10.0).round() / 10.0); // "3", not "3.0"
    let mut mesh = chart.configure_mesh();
    mesh.x_desc("epoch")
        .y_desc(y_desc)
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 16));
    mesh.x_labels(x_ticks)
        .x_label_formatter(&tick)
        .draw()
        .map_err(de)?;
    for (c, color) in curves.iter().zip(PALETTE.iter().cycle()) {
        let pts: Vec<(f64, f64)> = finite(c).collect();
        let line = color.stroke_width(2);
        let key = move |(x, y)| PathElement::new([(x, y), (x + 24, y)], color.stroke_width(3));
        if !pts.is_empty() {
            let series = chart
                .draw_series(LineSeries::new(pts.clone(), line))
                .map_err(de)?;
            series.label(c.label.as_str()).legend(key);
        }
        // Markers keep single-epoch curves visible (a one-point line draws nothing).
        let dots = pts.into_iter().map(|p| Circle::new(p, 3, color.filled()));
        chart.draw_series(dots).map_err(de)?;
    }
    let mut keys = chart.configure_series_labels();
    keys.position(legend)
        .label_font((FONT, 15))
        .background_style(WHITE.mix(0.85));
    keys.border_style(BLACK).draw().map_err(de)
}

/// Two panels side by side: training loss (left) and validation accuracy in % (right), one
/// line per model. Curves may differ in length; a panel with no finite point is an error.
pub fn training_curves(
    path: &Path,
    title: &str,
    loss: &[Curve],
    accuracy: &[Curve],
) -> Result<(), PlotError> {
    if bounds(loss).is_none() {
        return Err(PlotError::Empty("training_curves: no finite loss point"));
    }
    if bounds(accuracy).is_none() {
        return Err(PlotError::Empty(
            "training_curves: no finite accuracy point",
        ));
    }
    write_atomic(path, (1200, 520), |root| {
        let panels = root
            .titled(title, (FONT, 26))
            .map_err(de)?
            .split_evenly((1, 2));
        let upper = SeriesLabelPosition::UpperRight; // loss falls, accuracy rises
        panel(&panels[0], ("training loss", "loss", upper), loss)?;
        let lower = SeriesLabelPosition::LowerRight;
        panel(
            &panels[1],
            ("validation accuracy", "accuracy (%)", lower),
            accuracy,
        )
    })
}

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

#[cfg(test)]
mod tests {
    use super::*;
    type R<T = ()> = Result<T, Box<dyn std::error::Error>>;

    fn dir(name: &str) -> R<std::path::PathBuf> {
        let d = std::env::temp_dir().join(format!("distill-plots-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&d)?;
        Ok(d)
    }

    /// PNG signature, then the IHDR chunk's width and height, big-endian.
    fn png_size(path: &Path) -> R<(u32, u32)> {
        let b = std::fs::read(path)?;
        assert!(b.len() > 24 && b.starts_with(b"\x89PNG\r\n\x1a\n") && &b[12..16] == b"IHDR");
        let be = |i: usize| b[i..i + 4].try_into().map(u32::from_be_bytes);
        Ok((be(16)?, be(20)?))
    }

    fn fashion() -> Vec<String> {
        let n = "T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot";
        n.split(',').map(String::from).collect()
    }

    fn curve(label: &str, n: usize, f: fn(f64) -> f64) -> Curve {
        Curve {
            label: label.into(),
            points: (1..=n).map(|e| (e as f64, f(e as f64))).collect(),
        }
    }

    #[test]
    fn curves_render_and_reject_empty() -> R {
        let d = dir("curves")?;
        register_font()?;
        register_font()?; // idempotent
        let loss = [
            curve("teacher", 12, |e| 2.0 / e),
            curve("KD student", 8, |e| 2.5 / e),
        ];
        let acc = [
            curve("teacher", 12, |e| 90.0 - 20.0 / e),
            curve("label-only", 1, |_| 70.0),
        ];
        let p = d.join("curves.png");
        training_curves(&p, "Fashion-MNIST distillation", &loss, &acc)?;
        assert_eq!(png_size(&p)?, (1200, 520));
        assert!(!d.join("curves.tmp.png").exists());
        let nan = [curve("diverged", 3, |_| f64::NAN)];
        let e = training_curves(&d.join("e.png"), "t", &loss, &nan);
        assert!(
            matches!(e, Err(PlotError::Empty(m)) if m.contains("accuracy")),
            "{e:?}"
        );
        let e = training_curves(&p, "t", &[], &acc);
        assert!(
            matches!(e, Err(PlotError::Empty(m)) if m.contains("loss")),
            "{e:?}"
        );
        assert!(!d.join("e.png").exists() && !d.join("e.tmp.png").exists());
        let e = training_curves(&d.join("no/such/dir.png"), "t", &loss, &acc);
        assert!(matches!(e, Err(PlotError::Draw(_))), "{e:?}");
        Ok(std::fs::remove_dir_all(d)?)
    }

    #[test]
    fn confusion_renders_and_checks_shape() -> R {
        let d = dir("confusion")?;
        let (names, p) = (fashion(), d.join("cm.png"));
        let counts: Vec<u32> = (0..100)
            .map(|i| if i % 11 == 0 { 900 } else { i % 40 })
            .collect();
        confusion_matrix(&p, "Confusion matrix: KD student", &counts, &names)?;
        let (w, h) = png_size(&p)?;
        assert!(w >= 640 && h >= 640, "{w}x{h}");
        let bad = confusion_matrix(&p, "t", &counts[..99], &names);
        assert!(matches!(bad, Err(PlotError::Input(_))), "{bad:?}");
        assert!(matches!(
            confusion_matrix(&p, "t", &[], &[]),
            Err(PlotError::Empty(_))
        ));
        Ok(std::fs::remove_dir_all(d)?)
    }

    #[test]
    fn grid_renders_and_checks_tiles() -> R {
        let d = dir("grid")?;
        let tile = |i: usize| Tile {
            caption: format!("node {i}: {}", fashion()[i % 10]),
            width: 28,
            height: 28,
            pixels: (0..784)
                .map(|k| ((k % 28) as f32 - 13.5) * (k / 28 + i) as f32)
                .collect(),
        };
        let (tiles, p) = ((0..7).map(tile).collect::<Vec<_>>(), d.join("grid.png"));
        image_grid(&p, "Soft decision tree filters", &tiles, 4)?;
        assert_eq!(png_size(&p)?, (4 * 146 + 16, 2 * (112 + 52) + 68));
        assert!(matches!(
            image_grid(&p, "t", &tiles, 0),
            Err(PlotError::Input(_))
        ));
        assert!(matches!(
            image_grid(&p, "t", &[], 3),
            Err(PlotError::Empty(_))
        ));
        let short = Tile {
            caption: "bad".into(),
            width: 28,
            height: 28,
            pixels: vec![0.0; 783],
        };
        assert!(matches!(
            image_grid(&p, "t", &[short], 1),
            Err(PlotError::Input(_))
        ));
        Ok(std::fs::remove_dir_all(d)?)
    }
}
