use super::*;
use export::{FloatBody, FloatModel, SoftTree};

/// A tree over inputs of `shape` with `classes` classes and seeded, varied weights.
fn view(shape: &[usize], depth: u32, classes: usize) -> TreeView {
    let f: usize = shape.iter().product();
    let inner = (1usize << depth) - 1;
    // A deterministic spread of signs and magnitudes, so that the bars have something to rank.
    let w = |i: usize| ((i * 7919 % 1000) as f32 - 500.0) / 100.0;
    let model = FloatModel {
        input_shape: shape.to_vec(),
        classes: (0..classes).map(|c| format!("class {c}")).collect(),
        mean: vec![0.0],
        std: vec![1.0],
        body: FloatBody::Tree(SoftTree {
            depth,
            inner_weight: (0..inner * f).map(w).collect(),
            inner_bias: vec![0.0; inner],
            leaves: (0..(inner + 1) * classes).map(w).collect(),
            beta: 1.0,
        }),
        source_sha256: [0; 32],
        config: None,
    };
    TreeView::from_model(&model).unwrap()
}

/// The width and height in a PNG's IHDR chunk.
fn png_size(path: &Path) -> (usize, usize) {
    let b = std::fs::read(path).unwrap();
    assert!(b.starts_with(b"\x89PNG\r\n\x1a\n") && &b[12..16] == b"IHDR");
    let be = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]) as usize;
    (be(16), be(20))
}

#[test]
fn a_wide_table_is_drawn_as_bars_within_the_canvas() {
    // The table: 751 features, depth 4. As a filter strip it needs 24,276 px.
    let t = view(&[751], 4, 2);
    let strip = Layout::with(Art::Filter { scale: 2 }, 4, (751 * 2, 2));
    assert!(strip.canvas.0 > MAX_SIDE, "{:?}", strip.canvas);
    let l = Layout::of(&t);
    assert_eq!(l.art, Art::Bars);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("tree.png");
    tree_png(&p, "wide", &t).unwrap();
    assert_eq!(png_size(&p), l.canvas);
    assert!(l.canvas.0 <= MAX_SIDE && l.canvas.1 <= MAX_SIDE);
}

#[test]
fn a_narrow_table_gets_bars_too_and_an_image_keeps_its_filters() {
    assert_eq!(Layout::of(&view(&[13], 3, 3)).art, Art::Bars);
    let img = view(&[1, 28, 28], 3, 10);
    assert_eq!(Layout::of(&img).art, Art::Filter { scale: 3 });
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("tree.png");
    tree_png(&p, "image", &img).unwrap();
    assert_eq!(png_size(&p), Layout::of(&img).canvas);
}

#[test]
fn an_image_too_wide_for_its_filters_falls_back_to_bars() {
    let t = view(&[1, 2, 600], 5, 4);
    assert_eq!(Layout::of(&t).art, Art::Bars);
    let dir = tempfile::tempdir().unwrap();
    tree_png(&dir.path().join("tree.png"), "wide image", &t).unwrap();
}

#[test]
fn bars_rank_features_by_magnitude() {
    let w = [0.1, -3.0, 2.0, f32::NAN, -3.0, 0.0];
    assert_eq!(top_features(&w, 3), vec![(1, -3.0), (4, -3.0), (2, 2.0)]);
    assert_eq!(top_features(&w, 10).len(), 5);
    assert!(top_features(&[], 5).is_empty());
}
