//! The soft tree's section of `report.md`: soft (mixture) against max-path accuracy, the
//! label-only twin, and the int8 max path measured by `export`.
use std::fmt::Write as _;

use crate::report::Report;
use crate::students::mean_std;

/// How far the int8 max path may fall from the float one (the bound), in points.
pub const INT8_TOLERANCE: f64 = 0.3;

pub fn write(md: &mut String, r: &Report) -> crate::Result<()> {
    let t = &super::TreeConfig::of(r.config)?;
    writeln!(
        md,
        "\n## Soft decision tree, depth {} ({} inner nodes, {} leaves)\n",
        t.depth,
        (1u32 << t.depth) - 1,
        1u32 << t.depth
    )?;
    writeln!(
        md,
        "β = {}{}, balance λ = {} (running-average decay {} at the root). The soft accuracy \
         mixes every leaf by its path probability; the max path follows one branch per level \
         (right iff w·x + b > 0), which is what the int8 artifact runs.\n",
        t.beta,
        if t.learn_beta { " (learned)" } else { "" },
        t.balance,
        t.balance_decay
    )?;
    writeln!(
        md,
        "| student | soft (mixture) | max path, float | max path, int8 |\n|---|---:|---:|---:|"
    )?;
    let int8 = r
        .export
        .and_then(|e| e.accuracy.as_ref())
        .map(|a| (a.float, a.int8_runtime));
    for (name, label) in [
        ("KD student", "distilled"),
        ("label-only student", "label-only"),
    ] {
        let Some(row) = r.rows.iter().find(|row| row.name == name) else {
            continue;
        };
        let pct = |v: Option<f64>| v.map_or("—".to_string(), |a| format!("{a:.2}%"));
        let q = if name == "KD student" {
            int8.map(|(_, q)| q)
        } else {
            None
        };
        writeln!(
            md,
            "| {label} | {:.2}% | {} | {} |",
            row.test_acc,
            pct(row.max_path_acc),
            pct(q)
        )?;
    }
    if let Some((float, q)) = int8 {
        let d = q - float;
        let verdict = if d.abs() <= INT8_TOLERANCE {
            "within"
        } else {
            "OUTSIDE"
        };
        writeln!(
            md,
            "\nint8 − float max path (export, same test set): {d:+.2} points, {verdict} the \
             ±{INT8_TOLERANCE} bound."
        )?;
    }
    if r.seeds.kd_max_path.len() > 1 {
        writeln!(
            md,
            "\n| over {} seeds | soft | max path |\n|---|---:|---:|",
            r.seeds.kd_max_path.len()
        )?;
        let ms = |v: &[f64]| {
            let (m, s) = mean_std(v);
            format!("{m:.2} ± {s:.2}%")
        };
        writeln!(
            md,
            "| distilled | {} | {} |",
            ms(&r.seeds.kd),
            ms(&r.seeds.kd_max_path)
        )?;
        if !r.seeds.labels_max_path.is_empty() {
            writeln!(
                md,
                "| label-only | {} | {} |",
                ms(&r.seeds.labels),
                ms(&r.seeds.labels_max_path)
            )?;
        }
    }
    if let Some((_, drawn)) = r.pictures.iter().find(|(f, _)| *f == "tree.png") {
        let link = "![the distilled tree's filters and leaves](tree.png)";
        writeln!(md, "\n{}", crate::report::pictures::markdown(drawn, link))?;
    }
    Ok(())
}
