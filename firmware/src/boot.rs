//! What every image does first: name itself, hash the embedded artifact, parse it.

use crate::{board, embedded, exit_code, hex};
use runtime_nostd::{Kind, Model};
use sha2::{Digest, Sha256};

/// Logs the board and the artifact's SHA-256 (the same hex `export` and the host tests
/// print), checks it against the hash taken at build time, and parses the model. Any failure
/// ends the run with its own exit status: nothing runs on an artifact that is not the tested one.
#[inline(never)] // its parsing tables must not stay in the caller's (never-returning) frame
pub fn verified_model() -> Model<'static> {
    info!(
        "microdistill firmware {=str} for {=str}, built for {=str}",
        env!("CARGO_PKG_VERSION"),
        board::NAME,
        embedded::TARGET
    );
    let bytes = embedded::model();
    let digest: [u8; 32] = Sha256::digest(bytes).into();
    let mut buf = [0u8; 64];
    info!(
        "artifact {=str}: {=usize} bytes, sha256 {=str}",
        embedded::MODEL_NAME,
        bytes.len(),
        hex::encode(&digest, &mut buf)
    );
    if digest != embedded::MODEL_SHA256 {
        error!("artifact in flash differs from the one embedded at build time");
        board::exit(exit_code::CORRUPT_MODEL);
    }
    let model = match Model::from_bytes(bytes) {
        Ok(m) => m,
        Err(e) => {
            error!("artifact does not parse: {}", e);
            board::exit(exit_code::BAD_MODEL)
        }
    };
    let kind = match model.kind() {
        Kind::Mlp => "mlp",
        Kind::Tree => "tree",
    };
    info!(
        "model: {=str}, {=usize} inputs, {=usize} classes, {=usize} MACs, scratch {=usize} B",
        kind,
        model.input_len(),
        model.num_classes(),
        model.macs(),
        model.scratch_len()
    );
    if model.input_len() != embedded::FEATURES || model.num_classes() != embedded::CLASSES {
        error!(
            "test vectors are {=usize}x{=usize}, the model wants that many inputs x classes",
            embedded::FEATURES,
            embedded::CLASSES
        );
        board::exit(exit_code::BAD_VECTORS);
    }
    model
}
