//! The two semihosting calls the check needs (console output, exit with a status), so the
//! harness depends on nothing but cortex-m-rt.

use core::fmt;

const SYS_WRITE0: u32 = 0x04;
const SYS_EXIT_EXTENDED: u32 = 0x20;
const ADP_STOPPED_APPLICATION_EXIT: u32 = 0x20026;

fn call(op: u32, arg: *const u8) -> u32 {
    let r: u32;
    // SAFETY: BKPT 0xAB is the semihosting trap; QEMU (run with -semihosting-config
    // enable=on) reads r0/r1 and `arg`'s memory and writes r0. Without a debugger or QEMU
    // semihosting this would fault, which is why the harness only runs under QEMU.
    unsafe { core::arch::asm!("bkpt 0xab", inout("r0") op => r, in("r1") arg, options(nostack)) };
    r
}

/// Semihosting console, one NUL-terminated chunk at a time.
pub struct Out;

impl fmt::Write for Out {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut buf = [0u8; 65];
        for chunk in s.as_bytes().chunks(64) {
            buf[..chunk.len()].copy_from_slice(chunk);
            buf[chunk.len()] = 0;
            call(SYS_WRITE0, buf.as_ptr());
        }
        Ok(())
    }
}

/// Ends QEMU with `code` as its exit status.
pub fn exit(code: u32) -> ! {
    let block = [ADP_STOPPED_APPLICATION_EXIT, code];
    call(SYS_EXIT_EXTENDED, block.as_ptr().cast());
    loop {}
}
