//! nRF52840-DK: the sensor application on real peripherals. Frames arrive over SPIM3 from a
//! frame source wired to the Arduino header (protocol in `app.rs`); the class shows in binary
//! on LED1..LED4 (active low), and each class is logged over RTT.
//!
//! Wiring (DK silkscreen → nRF pin): D13 SCK = P1.15, D11 MOSI = P1.13, D12 MISO = P1.14,
//! D10 CS = P1.12; LED1..LED4 = P0.13..P0.16.
#![no_std]
#![no_main]

use embedded_hal_bus::spi::ExclusiveDevice;
use microdistill_firmware::app::{App, AppError, ClassPins, FrameError, FrameSensor};
use microdistill_firmware::{board, boot, embedded, exit_code, model::RuntimeClassifier};
use nrf52840_hal::gpio::{Level, p0, p1};
use nrf52840_hal::pac;
use nrf52840_hal::spim::{self, Spim};

#[cortex_m_rt::entry]
fn main() -> ! {
    let verified = boot::verified_model();
    let Some(p) = pac::Peripherals::take() else {
        defmt::error!("peripherals already taken");
        board::exit(exit_code::PANIC)
    };
    let (port0, port1) = (p0::Parts::new(p.P0), p1::Parts::new(p.P1));
    let pins = spim::Pins {
        sck: Some(port1.p1_15.into_push_pull_output(Level::Low).degrade()),
        mosi: Some(port1.p1_13.into_push_pull_output(Level::Low).degrade()),
        miso: Some(port1.p1_14.into_floating_input().degrade()),
    };
    let bus = Spim::new(p.SPIM3, pins, spim::Frequency::M8, spim::MODE_0, 0x00);
    let cs = port1.p1_12.into_push_pull_output(Level::High);
    // The GPIO's OutputPin error is Infallible: the CS pin cannot fail to go high.
    let Ok(spi) = ExclusiveDevice::new_no_delay(bus, cs);
    let led = |pin: nrf52840_hal::gpio::Pin<_>| pin.into_push_pull_output(Level::High);
    let leds = [
        led(port0.p0_13.degrade()),
        led(port0.p0_14.degrade()),
        led(port0.p0_15.degrade()),
        led(port0.p0_16.degrade()),
    ];

    let mut scratch = [0u8; embedded::SCRATCH_LEN];
    let mut logits = [0i8; embedded::CLASSES];
    let classifier =
        match RuntimeClassifier::new(*boot::model(&verified), &mut scratch, &mut logits) {
            Ok(c) => c,
            Err(e) => {
                defmt::error!("buffers do not fit the model: {}", e);
                board::exit(exit_code::BAD_MODEL)
            }
        };
    let mut app = App {
        source: FrameSensor::new(spi),
        classifier,
        sink: ClassPins::new(leds, true),
    };
    let mut frame = [0i8; embedded::FEATURES];
    defmt::info!("waiting for frames on SPIM3");
    loop {
        match app.step(&mut frame) {
            Ok(Some(class)) => {
                let name = app.classifier.model.class_name(usize::from(class));
                defmt::info!("class {=u8} ({=str})", class, name.unwrap_or("?"));
            }
            // Poll again in about a millisecond (64 MHz core clock).
            Ok(None) => cortex_m::asm::delay(64_000),
            Err(AppError::Frame(FrameError::Checksum { expected, got })) => {
                defmt::warn!(
                    "frame dropped: checksum {=u8:#04x}, computed {=u8:#04x}",
                    expected,
                    got
                )
            }
            Err(AppError::Model(e)) => defmt::error!("inference failed: {}", e),
            Err(_) => defmt::error!("SPI or LED error; retrying"),
        }
    }
}
