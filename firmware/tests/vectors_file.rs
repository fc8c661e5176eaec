//! `build.rs`'s reader of the test-vector file (`build/vectors.rs`) on the host: the contract's
//! names, `label` optional (export writes it only when the evaluation data had labels).

#[path = "../build/vectors.rs"]
mod vectors;

use std::collections::HashMap;

use runtime_nostd::format::vectors as names;
use safetensors::{Dtype, tensor::TensorView};
use vectors::Vectors;

const SHA: &str = "00ff";

/// A vectors file of 3 vectors, 2 features, 2 classes; `label` only when `with_label`.
fn file(with_label: bool, sha: Option<&str>) -> Vec<u8> {
    let (x_q, logits, class, label) = (
        [1u8, 2, 3, 4, 5, 6],
        [7u8, 8, 9, 10, 11, 12],
        [0u8, 1, 1],
        [0u8, 1, 0],
    );
    let mut t = vec![
        (
            names::X_Q,
            TensorView::new(Dtype::I8, vec![3, 2], &x_q).unwrap(),
        ),
        (
            names::LOGITS,
            TensorView::new(Dtype::I8, vec![3, 2], &logits).unwrap(),
        ),
        (
            names::CLASS,
            TensorView::new(Dtype::U8, vec![3], &class).unwrap(),
        ),
    ];
    if with_label {
        t.push((
            names::LABEL,
            TensorView::new(Dtype::U8, vec![3], &label).unwrap(),
        ));
    }
    let mut meta = HashMap::from([(
        names::meta::FORMAT.to_string(),
        names::FORMAT_NAME.to_string(),
    )]);
    if let Some(s) = sha {
        meta.insert(names::meta::ARTIFACT_SHA256.to_string(), s.to_string());
    }
    safetensors::serialize(t, Some(meta)).unwrap()
}

#[test]
fn labelled_vectors_keep_their_labels() {
    let v = Vectors::parse(&file(true, Some(SHA)), None, SHA).unwrap();
    assert_eq!((v.n, v.f, v.c), (3, 2, 2));
    assert_eq!(v.x_q, [1, 2, 3, 4, 5, 6]);
    assert_eq!(v.logits, [7, 8, 9, 10, 11, 12]);
    assert_eq!(v.class, [0, 1, 1]);
    assert_eq!(v.label.as_deref(), Some(&[0u8, 1, 0][..]));
}

#[test]
fn vectors_without_labels_are_accepted_with_no_ground_truth() {
    let v = Vectors::parse(&file(false, Some(SHA)), None, SHA).unwrap();
    assert_eq!(
        (v.n, v.class.len(), v.x_q.len(), v.logits.len()),
        (3, 3, 6, 6)
    );
    assert_eq!(v.label, None);
}

#[test]
fn max_keeps_the_first_vectors_and_their_labels() {
    for with_label in [true, false] {
        let v = Vectors::parse(&file(with_label, Some(SHA)), Some(2), SHA).unwrap();
        assert_eq!(
            (v.n, &v.class[..], &v.x_q[..]),
            (2, &[0u8, 1][..], &[1u8, 2, 3, 4][..])
        );
        assert_eq!(v.label.map(|l| l.len()), with_label.then_some(2));
    }
}

#[test]
fn vectors_of_another_artifact_are_refused() {
    let e = Vectors::parse(&file(true, Some("1234")), None, SHA)
        .err()
        .unwrap();
    assert!(e.contains("1234"), "{e}");
    // Untagged vectors are accepted (with a cargo warning).
    assert!(Vectors::parse(&file(false, None), None, SHA).is_ok());
}

#[test]
fn a_label_of_the_wrong_length_is_refused() {
    let (x_q, logits, class, label) = ([0u8; 4], [0u8; 4], [0u8; 2], [0u8; 3]);
    let raw = safetensors::serialize(
        [
            (
                names::X_Q,
                TensorView::new(Dtype::I8, vec![2, 2], &x_q).unwrap(),
            ),
            (
                names::LOGITS,
                TensorView::new(Dtype::I8, vec![2, 2], &logits).unwrap(),
            ),
            (
                names::CLASS,
                TensorView::new(Dtype::U8, vec![2], &class).unwrap(),
            ),
            (
                names::LABEL,
                TensorView::new(Dtype::U8, vec![3], &label).unwrap(),
            ),
        ],
        None,
    )
    .unwrap();
    let e = Vectors::parse(&raw, None, SHA).err().unwrap();
    assert!(e.contains("inconsistent shapes"), "{e}");
}
