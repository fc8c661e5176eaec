//! UART0 of the MPS2 FPGA images (an ARM CMSDK APB UART at 0x4000_4000, as QEMU's
//! `mps2-an385`/`mps2-an386` model it), as embedded-io `Read` and `Write` halves.

use core::convert::Infallible;

const BASE: usize = 0x4000_4000;
const DATA: usize = 0x00;
const STATE: usize = 0x04;
const CTRL: usize = 0x08;
const BAUDDIV: usize = 0x10;
const STATE_TX_FULL: u32 = 1 << 0;
const STATE_RX_FULL: u32 = 1 << 1;
const CTRL_TX_EN: u32 = 1 << 0;
const CTRL_RX_EN: u32 = 1 << 1;
/// The smallest divider the CMSDK UART accepts (QEMU drops output below it).
const MIN_BAUDDIV: u32 = 16;

fn read(offset: usize) -> u32 {
    // SAFETY: an always-mapped, word-aligned device register of this board's UART0.
    unsafe { ((BASE + offset) as *const u32).read_volatile() }
}

fn write(offset: usize, value: u32) {
    // SAFETY: as in `read`; only the halves below write, each to its own registers, and
    // CTRL/BAUDDIV only once, in `take`.
    unsafe { ((BASE + offset) as *mut u32).write_volatile(value) }
}

/// Receive half: reads `DATA` and `STATE` only.
pub struct UartRx(());
/// Transmit half: writes `DATA`, reads `STATE` only.
pub struct UartTx(());

/// Enables UART0 and hands out its two halves, once.
pub fn take() -> Option<(UartRx, UartTx)> {
    use core::sync::atomic::{AtomicBool, Ordering::Relaxed};
    static TAKEN: AtomicBool = AtomicBool::new(false);
    // Load then store (Cortex-M0 has no atomic swap), with interrupts off in between.
    cortex_m::interrupt::free(|_| {
        if TAKEN.load(Relaxed) {
            return None;
        }
        TAKEN.store(true, Relaxed);
        write(BAUDDIV, MIN_BAUDDIV);
        write(CTRL, CTRL_TX_EN | CTRL_RX_EN);
        Some((UartRx(()), UartTx(())))
    })
}

impl embedded_io::ErrorType for UartRx {
    type Error = Infallible;
}

impl embedded_io::Read for UartRx {
    /// Blocks until at least one byte has arrived, then takes what is there.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Infallible> {
        let mut n = 0;
        for b in buf.iter_mut() {
            if n > 0 && read(STATE) & STATE_RX_FULL == 0 {
                break;
            }
            while read(STATE) & STATE_RX_FULL == 0 {}
            *b = read(DATA) as u8;
            n += 1;
        }
        Ok(n)
    }
}

impl embedded_io::ErrorType for UartTx {
    type Error = Infallible;
}

impl embedded_io::Write for UartTx {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        for &b in buf {
            while read(STATE) & STATE_TX_FULL != 0 {}
            write(DATA, u32::from(b));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
}
