//! Self-test (the default image under QEMU): the embedded model on every embedded test
//! vector, each class and int8 logit compared with the host runtime's; exit 0 only if all
//! agree.
#![no_std]
#![no_main]

use microdistill_firmware::{board, boot, embedded, exit_code, model::log_tree_path, selftest};

#[cortex_m_rt::entry]
fn main() -> ! {
    board::stack::paint();
    let verified = boot::verified_model();
    let model = boot::model(&verified);
    // Two high-water marks: parsing (the header's fixed-capacity tables) and inference.
    let parse_peak = board::stack::peak();
    board::stack::paint();
    let vectors = embedded::vectors();
    // On the stack, sized at build time from the artifact: no static RAM for buffers.
    let mut scratch = [0u8; embedded::SCRATCH_LEN];
    let mut logits = [0i8; embedded::CLASSES];
    defmt::info!("self-test: {=usize} vectors", vectors.len());
    // `run` infers the vectors in order: the first call is vector 0.
    let mut path_logged = false;
    let result = selftest::run(
        &vectors,
        &mut logits,
        |x, logits| {
            let p = model.infer(x, &mut scratch, logits)?;
            // A tree returns the path it took: log the first one (MLP images leave this
            // out at compile time: flash).
            if embedded::IS_TREE
                && let Some(path) = p.path
                && !path_logged
            {
                log_tree_path(model, 0, &path, p.class);
                path_logged = true;
            }
            Ok::<u8, runtime_nostd::Error>(p.class as u8)
        },
        |m| defmt::error!("mismatch: {}", m),
    );
    match result {
        Ok(r) => {
            if r.labeled > 0 {
                defmt::info!(
                    "self-test: {=usize}/{=usize} agree with the host runtime; {=usize}/{=usize} match the label",
                    r.total - r.mismatches,
                    r.total,
                    r.label_hits,
                    r.labeled
                );
            } else {
                // The vectors file had no `label` (unlabelled evaluation data).
                defmt::info!(
                    "self-test: {=usize}/{=usize} agree with the host runtime; no labels, so no accuracy",
                    r.total - r.mismatches,
                    r.total
                );
            }
            defmt::info!(
                "stack peak: {=usize} B while hashing and parsing, {=usize} B while inferring",
                parse_peak,
                board::stack::peak()
            );
            if r.passed() {
                defmt::info!("self-test PASSED");
                board::exit(exit_code::SUCCESS)
            }
            defmt::error!("self-test FAILED");
            board::exit(exit_code::MISMATCH)
        }
        Err((index, e)) => {
            defmt::error!("inference error on vector {=usize}: {}", index, e);
            board::exit(exit_code::INFER_ERROR)
        }
    }
}
