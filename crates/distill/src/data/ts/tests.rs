use super::*;
use std::path::PathBuf;

fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s.ts");
    std::fs::write(&p, text).unwrap();
    (dir, p)
}

/// The error message of loading `text`, which must fail.
fn error(text: &str) -> String {
    let (_d, p) = write(text);
    let e = load_ts(&p).unwrap_err().to_string();
    assert!(e.contains("s.ts: "), "the message names the file: {e}");
    e
}

const MULTI: &str = "@problemName Toy\n@timestamps false\n@univariate false\n\
                     @equalLength true\n@seriesLength 3\n@classLabel true b a\n@data\n";

#[test]
fn reads_a_univariate_set_with_comments() {
    let text = "# a comment\n\n@problemName ArrowHead\n@timeStamps false\n\
                @classLabel true 0 1 2\n@univariate true\n@missing false\n@data\n\
                1,2.5,-3:2\n\n# another\n 4, 5e-1 ,6 : 0 \r\n";
    let (_d, p) = write(text);
    let (d, classes) = load_ts(&p).unwrap();
    assert_eq!(d.shape, vec![1, 3]);
    assert_eq!(d.x, vec![1.0, 2.5, -3.0, 4.0, 0.5, 6.0]);
    assert_eq!(d.y, vec![2, 0]);
    assert_eq!(d.num_classes, 3);
    assert_eq!(classes, vec!["0", "1", "2"]);
}

#[test]
fn reads_channels_first_and_maps_labels_by_the_header_order() {
    let (_d, p) = write(&format!("{MULTI}1,2,3:4,5,6:a\n7,8,9:10,11,12:b\n"));
    let (d, classes) = load_ts(&p).unwrap();
    assert_eq!(d.shape, vec![2, 3], "[C, T]");
    assert_eq!(
        d.row(0),
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        "[c][t] row-major"
    );
    // `b` is listed first, so it is class 0 whatever the data's order.
    assert_eq!(
        (d.y.clone(), classes),
        (vec![1, 0], vec!["b".into(), "a".into()])
    );
    assert_eq!(d.num_classes, 2);
}

#[test]
fn the_dimension_count_comes_from_the_header_or_the_first_series() {
    let e = error(&format!("{MULTI}1,2,3:4,5,6:a\n1,2,3:a\n"));
    assert!(
        e.ends_with(
            "line 9: 1 dimensions where the first series (line 8) has 2 (a truncated line?)"
        ),
        "{e}"
    );
    let e = error("@dimensions 2\n@classLabel true a\n@data\n1,2:a\n");
    assert!(
        e.contains("line 4: 1 dimensions where @dimensions has 2"),
        "{e}"
    );
    let e = error("@univariate true\n@classLabel true a\n@data\n1:2:a\n");
    assert!(
        e.contains("line 4: 2 dimensions where @univariate true has 1"),
        "{e}"
    );
}

#[test]
fn refuses_unequal_lengths_and_points_at_the_eq_versions() {
    let e = error(&format!("{MULTI}1,2,3:4,5:a\n"));
    assert!(
        e.contains("line 8: dimension 2 has 2 values where @seriesLength has 3: only equal-length series are supported"),
        "{e}"
    );
    assert!(e.contains("JapaneseVowels_eq_TRAIN.ts"), "{e}");
    let e = error("@classLabel true a\n@data\n1,2:a\n1,2,3:a\n");
    assert!(
        e.contains("line 4: dimension 1 has 3 values where the first series (line 3) has 2"),
        "{e}"
    );
}

#[test]
fn refuses_missing_and_non_numeric_values() {
    for (v, want) in [
        ("?", "missing value '?'"),
        ("NaN", "missing value 'NaN'"),
        ("-nan", "missing value '-nan'"),
        ("x1", "'x1' is not a number"),
        ("1e99", "'1e99' is not a finite f32"),
        ("inf", "'inf' is not a finite f32"),
        ("", "empty value (a truncated line?)"),
    ] {
        let e = error(&format!("{MULTI}1,2,3:4,{v},6:a\n"));
        let want = format!("line 8: dimension 2, value 2: {want}");
        assert!(e.ends_with(&want) || e.contains(&format!("{want}:")), "{e}");
    }
}

