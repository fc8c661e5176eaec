//! The external-interrupt part of the vector table, sized to the part rather than
//! cortex-m-rt's generic 240 entries (960 bytes of flash, more than 5 % of the code).
//!
//! No image enables an interrupt, so none of these vectors is ever taken; each points to
//! cortex-m-rt's `DefaultHandler` all the same, for every IRQ number the part has: the MPS2
//! FPGA images' 32 (CMSDK), the STM32F405's 82, the nRF51822's 32. The nRF52840 image gets
//! its table (and `device.x`) from its PAC instead.

/// External interrupts of the part this image is linked for.
const IRQS: usize = if cfg!(feature = "netduinoplus2") {
    82
} else {
    32
};

unsafe extern "C" {
    /// cortex-m-rt's default exception handler (an endless loop unless an image defines one).
    fn DefaultHandler();
}

#[unsafe(link_section = ".vector_table.interrupts")]
#[unsafe(no_mangle)]
static __INTERRUPTS: [unsafe extern "C" fn(); IRQS] = [DefaultHandler; IRQS];
