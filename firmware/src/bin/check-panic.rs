//! Panics on purpose: the run must log the location and exit with `exit_code::PANIC`.
#![no_std]
#![no_main]

use microdistill_firmware as _;

#[cortex_m_rt::entry]
fn main() -> ! {
    defmt::info!("check-panic: panicking on purpose");
    // black_box: the optimiser must not see that this always fails.
    let items: [u8; 2] = core::hint::black_box([1, 2]);
    let index = core::hint::black_box(5usize);
    defmt::info!("unreachable: {}", items[index]);
    microdistill_firmware::board::exit(0)
}
