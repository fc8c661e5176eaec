//! The one definition of the `*.int8.safetensors` format (see `FORMAT.md`): tensor names,
//! metadata keys and values, and the limits the reader enforces; and of the side contracts
//! beside it: the test-vector file ([`vectors`]) and the ONNX twin's input and outputs
//! ([`onnx`]). `export`, `distill`, the firmware's build script and the regression tests
//! import these; nobody retypes them.

use core::fmt;

pub mod cnn;

/// Value of the `format` metadata key.
pub const FORMAT_NAME: &str = "microdistill-int8";
/// Value of the `format_version` metadata key this runtime reads and `export` writes.
pub const FORMAT_VERSION: &str = "1";

/// Metadata keys (`__metadata__`, all values are strings).
pub mod meta {
    pub const FORMAT: &str = "format";
    pub const FORMAT_VERSION: &str = "format_version";
    pub const KIND: &str = "kind";
    pub const INPUT_SHAPE: &str = "input_shape";
    pub const CLASSES: &str = "classes";
    /// MLP only.
    pub const NUM_LAYERS: &str = "num_layers";
    /// Tree only.
    pub const DEPTH: &str = "depth";
    /// CNN only (artifact and float model): the layer list, `cnn::Plan`'s canonical form.
    pub const LAYERS: &str = "layers";
    pub const SOURCE_SHA256: &str = "source_sha256";
    /// Float model (`student.safetensors`) only: hidden sizes joined by `,`.
    pub const HIDDEN: &str = "hidden";
    /// Float model only: free-form TOML.
    pub const CONFIG: &str = "config";
}

/// Values of `meta::KIND`.
pub const KIND_MLP: &str = "mlp";
pub const KIND_TREE: &str = "tree";
pub const KIND_CNN: &str = "cnn";
/// Separator of class names in `meta::CLASSES`.
pub const CLASS_SEPARATOR: char = '|';
/// Separator of dimensions in `meta::INPUT_SHAPE` (`1x28x28`).
pub const SHAPE_SEPARATOR: char = 'x';
/// Separator of hidden sizes in `meta::HIDDEN` (float model).
pub const HIDDEN_SEPARATOR: char = ',';

/// Tensor names shared by both kinds.
pub const INPUT_MEAN: &str = "input.mean";
pub const INPUT_STD: &str = "input.std";
pub const INPUT_QUANT: &str = "input.quant";
pub const INPUT_ZERO_POINT: &str = "input.zero_point";

/// Tree tensors (int8 artifact).
pub const TREE_WEIGHT: &str = "tree.weight";
pub const TREE_WEIGHT_SCALE: &str = "tree.weight_scale";
pub const TREE_BIAS: &str = "tree.bias";
pub const TREE_LEAF_PROBS: &str = "tree.leaf_probs";
pub const TREE_LEAF_CLASS: &str = "tree.leaf_class";

/// Tree tensors of the float model (`student.safetensors`, not read by the runtime).
pub const FLOAT_TREE_INNER_WEIGHT: &str = "tree.inner.weight";
pub const FLOAT_TREE_INNER_BIAS: &str = "tree.inner.bias";
pub const FLOAT_TREE_LEAVES: &str = "tree.leaves";
pub const FLOAT_TREE_BETA: &str = "tree.beta";
/// Calibration / evaluation file tensors.
pub const CALIB_X: &str = "x";
pub const CALIB_Y: &str = "y";

/// The test-vector file `export` writes beside the artifact (`<stem>.vectors.safetensors`):
/// runtime-nostd's own outputs, on the host, for the first evaluation samples. A firmware
/// embeds it and its self-test checks that the device computes the same integers.
pub mod vectors {
    /// Value of the `format` metadata key (`meta::FORMAT`).
    pub const FORMAT_NAME: &str = "microdistill-vectors";

    /// Metadata keys (`__metadata__`, all values are strings).
    pub mod meta {
        /// `format`: [`FORMAT_NAME`](super::FORMAT_NAME). The same key as the artifact's.
        pub const FORMAT: &str = crate::format::meta::FORMAT;
        /// Hex SHA-256 of the `*.int8.safetensors` file the vectors were computed with: a
        /// firmware build refuses vectors that belong to another model.
        pub const ARTIFACT_SHA256: &str = "artifact_sha256";
    }