#[test]
fn refuses_a_label_not_in_the_header_and_a_line_without_one() {
    let e = error(&format!("{MULTI}1,2,3:4,5,6:c\n"));
    assert!(
        e.ends_with("line 8: class label 'c' is not in @classLabel (b a)"),
        "{e}"
    );
    let e = error(&format!("{MULTI}1,2,3:4,5,6:\n"));
    assert!(
        e.contains("line 8: no class label after the last ':'"),
        "{e}"
    );
    let e = error("@classLabel true a\n@data\n1,2,3\n");
    assert!(e.contains("line 3: no ':' before a class label"), "{e}");
}

#[test]
fn refuses_an_empty_or_headless_or_truncated_file() {
    assert!(error("").ends_with("s.ts: the file is empty"));
    assert!(error("# only a comment\n\n").ends_with("the file is empty"));
    let e = error("@classLabel true a\n");
    assert!(
        e.ends_with("the header ends without @data: no series follow"),
        "{e}"
    );
    let e = error("@classLabel true a\n@data\n\n");
    assert!(e.ends_with("no series after @data (line 2)"), "{e}");
    // Even when the header gives both the dimensions and the length.
    let e = error("@univariate true\n@seriesLength 3\n@classLabel true a\n@data\n# none\n");
    assert!(e.ends_with("no series after @data (line 4)"), "{e}");
    let e = error("1,2,3:a\n");
    assert!(e.contains("line 1: '1,2,3:a' before @data"), "{e}");
    // A file cut in the middle of its last line.
    let e = error(&format!("{MULTI}1,2,3:4,5,6:a\n1,2,3:4,"));
    assert!(
        e.contains("line 9: 1 dimensions where the first series"),
        "{e}"
    );
    let e = error(&format!("{MULTI}1,2,3:4,5,6:a\n1,2,3:4,5,6"));
    assert!(e.contains("line 9: 1 dimensions"), "{e}");
    let e = error("@classLabel true a\n@data\n1,2:a\n1,");
    assert!(e.contains("line 4: no ':' before a class label"), "{e}");
    let (_d, p) = write("");
    std::fs::write(&p, b"@classLabel true a\n@data\n1,\xff:a\n").unwrap();
    let e = load_ts(&p).unwrap_err().to_string();
    assert!(e.ends_with("line 3: not UTF-8 text"), "{e}");
}

#[test]
fn refuses_what_does_not_train_as_it_is() {
    let e = error("@timeStamps true\n@classLabel true a\n@data\n(1,2):a\n");
    assert!(
        e.contains("line 1: @timeStamps true: series with time stamps are not supported"),
        "{e}"
    );
    let e = error("@targetlabel true\n@data\n1,2:0.5\n");
    assert!(
        e.contains("line 1: @targetlabel true: this is a regression set"),
        "{e}"
    );
    let e = error("@classLabel false\n@data\n1,2\n");
    assert!(
        e.contains("line 2: @classLabel false: the series have no class labels"),
        "{e}"
    );
    let e = error("@problemName x\n@data\n1,2:a\n");
    assert!(e.contains("line 2: no @classLabel line"), "{e}");
}

