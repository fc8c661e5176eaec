//! The artifact and test vectors `build.rs` embedded, as typed statics.

use crate::selftest::Vectors;

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));

/// Word alignment for the artifact: the runtime reads multi-byte values with `from_le_bytes`
/// and needs none, but aligned weight rows keep the kernels' word loads on the fast path.
#[repr(C, align(8))]
pub struct Aligned<T: ?Sized>(pub T);

/// The `*.int8.safetensors` bytes, exactly as the host tested them (named, so footprint.sh
/// finds its size in the ELF's symbol table).
static MODEL_BYTES: Aligned<[u8; MODEL_LEN]> =
    Aligned(*include_bytes!(concat!(env!("OUT_DIR"), "/model.bin")));

static X_Q: [u8; VECTORS * FEATURES] = *include_bytes!(concat!(env!("OUT_DIR"), "/x_q.bin"));
static CLASS: [u8; VECTORS] = *include_bytes!(concat!(env!("OUT_DIR"), "/class.bin"));
static LOGITS: [u8; VECTORS * CLASSES] = *include_bytes!(concat!(env!("OUT_DIR"), "/logits.bin"));
static LABEL: [u8; LABELS] = *include_bytes!(concat!(env!("OUT_DIR"), "/label.bin"));

pub fn model() -> &'static [u8] {
    &MODEL_BYTES.0
}

pub fn vectors() -> Vectors<'static> {
    Vectors {
        x_q: as_i8(&X_Q),
        class: &CLASS,
        logits: as_i8(&LOGITS),
        label: &LABEL,
        features: FEATURES,
        classes: CLASSES,
    }
}

/// The files store int8 tensors as raw bytes.
fn as_i8(bytes: &'static [u8]) -> &'static [i8] {
    // SAFETY: u8 and i8 have the same size and alignment and every bit pattern is valid for
    // both; the source is an immutable static.
    unsafe { core::slice::from_raw_parts(bytes.as_ptr().cast::<i8>(), bytes.len()) }
}

/// `len` int8 weights at byte `offset` of the artifact (see `DENSE_LAYERS`).
pub fn weights(offset: usize, len: usize) -> &'static [i8] {
    as_i8(&MODEL_BYTES.0[offset..offset + len])
}