    /// I8 `[N, F]`: the quantized inputs (`Model::quantize_input`).
    pub const X_Q: &str = "x_q";
    /// I8 `[N, C]`: the int8 logits `Model::infer` wrote. A tree writes its leaf's
    /// distribution as `p − 128`.
    pub const LOGITS: &str = "logits";
    /// U8 `[N]`: the class runtime-nostd predicted.
    pub const CLASS: &str = "class";
    /// U8 `[N]`: the dataset label. Optional: present only when the evaluation data had
    /// labels; a reader must accept a file without it (no ground truth, agreement only).
    pub const LABEL: &str = "label";
    /// F32 `[N, F]`: the raw inputs (before normalization). Optional: `distill eval
    /// --vectors` writes it, for engines that quantize for themselves (the ONNX twin in
    /// onnxruntime, `scripts/onnxruntime_agree.py`); `export`'s firmware vectors do not.
    pub const X: &str = "x";
}

/// The `*.int8.onnx` twin of the artifact (standard ONNX ops, same integers): its input and
/// its outputs, by name and in order. Readers that take outputs by position (tract) use
/// [`output_index`](onnx::output_index) over the lists here.
pub mod onnx {
    /// Float `[N, F]`: raw samples, before normalization (like [`CALIB_X`](super::CALIB_X)).
    pub const INPUT: &str = "x";
    /// Int8 `[N, F]`: the quantized input, computed by the graph (the one value where a float
    /// engine may differ from runtime-nostd, so it is an output).
    pub const X_Q: &str = "x_q";
    /// Int8 `[N, C]`: an MLP's last-layer logits.
    pub const LOGITS: &str = "logits";
    /// Int64 `[N]`: the predicted class (MLP: first maximum of the logits; tree: the leaf's class).
    pub const CLASS: &str = "class";
    /// Uint8 `[N, C]`: a tree's reached-leaf distribution (`tree.leaf_probs` row).
    pub const LEAF_PROBS: &str = "leaf_probs";
    /// Int64 `[N]`: a tree's reached leaf, 0 .. 2^depth − 1.
    pub const LEAF: &str = "leaf";

    /// An MLP graph's outputs, in order.
    pub const MLP_OUTPUTS: [&str; 3] = [X_Q, LOGITS, CLASS];
    /// A tree graph's outputs, in order.
    pub const TREE_OUTPUTS: [&str; 4] = [X_Q, CLASS, LEAF_PROBS, LEAF];

    /// Position of `name` in `outputs` (one of the lists above); usable in a `const`, so a
    /// reader's `output_index(&MLP_OUTPUTS, LOGITS).unwrap()` fails to compile if the
    /// contract loses the output.
    pub const fn output_index(outputs: &[&str], name: &str) -> Option<usize> {
        let mut i = 0;
        while i < outputs.len() {
            if bytes_eq(outputs[i].as_bytes(), name.as_bytes()) {
                return Some(i);
            }
            i += 1;
        }
        None
    }

    const fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
        if a.len() != b.len() {
            return false;
        }
        let mut i = 0;
        while i < a.len() {
            if a[i] != b[i] {
                return false;
            }
            i += 1;
        }
        true
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn output_index_finds_each_output_in_order_and_nothing_else() {
            for list in [&MLP_OUTPUTS[..], &TREE_OUTPUTS[..]] {
                for (i, name) in list.iter().enumerate() {
                    assert_eq!(output_index(list, name), Some(i), "{name}");
                }
            }
            assert_eq!(output_index(&TREE_OUTPUTS, LOGITS), None);
            assert_eq!(output_index(&MLP_OUTPUTS, LEAF), None);
            assert_eq!(output_index(&MLP_OUTPUTS, "x_"), None);
            assert_eq!(output_index(&[], X_Q), None);
        }
    }
}

/// Prefix of MLP layer tensors: `layers.{k}.{suffix}`.
pub const LAYER_PREFIX: &str = "layers.";

/// The per-layer tensors of an MLP, `layers.{k}.{suffix}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerTensor {
    Weight,
    WeightScale,
    Bias,
    Multiplier,
    Shift,
    Output,
    OutputScale,
}

impl LayerTensor {
    /// All per-layer tensors of the int8 artifact.
    pub const ALL: [LayerTensor; 7] = [
        LayerTensor::Weight,
        LayerTensor::WeightScale,
        LayerTensor::Bias,
        LayerTensor::Multiplier,
        LayerTensor::Shift,
        LayerTensor::Output,
        LayerTensor::OutputScale,
    ];

