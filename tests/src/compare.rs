//! tract against runtime-nostd, input by input: what differs, and whether it stays within the
//! bounds of issue 4 (|Δ int8 logit| ≤ 1, top-1 differs on at most 0.05% of inputs).

use std::fmt;

use crate::error::{Error, Result};
use crate::outputs::Outputs;

/// Largest allowed |logit difference| between the engines.
pub const MAX_LOGIT_DIFF: u32 = 1;
/// Allowed share of inputs whose top-1 class differs: 0.05% (5 in 10,000).
pub const TOP1_PER_10K: usize = 5;

/// Differences between runtime-nostd (`rt`) and tract (`tr`) over the same inputs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Comparison {
    pub samples: usize,
    /// Inputs whose quantized input differs.
    pub x_q_samples: Vec<usize>,
    /// Quantized input values that differ, over all inputs.
    pub x_q_values: usize,
    /// Inputs with at least one differing logit.
    pub logit_samples: Vec<usize>,
    /// Logits by |difference|: `[0, 1, ≥2]`.
    pub logit_diff_hist: [usize; 3],
    pub max_logit_diff: u32,
    /// Inputs whose top-1 class differs.
    pub class_samples: Vec<usize>,
    /// Tree only: inputs whose reached leaf differs.
    pub leaf_samples: Vec<usize>,
}

/// Differing rows of two `[N * width]` arrays.
fn differing_rows<T: PartialEq>(a: &[T], b: &[T], width: usize) -> Vec<usize> {
    let rows = a.chunks_exact(width).zip(b.chunks_exact(width));
    rows.enumerate()
        .filter(|(_, (x, y))| x != y)
        .map(|(i, _)| i)
        .collect()
}

impl Comparison {
    /// Compares two engines' outputs for the same `n` inputs.
    pub fn new(rt: &Outputs, tr: &Outputs) -> Result<Self> {
        let n = rt.class.len();
        let same_shape = tr.class.len() == n
            && tr.x_q.len() == rt.x_q.len()
            && tr.logits.len() == rt.logits.len()
            && tr.leaf.len() == rt.leaf.len()
            && n > 0
            && rt.x_q.len().is_multiple_of(n)
            && rt.logits.len().is_multiple_of(n);
        if !same_shape {
            return Err(Error::Shape(format!(
                "runtime-nostd gave {n} classes / {} x_q / {} logits, tract {} / {} / {}",
                rt.x_q.len(),
                rt.logits.len(),
                tr.class.len(),
                tr.x_q.len(),
                tr.logits.len()
            )));
        }
        let (f, c) = (rt.x_q.len() / n, rt.logits.len() / n);
        let mut hist = [0usize; 3];
        let mut max = 0;
        for (&a, &b) in rt.logits.iter().zip(&tr.logits) {
            let d = (i32::from(a) - i32::from(b)).unsigned_abs();
            hist[(d as usize).min(2)] += 1;
            max = max.max(d);
        }
        Ok(Self {
            samples: n,
            x_q_samples: differing_rows(&rt.x_q, &tr.x_q, f),
            x_q_values: rt.x_q.iter().zip(&tr.x_q).filter(|(a, b)| a != b).count(),
            logit_samples: differing_rows(&rt.logits, &tr.logits, c),
            logit_diff_hist: hist,
            max_logit_diff: max,
            class_samples: differing_rows(&rt.class, &tr.class, 1),
            leaf_samples: differing_rows(&rt.leaf, &tr.leaf, 1),
        })
    }

    /// How many top-1 differences `samples` inputs may have (rounded down).
    pub fn top1_budget(&self) -> usize {
        self.samples * TOP1_PER_10K / 10_000
    }

    /// What breaks the bounds; empty when both hold.
    pub fn violations(&self) -> Vec<String> {
        let mut v = Vec::new();
        if self.max_logit_diff > MAX_LOGIT_DIFF {
            v.push(format!(
                "a logit differs by {} (> {MAX_LOGIT_DIFF}); {} logits differ by 2 or more",
                self.max_logit_diff, self.logit_diff_hist[2]
            ));
        }
        if self.class_samples.len() > self.top1_budget() {
            v.push(format!(
                "top-1 differs on {} of {} inputs (at most {} allowed): {:?}",
                self.class_samples.len(),
                self.samples,
                self.top1_budget(),
                self.class_samples
            ));
        }
        v
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [d0, d1, d2] = self.logit_diff_hist;
        write!(
            f,
            "{} inputs: x_q differs on {} inputs ({} values); logits differ on {} inputs \
             (|Δ|=0: {d0}, |Δ|=1: {d1}, |Δ|≥2: {d2}, max {}); top-1 differs on {} (budget {}); \
             leaf differs on {} (tree only)",
            self.samples,
            self.x_q_samples.len(),
            self.x_q_values,
            self.logit_samples.len(),
            self.max_logit_diff,
            self.class_samples.len(),
            self.top1_budget(),
            self.leaf_samples.len()
        )
    }
}
