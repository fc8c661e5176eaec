//! What every image does first: name itself, hash the embedded artifact, parse it.

use crate::{board, embedded, exit_code, hex};
use runtime_nostd::{Error, Model};
use sha2::{Digest, Sha256};

/// The embedded artifact, hashed and parsed: the parser's `Result` exactly as
/// `Model::from_bytes` returned it (always `Ok`: `verified_model` ends the run otherwise).
/// Passed on unchanged, it is built once, in the caller's frame: taking the model (about
/// 0.5 KB) out of it here would copy it on the boot stack. [`model`] borrows it.
pub type Verified = Result<Model<'static>, Error>;

/// The model inside a [`Verified`] result.
pub fn model(verified: &Verified) -> &Model<'static> {
    match verified {
        Ok(m) => m,
        Err(_) => board::exit(exit_code::BAD_MODEL),
    }
}

/// Logs the board and the artifact's SHA-256 (the same hex `export` and the host tests
/// print), checks it against the hash taken at build time, and parses the model. Any failure
/// ends the run with its own exit status: nothing runs on an artifact that is not the tested one.
#[inline(never)] // its parsing tables must not stay in the caller's (never-returning) frame
pub fn verified_model() -> Verified {
    info!(
        "microdistill firmware {=str} for {=str}, built for {=str}",
        env!("CARGO_PKG_VERSION"),
        board::NAME,
        embedded::TARGET
    );
    let bytes = embedded::model();
    check_sha256(bytes);
    let verified = Model::from_bytes(bytes);
    let model = match &verified {
        Ok(m) => m,
        Err(e) => {
            error!("artifact does not parse: {}", e);
            board::exit(exit_code::BAD_MODEL)
        }
    };
    let kind = model.kind().name();
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
    verified
}

/// Hashes the artifact, logs the digest and ends the run unless it is the build-time one.
/// Its own frame (hasher state, hex buffer), gone before parsing starts.
#[inline(never)]
fn check_sha256(bytes: &[u8]) {
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
}