    pub const fn suffix(self) -> &'static str {
        match self {
            LayerTensor::Weight => "weight",
            LayerTensor::WeightScale => "weight_scale",
            LayerTensor::Bias => "bias",
            LayerTensor::Multiplier => "multiplier",
            LayerTensor::Shift => "shift",
            LayerTensor::Output => "output",
            LayerTensor::OutputScale => "output_scale",
        }
    }
}

/// `layers.{k}.{suffix}` without allocation: `layer_name(0, LayerTensor::Bias).to_string()`
/// on the host, `matches` on the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerName {
    pub layer: usize,
    pub tensor: LayerTensor,
}

pub const fn layer_name(layer: usize, tensor: LayerTensor) -> LayerName {
    LayerName { layer, tensor }
}

impl LayerName {
    /// Whether `name` is exactly this tensor's name (decimal layer index, no leading zeros).
    pub fn matches(&self, name: &str) -> bool {
        let Some(rest) = name.strip_prefix(LAYER_PREFIX) else {
            return false;
        };
        // Split at the first '.' (a byte search: no pattern searcher, no panicking path).
        let Some(dot) = rest.bytes().position(|b| b == b'.') else {
            return false;
        };
        let (Some(index), Some(suffix)) = (rest.get(..dot), rest.get(dot + 1..)) else {
            return false;
        };
        parse_decimal(index) == Some(self.layer) && suffix == self.tensor.suffix()
    }
}

impl fmt::Display for LayerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{LAYER_PREFIX}{}.{}", self.layer, self.tensor.suffix())
    }
}

/// `s` split at every `sep` (an ASCII byte), as `str::split` does, but without core's
/// pattern searcher: smaller on a microcontroller, with no panicking path.
pub(crate) fn split_ascii(s: &str, sep: u8) -> impl Iterator<Item = &str> {
    let mut rest = Some(s);
    core::iter::from_fn(move || {
        let r = rest?;
        match r.bytes().position(|b| b == sep) {
            Some(i) => {
                // An ASCII byte is a char boundary on both sides.
                rest = r.get(i + 1..);
                r.get(..i)
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}

/// Strict decimal: ASCII digits, no sign, no leading zero (except "0"), no overflow.
pub fn parse_decimal(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    if b.is_empty() || (b.len() > 1 && b[0] == b'0') {
        return None;
    }
    let mut v: usize = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(usize::from(c - b'0'))?;
    }
    Some(v)
}

// --- limits enforced by the reader ---

/// Largest JSON header accepted, bytes.
pub const MAX_HEADER_LEN: usize = 64 * 1024;
/// Most tensors in one artifact.
pub const MAX_TENSORS: usize = 64;
/// Most `__metadata__` entries.
pub const MAX_METADATA: usize = 32;
/// Most dimensions of one tensor or of `input_shape`.
pub const MAX_DIMS: usize = 4;
/// Most MLP layers (4 common + 7 per layer tensors must fit in `MAX_TENSORS`).
pub const MAX_LAYERS: usize = 8;
/// Tree depth range.
pub const MIN_DEPTH: u32 = 1;
pub const MAX_DEPTH: u32 = 10;
/// Most classes (a tree's `leaf_class` is U8).
pub const MAX_CLASSES: usize = 256;
/// Requantization shift range (inclusive).
pub const MIN_SHIFT: i32 = 1;
pub const MAX_SHIFT: i32 = 62;
/// Smallest non-zero requantization multiplier (2^30); the largest is 2^31 - 1.
pub const MIN_MULTIPLIER: i32 = 1 << 30;

/// Element types of the container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Dtype {
    I8,
    U8,
    I32,
    F32,
}

impl Dtype {
    pub const fn size(self) -> usize {
        match self {
            Dtype::I8 | Dtype::U8 => 1,
            Dtype::I32 | Dtype::F32 => 4,
        }
    }

    /// The safetensors spelling.
    pub const fn name(self) -> &'static str {
        match self {
            Dtype::I8 => "I8",
            Dtype::U8 => "U8",
            Dtype::I32 => "I32",
            Dtype::F32 => "F32",
        }
    }

    pub fn from_name(s: &str) -> Option<Dtype> {
        match s {
            "I8" => Some(Dtype::I8),
            "U8" => Some(Dtype::U8),
            "I32" => Some(Dtype::I32),
            "F32" => Some(Dtype::F32),
            _ => None,
        }
    }
}
