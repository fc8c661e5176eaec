//! The self-test's bookkeeping on the host: which vectors count as mismatches, what is reported.

use microdistill_firmware::selftest::{Mismatch, Vectors, run};

fn vectors<'a>(x_q: &'a [i8], class: &'a [u8], logits: &'a [i8], label: &'a [u8]) -> Vectors<'a> {
    Vectors {
        x_q,
        class,
        logits,
        label,
        features: 2,
        classes: 3,
    }
}

/// "Model": logits = [x0, x1, x0 + x1], class = first maximum.
fn toy(x: &[i8], logits: &mut [i8]) -> Result<u8, ()> {
    logits.copy_from_slice(&[x[0], x[1], x[0].saturating_add(x[1])]);
    let max = *logits.iter().max().ok_or(())?;
    Ok(logits.iter().position(|&l| l == max).ok_or(())? as u8)
}

#[test]
fn all_agree_passes_and_counts_label_hits() {
    let x = [5, -1, 1, 2, -3, -4];
    let class = [0, 2, 0];
    let logits = [5, -1, 4, 1, 2, 3, -3, -4, -7];
    let label = [0, 1, 0];
    let mut seen = Vec::new();
    let r = run(
        &vectors(&x, &class, &logits, &label),
        &mut [0; 3],
        toy,
        |m| seen.push(*m),
    )
    .unwrap();
    assert!(r.passed(), "{r:?}");
    assert_eq!(
        (r.total, r.mismatches, r.label_hits, r.labeled),
        (3, 0, 2, 3)
    );
    assert!(seen.is_empty());
}

#[test]
fn a_logit_difference_with_the_same_class_is_still_a_mismatch() {
    let x = [5, -1, 1, 2];
    let class = [0, 2];
    let logits = [5, -1, 4, 1, 2, 4]; // second vector: last logit 4, the model gives 3
    let mut seen = Vec::new();
    let r = run(
        &vectors(&x, &class, &logits, &[0, 2]),
        &mut [0; 3],
        toy,
        |m| seen.push(*m),
    )
    .unwrap();
    assert!(!r.passed());
    assert_eq!(r.mismatches, 1);
    let want = Mismatch {
        index: 1,
        expected_class: 2,
        got_class: 2,
        first_logit: Some((2, 4, 3)),
    };
    assert_eq!(seen, [want]);
}

#[test]
fn a_class_difference_is_reported_with_both_classes() {
    let x = [1, 2];
    let (class, logits) = ([1], [1, 2, 3]);
    let mut seen = Vec::new();
    let r = run(&vectors(&x, &class, &logits, &[1]), &mut [0; 3], toy, |m| {
        seen.push(*m)
    })
    .unwrap();
    assert_eq!(r.mismatches, 1);
    assert_eq!(
        (
            seen[0].expected_class,
            seen[0].got_class,
            seen[0].first_logit
        ),
        (1, 2, None)
    );
}

#[test]
fn an_inference_error_stops_the_run_with_its_index() {
    let x = [1, 2, 3, 4];
    let mut calls = 0;
    let failing = |_: &[i8], _: &mut [i8]| -> Result<u8, &str> {
        calls += 1;
        if calls == 2 { Err("boom") } else { Ok(0) }
    };
    let v = vectors(&x, &[0, 0], &[0; 6], &[0, 0]);
    assert_eq!(run(&v, &mut [0; 3], failing, |_| {}), Err((1, "boom")));
}

#[test]
fn vectors_without_labels_still_compare_every_class() {
    let x = [5, -1, 1, 2];
    let (class, logits) = ([0, 1], [5, -1, 4, 1, 2, 3]);
    let mut seen = Vec::new();
    let r = run(&vectors(&x, &class, &logits, &[]), &mut [0; 3], toy, |m| {
        seen.push(*m)
    })
    .unwrap();
    assert_eq!(
        (r.total, r.mismatches, r.labeled, r.label_hits),
        (2, 1, 0, 0)
    );
    assert_eq!(seen[0].index, 1);
}

#[test]
fn no_vectors_is_not_a_pass() {
    let r = run(&vectors(&[], &[], &[], &[]), &mut [0; 3], toy, |_| {}).unwrap();
    assert!(!r.passed());
}
