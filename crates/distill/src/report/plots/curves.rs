//! Training curves: loss and accuracy per epoch, one line per model.
use std::ops::Range;
use std::path::Path;

use plotters::prelude::*;

use super::{Area, Curve, FONT, PALETTE, PlotError, de, write_atomic};

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
    accuracy_title: &str,
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
            (accuracy_title, "accuracy (%)", lower),
            accuracy,
        )
    })
}
