//! Executes a permanently undefined instruction: the UsageFault escalates to HardFault (no
//! configurable fault handler is enabled), which must log the PC and exit with
//! `exit_code::HARD_FAULT`.
#![no_std]
#![no_main]

use microdistill_firmware as _;

#[cortex_m_rt::entry]
fn main() -> ! {
    defmt::info!("check-hardfault: executing UDF on purpose");
    cortex_m::asm::udf()
}
