//! Self-test: the model on every embedded test vector against what the host runtime predicted.

/// Test vectors as `build.rs` embeds them (row-major, one row per vector).
pub struct Vectors<'a> {
    /// Quantized inputs, [n, features].
    pub x_q: &'a [i8],
    /// Class the host runtime predicted, [n].
    pub class: &'a [u8],
    /// Int8 logits the host runtime computed, [n, classes].
    pub logits: &'a [i8],
    /// Dataset label, [n], or empty when the evaluation set had none (accuracy line only).
    pub label: &'a [u8],
    pub features: usize,
    pub classes: usize,
}

impl Vectors<'_> {
    pub fn len(&self) -> usize {
        self.class.len()
    }

    pub fn is_empty(&self) -> bool {
        self.class.is_empty()
    }
}

/// One disagreement with the host runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Mismatch {
    pub index: usize,
    pub expected_class: u8,
    pub got_class: u8,
    /// First logit that differs, if any: (class index, expected, got).
    pub first_logit: Option<(usize, i8, i8)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Report {
    pub total: usize,
    /// Vectors whose class or any logit differs from the host runtime's.
    pub mismatches: usize,
    /// Vectors whose predicted class equals the dataset label (0 without labels).
    pub label_hits: usize,
    /// Vectors that have a label.
    pub labeled: usize,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.total > 0 && self.mismatches == 0
    }
}

/// Runs `infer(input, logits) -> class` on every vector and reports each mismatch to
/// `on_mismatch`. `logits` is the caller's buffer of `v.classes` values. An inference error
/// stops the run and is returned with the vector's index.
pub fn run<'a, E>(
    v: &Vectors<'a>,
    logits: &mut [i8],
    mut infer: impl FnMut(&[i8], &mut [i8]) -> Result<u8, E>,
    mut on_mismatch: impl FnMut(&Mismatch),
) -> Result<Report, (usize, E)> {
    let mut report = Report {
        total: v.len(),
        ..Report::default()
    };
    for (index, &class) in v.class.iter().enumerate() {
        // Row `index` of each table (`get`: no panicking path; build.rs sized them).
        let row = |t: &'a [i8], width: usize| t.get(index * width..(index + 1) * width);
        let (Some(x), Some(want)) = (row(v.x_q, v.features), row(v.logits, v.classes)) else {
            break;
        };
        let got = infer(x, logits).map_err(|e| (index, e))?;
        let first_logit = want
            .iter()
            .zip(logits.iter())
            .enumerate()
            .find(|(_, (a, b))| a != b)
            .map(|(i, (&a, &b))| (i, a, b));
        if got != class || first_logit.is_some() {
            report.mismatches += 1;
            on_mismatch(&Mismatch {
                index,
                expected_class: class,
                got_class: got,
                first_logit,
            });
        }
        if let Some(&label) = v.label.get(index) {
            report.labeled += 1;
            report.label_hits += usize::from(got == label);
        }
    }
    Ok(report)
}