#[test]
fn refuses_a_malformed_header() {
    let cases = [
        (
            "@classLabel true\n",
            "line 1: @classLabel true lists no class names",
        ),
        (
            "@classLabel true a b a\n",
            "line 1: @classLabel lists 'a' twice",
        ),
        (
            "@classLabel maybe a\n",
            "line 1: @classLabel takes true or false, not 'maybe'",
        ),
        ("@missing\n", "line 1: @missing takes true or false, not ''"),
        (
            "@seriesLength 0\n",
            "line 1: @seriesLength takes a positive whole number, not '0'",
        ),
        (
            "@dimensions -3\n",
            "line 1: @dimensions takes a positive whole number, not '-3'",
        ),
        ("@data now\n", "line 1: @data takes no value"),
        (
            "@univariate true\n@dimensions 3\n@classLabel true a\n@data\n",
            "line 4: @univariate true but @dimensions 3",
        ),
    ];
    for (text, want) in cases {
        let e = error(text);
        assert!(e.contains(want), "{text:?}: {e}");
    }
    let many: Vec<String> = (0..257).map(|i| format!("c{i}")).collect();
    let e = error(&format!("@classLabel true {}\n@data\n", many.join(" ")));
    assert!(
        e.contains("@classLabel: 257 classes listed: at most 256 classes"),
        "{e}"
    );
}

#[test]
fn a_huge_series_length_is_compared_not_allocated() {
    let e = error("@seriesLength 18446744073709551615\n@classLabel true a\n@data\n1,2:a\n");
    assert!(
        e.contains("has 2 values where @seriesLength has 18446744073709551615"),
        "{e}"
    );
    let e = error("@seriesLength 99999999999999999999999\n");
    assert!(e.contains("takes a positive whole number"), "{e}");
}

#[test]
fn a_pair_maps_test_labels_to_the_training_classes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("X_TRAIN.ts"),
        "@classLabel true a b c\n@data\n1:a\n2:c\n",
    )
    .unwrap();
    std::fs::write(
        d.join("X_TEST.ts"),
        "@classLabel true c a\n@data\n3:c\n4:a\n",
    )
    .unwrap();
    let (train, test) = ts_pair(d).unwrap().unwrap();
    let (tr, te, classes) = load_ts_pair(&train, &test).unwrap();
    assert_eq!((tr.y, te.y.clone()), (vec![0, 2], vec![2, 0]));
    assert_eq!((te.num_classes, classes.len()), (3, 3));
    std::fs::write(
        d.join("X_TEST.ts"),
        "@classLabel true a z\n@data\n3:a\n4:z\n",
    )
    .unwrap();
    let e = load_ts_pair(&train, &test).unwrap_err().to_string();
    assert!(e.contains("X_TEST.ts: series 2 has class 'z', which the training file's @classLabel (a b c) does not list"), "{e}");
    std::fs::write(d.join("Y_TRAIN.ts"), "").unwrap();
    let e = ts_pair(d).unwrap_err().to_string();
    assert!(e.contains("exactly one *_TRAIN.ts and one *_TEST.ts, found [X_TRAIN.ts, Y_TRAIN.ts] and [X_TEST.ts]"), "{e}");
    let e = tempfile::tempdir().unwrap();
    std::fs::write(e.path().join("train.ts"), "").unwrap();
    assert!(
        ts_pair(e.path())
            .unwrap_err()
            .to_string()
            .contains("test.ts is missing")
    );
}

#[test]
fn no_mutation_of_a_valid_file_panics() {
    use rand::{Rng, SeedableRng};
    let valid = format!("{MULTI}1,2,3:4,5,6:a\n7,8,9:10,11,12:b\n");
    let pieces: [&[u8]; 10] = [
        b"@", b":", b",", b"#", b"?", b"\n", b" ", b"1e40", b"\xff", b"-",
    ];
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("m.ts");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    for _ in 0..400 {
        let mut bytes = valid.as_bytes().to_vec();
        for _ in 0..rng.random_range(1..4) {
            let at = rng.random_range(0..=bytes.len());
            match rng.random_range(0..3) {
                0 => bytes.truncate(at),
                1 if at < bytes.len() => {
                    bytes.remove(at);
                }
                _ => {
                    let piece = pieces[rng.random_range(0..pieces.len())];
                    bytes.splice(at..at, piece.iter().copied());
                }
            }
        }
        std::fs::write(&p, &bytes).unwrap();
        if let Ok((d, classes)) = load_ts(&p) {
            assert_eq!(d.x.len(), d.len() * d.features());
            assert!(d.y.iter().all(|&y| (y as usize) < classes.len()));
        }
    }
}
