//! The CNN's two weight layouts and the one place that converts between them: the float model
//! and the ONNX twin use PyTorch's channels-first layouts (OIHW, dense columns in CHW flatten
//! order); the artifact the runtime runs channels-last (OHWI, dense columns in HWC order),
//! as FORMAT.md's CNN section specifies.
use runtime_nostd::format::cnn::{Layer, Shape};

/// The artifact's shape of a weighted layer's `weight` tensor on input `i`.
pub fn artifact_shape(layer: Layer, i: Shape, is_sequence: bool) -> Vec<usize> {
    let (kh, kw) = layer.window(is_sequence);
    match layer {
        Layer::Conv { out, .. } => vec![out, kh, kw, i.c],
        Layer::DwConv { .. } => vec![i.c, kh, kw, 1],
        Layer::Dense(out) => vec![out, i.len()],
        _ => Vec::new(),
    }
}

/// Float layout → artifact layout (any element type).
pub fn to_artifact<T: Copy>(layer: Layer, i: Shape, is_sequence: bool, w: &[T]) -> Vec<T> {
    permute(layer, i, is_sequence, w, true)
}

/// Artifact layout → float layout.
pub fn to_float<T: Copy>(layer: Layer, i: Shape, is_sequence: bool, w: &[T]) -> Vec<T> {
    permute(layer, i, is_sequence, w, false)
}

/// Moves every weight between the two layouts; `forward` is float → artifact. A row (one
/// output channel) keeps its values, only their order within the row changes.
fn permute<T: Copy>(layer: Layer, i: Shape, is_sequence: bool, w: &[T], forward: bool) -> Vec<T> {
    let (kh, kw) = layer.window(is_sequence);
    // (channels, rows, cols) of one output's row: CHW in the float layout, HWC in the artifact.
    let (c, h, ww) = match layer {
        Layer::Conv { .. } => (i.c, kh, kw),
        Layer::Dense(_) => (i.c, i.h, i.w),
        // A depthwise row is one channel's KH×KW filter: the same in both layouts.
        _ => return w.to_vec(),
    };
    let row = c * h * ww;
    let mut out = w.to_vec();
    for (src, dst) in w.chunks_exact(row).zip(out.chunks_exact_mut(row)) {
        for ch in 0..c {
            for y in 0..h {
                for x in 0..ww {
                    let chw = (ch * h + y) * ww + x;
                    let hwc = (y * ww + x) * c + ch;
                    let (from, to) = if forward { (chw, hwc) } else { (hwc, chw) };
                    dst[to] = src[from];
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conv_rows_go_from_oihw_to_ohwi_and_back() {
        let conv = Layer::parse("conv 2 k2 s1 valid").unwrap();
        let i = Shape { c: 3, h: 4, w: 4 };
        // Value = o·100 + c·10 + ky·2 + kx, laid out OIHW.
        let mut w = Vec::new();
        for o in 0..2 {
            for c in 0..3 {
                for k in 0..4 {
                    w.push(o * 100 + c * 10 + k);
                }
            }
        }
        let a = to_artifact(conv, i, false, &w);
        // OHWI: for o = 0, position (0, 0) holds channels 0, 1, 2, then position (0, 1).
        assert_eq!(&a[..6], &[0, 10, 20, 1, 11, 21]);
        assert_eq!(a[12], 100);
        assert_eq!(to_float(conv, i, false, &a), w);
        assert_eq!(artifact_shape(conv, i, false), vec![2, 2, 2, 3]);
    }

    #[test]
    fn dense_columns_follow_the_runtime_hwc_flatten() {
        let dense = Layer::Dense(1);
        let i = Shape { c: 2, h: 1, w: 3 };
        // CHW columns: c0 t0..t2, c1 t0..t2.
        let w = [0, 1, 2, 10, 11, 12];
        assert_eq!(to_artifact(dense, i, true, &w), vec![0, 10, 1, 11, 2, 12]);
        let dw = Layer::parse("dwconv k3").unwrap();
        assert_eq!(to_artifact(dw, i, true, &w), w.to_vec());
    }
}
