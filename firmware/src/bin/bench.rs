//! Deterministic cost of one inference under QEMU mps2-an386, the model's dense layers one by
//! one with each kernel, and the whole `infer`.
//!
//! Run with `-icount shift=7` (ci.sh / README): QEMU then advances virtual time by exactly
//! 2^7 ns per instruction, and the FPGAIO counter ticks at 25 MHz of that time (40 ns), so
//! instructions = ticks × 40 / 128. `bench_mark` is called before and after each region so an
//! exact external instruction counter (a QEMU plugin) can cross-check the same regions.
#![no_std]
#![no_main]

use core::hint::black_box;
use microdistill_firmware::{board, boot, embedded, exit_code};
use runtime_nostd::kernels::{self, prep_words};

/// MPS2 FPGAIO free-running counter (AN386 memory map, FPGAIO block at 0x4002_8000).
const FPGAIO_COUNTER: *const u32 = 0x4002_8018 as *const u32;

fn ticks() -> u32 {
    // SAFETY: a read-only device register of the MPS2 FPGA image, always mapped on this board.
    unsafe { FPGAIO_COUNTER.read_volatile() }
}

/// Marker for an external instruction counter; costs the same few instructions each call.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "C" fn bench_mark() {
    core::sync::atomic::compiler_fence(core::sync::atomic::Ordering::SeqCst);
}

/// Instructions spent in `f`, from the counter (the markers and counter reads included:
/// about a dozen instructions, negligible beside 10^4..10^5).
fn measure(f: impl FnOnce()) -> u32 {
    bench_mark();
    let t0 = ticks();
    f();
    let t1 = ticks();
    bench_mark();
    (t1.wrapping_sub(t0) as u64 * 40 / 128) as u32
}

/// `value / macs` with two decimals, for the log.
fn per_mac(insns: u32, macs: usize) -> (u32, u32) {
    let x100 = (insns as u64 * 100 + macs as u64 / 2) / macs.max(1) as u64;
    ((x100 / 100) as u32, (x100 % 100) as u32)
}

fn report(what: &str, insns: u32, macs: usize) {
    let (i, f) = per_mac(insns, macs);
    defmt::info!(
        "bench {=str}: {=u32} instructions, {=usize} MACs, {=u32}.{=u32:02} per MAC",
        what,
        insns,
        macs,
        i,
        f
    );
}

/// Whether runtime-nostd selected a kernel other than the reference for this build (on a
/// Cortex-M that is the SXTB16/SMLAD one), asked of the runtime rather than re-derived here.
fn dsp_selected() -> bool {
    type DotRows = fn(&[i8], &[i8], &[u32], &mut [i32]) -> bool;
    let selected: DotRows = kernels::selected::dot_rows;
    let reference: DotRows = kernels::reference::dot::dot_rows;
    selected as usize != reference as usize
}

#[cortex_m_rt::entry]
fn main() -> ! {
    let verified = boot::verified_model();
    let model = boot::model(&verified);
    let x = &embedded::vectors().x_q[..embedded::FEATURES];
    let mut prep = [0u32; prep_words(embedded::MAX_DENSE_COLS)];
    let mut acc = [0i32; embedded::MAX_DENSE_ROWS];
    // Inputs of the right length; the kernels' instruction counts do not depend on values.
    let input = |cols: usize| &embedded::vectors().x_q[..cols];

    for (k, &(offset, rows, cols)) in embedded::DENSE_LAYERS.iter().enumerate() {
        let w = embedded::weights(offset, rows * cols);
        let (x, acc) = (input(cols), &mut acc[..rows]);
        defmt::info!("layer {=usize}: {=usize} -> {=usize}", k, cols, rows);
        let n = measure(|| {
            let ok = kernels::reference::dot::prepare(black_box(x), &mut prep)
                && kernels::reference::dot::dot_rows(black_box(w), x, &prep, acc);
            black_box((ok, &acc));
        });
        report("kernels::reference::dot", n, rows * cols);
        if dsp_selected() {
            let n = measure(|| {
                let ok = kernels::selected::prepare(black_box(x), &mut prep)
                    && kernels::selected::dot_rows(black_box(w), x, &prep, acc);
                black_box((ok, &acc));
            });
            report(kernels::SELECTED_NAME, n, rows * cols);
        }
    }

    let mut scratch = [0u8; embedded::SCRATCH_LEN];
    let mut logits = [0i8; embedded::CLASSES];
    let mut result = Ok(0);
    let n = measure(|| {
        result = model
            .infer(black_box(x), &mut scratch, &mut logits)
            .map(|p| p.class)
    });
    defmt::info!(
        "bench infer: runtime-nostd selected {=str} for this build",
        kernels::SELECTED_NAME
    );
    report("infer, whole model", n, model.macs());
    match result {
        Ok(_) => board::exit(exit_code::SUCCESS),
        Err(e) => {
            defmt::error!("inference error: {}", e);
            board::exit(exit_code::INFER_ERROR)
        }
    }
}
