//! The one error type of the crate: one variant per way an artifact or a call can be wrong.

use core::fmt;

/// Everything `Model::from_bytes` and `Model::infer` can reject. `Copy`, no payload, so a
/// firmware can log or match it without allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Error {
    // --- safetensors container ---
    /// Fewer than 8 bytes: no header length.
    TooShort,
    /// The header length exceeds `format::MAX_HEADER_LEN`.
    HeaderTooLarge,
    /// The header length points past the end of the buffer.
    HeaderOutOfBounds,
    /// The header is not UTF-8.
    HeaderNotUtf8,
    /// The header does not start with `{`.
    InvalidHeaderStart,
    /// The header is not the JSON shape safetensors writes.
    InvalidJson,
    /// A JSON string contains an escape or a control character (the format forbids them).
    StringEscape,
    /// An integer in the header does not fit in `u64`, or has a sign, fraction or exponent.
    InvalidNumber,
    /// More tensors than `format::MAX_TENSORS`.
    TooManyTensors,
    /// More metadata entries than `format::MAX_METADATA`.
    TooManyMetadata,
    /// A tensor has more dimensions than `format::MAX_DIMS`.
    TooManyDims,
    /// A key appears twice (tensor name, metadata key or field of a tensor entry).
    DuplicateKey,
    /// A tensor entry has a field other than `dtype`, `shape`, `data_offsets`.
    UnknownField,
    /// A tensor entry lacks `dtype`, `shape` or `data_offsets`.
    MissingField,
    /// A dtype other than `I8`, `U8`, `I32`, `F32`.
    UnknownDtype,
    /// `data_offsets` is not two integers with begin <= end.
    InvalidOffsets,
    /// shape × element size differs from the tensor's byte span (or overflows).
    SizeMismatch,
    /// Tensor data are not contiguous from offset 0 (gap or overlap).
    NonContiguous,
    /// The last tensor does not end exactly at the end of the buffer.
    DataLengthMismatch,

    // --- microdistill-int8 metadata and tensors ---
    /// A required metadata key is absent.
    MissingMetadata,
    /// `format` is not `microdistill-int8`.
    WrongFormat,
    /// `format_version` is not one this runtime reads.
    UnsupportedVersion,
    /// `kind` is not `mlp`, `tree` or `cnn`.
    UnknownKind,
    /// `input_shape` is malformed, has a zero dimension or too many dimensions.
    InvalidInputShape,
    /// `classes` is malformed (empty name or more than `format::MAX_CLASSES`).
    InvalidClasses,
    /// `num_layers` is not a decimal in `1..=format::MAX_LAYERS`.
    InvalidNumLayers,
    /// `depth` is not a decimal in `format::MIN_DEPTH..=format::MAX_DEPTH`.
    InvalidDepth,
    /// `layers` is not a CNN `format::cnn::Plan::parse` accepts on `input_shape` for the
    /// classes: bad syntax, too many layers, a layer that does not fit its input, or a last
    /// layer other than `dense C` (`Plan::parse` on the host names the layer and the reason);
    /// or it has more weighted layers than `format::MAX_TENSORS` leaves room for (8).
    InvalidLayers,
    /// A tensor the format requires is absent.
    MissingTensor,
    /// A tensor name the format does not define for this kind.
    UnknownTensor,
    /// A tensor has the wrong dtype.
    WrongDtype,
    /// A tensor has the wrong shape (including a tree whose node count is not 2^d - 1).
    WrongShape,

    // --- quantization parameters ---
    /// `input.mean`/`input.std` not finite, or a std of zero.
    InvalidNormalization,
    /// `input.quant` (input scale) not finite and positive.
    InvalidInputScale,
    /// A zero point outside [-128, 127].
    ZeroPointRange,
    /// A requantization shift outside `format::MIN_SHIFT..=format::MAX_SHIFT`.
    ShiftRange,
    /// A multiplier neither 0 nor in [2^30, 2^31).
    MultiplierRange,
    /// act_min > act_max, or either outside [-128, 127].
    ActivationRange,
    /// A weight of -128 (weights are symmetric, in [-127, 127]).
    WeightRange,
    /// |bias| + 128·Σ|W| of a row reaches 2^31: an i32 accumulator could overflow.
    AccumulatorRange,
    /// A leaf class index >= number of classes.
    LeafClassRange,

    // --- calls ---
    /// The input slice length differs from `Model::input_len`.
    InputLength,
    /// The scratch slice is shorter than `Model::scratch_len`.
    ScratchTooSmall,
    /// The logits slice length differs from `Model::num_classes`.
    LogitsLength,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Error::*;
        let s = match self {
            TooShort => "buffer shorter than the 8-byte header length",
            HeaderTooLarge => "header length exceeds the limit",
            HeaderOutOfBounds => "header extends past the end of the buffer",
            HeaderNotUtf8 => "header is not UTF-8",
            InvalidHeaderStart => "header does not start with '{'",
            InvalidJson => "header is not valid safetensors JSON",
            StringEscape => "header string contains an escape or control character",
            InvalidNumber => "header integer is malformed or too large",
            TooManyTensors => "too many tensors",
            TooManyMetadata => "too many metadata entries",
            TooManyDims => "tensor has too many dimensions",
            DuplicateKey => "duplicate key in header",
            UnknownField => "unknown field in tensor entry",
            MissingField => "tensor entry lacks dtype, shape or data_offsets",
            UnknownDtype => "unknown dtype",
            InvalidOffsets => "invalid data_offsets",
            SizeMismatch => "tensor shape does not match its byte span",
            NonContiguous => "tensor data are not contiguous",
            DataLengthMismatch => "tensor data do not end at the end of the buffer",
            MissingMetadata => "required metadata key missing",
            WrongFormat => "not a microdistill-int8 artifact",
            UnsupportedVersion => "unsupported format version",
            UnknownKind => "unknown model kind",
            InvalidInputShape => "invalid input_shape",
            InvalidClasses => "invalid classes",
            InvalidNumLayers => "invalid num_layers",
            InvalidDepth => "invalid tree depth",
            InvalidLayers => "invalid CNN layers for the input shape and classes",
            MissingTensor => "required tensor missing",
            UnknownTensor => "unknown tensor name",
            WrongDtype => "tensor has the wrong dtype",
            WrongShape => "tensor has the wrong shape",
            InvalidNormalization => "input normalization is not finite or has a zero std",
            InvalidInputScale => "input scale is not finite and positive",
            ZeroPointRange => "zero point outside [-128, 127]",
            ShiftRange => "requantization shift out of range",
            MultiplierRange => "requantization multiplier out of range",
            ActivationRange => "activation clamp range invalid",
            WeightRange => "weight of -128",
            AccumulatorRange => "a row's accumulator could overflow i32",
            LeafClassRange => "leaf class index out of range",
            InputLength => "input length differs from the model's input length",
            ScratchTooSmall => "scratch buffer too small",
            LogitsLength => "logits length differs from the number of classes",
        };
        f.write_str(s)
    }
}
