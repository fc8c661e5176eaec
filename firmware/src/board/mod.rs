//! What every board shares: the log transport, exit through semihosting, and the panic and
//! HardFault handlers that log and exit with their own status instead of hanging.

use crate::exit_code;
// Linked for its `critical-section-single-core` implementation, which defmt's loggers need.
use cortex_m as _;
use cortex_m_rt::{ExceptionFrame, exception};

#[cfg(feature = "qemu")]
pub mod cmsdk_uart;
pub mod stack;
#[cfg(feature = "own-vectors")]
mod vectors;

#[cfg(all(feature = "semihosting", feature = "rtt"))]
compile_error!("pick one board feature: its log transport is either semihosting or RTT");

#[cfg(feature = "rtt")]
use defmt_rtt as _;
// The device crate supplies the nRF52840's interrupt vector table to every image.
#[cfg(feature = "semihosting")]
use defmt_semihosting as _;
#[cfg(feature = "nrf52840")]
use nrf52840_hal as _;

/// The board this image was built for, as the boot line names it.
pub const NAME: &str = if cfg!(feature = "qemu") {
    "QEMU mps2-an386/an385 (MPS2 memory map)"
} else if cfg!(feature = "netduinoplus2") {
    "QEMU netduinoplus2 (STM32F405, Cortex-M4F)"
} else if cfg!(feature = "microbit") {
    "QEMU microbit (nRF51822, Cortex-M0)"
} else if cfg!(feature = "nrf52840") {
    "nRF52840-DK (Cortex-M4F)"
} else {
    "unknown board"
};

/// Ends the run with `code`: QEMU exits with it (`-semihosting-config enable=on`), and so
/// does `probe-rs run`. On a board with no debugger attached the semihosting call faults;
/// the HardFault handler then halts the core.
pub fn exit(code: i32) -> ! {
    semihosting::process::exit(code)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    // The location and a static message are enough to find the line, and keep core::fmt's
    // formatting machinery (several KB) out of the image.
    let (file, line) = info.location().map_or(("?", 0), |l| (l.file(), l.line()));
    let msg = info.message().as_str().unwrap_or("(formatted message)");
    error!("panic at {=str}:{=u32}: {=str}", file, line, msg);
    exit(exit_code::PANIC)
}

#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    error!(
        "HardFault: pc={=u32:#010x} lr={=u32:#010x} xpsr={=u32:#010x}",
        frame.pc(),
        frame.lr(),
        frame.xpsr()
    );
    // Without a debugger the semihosting call faults again; a fault inside HardFault locks
    // the core up, which halts it: the right end for a board nobody watches.
    exit(exit_code::HARD_FAULT)
}
