//! The sensor application, generic over embedded-hal 1.0 at its edges: a frame source on an
//! `SpiDevice`, the model behind [`Classifier`], the class shown on `OutputPin`s.
//!
//! The frame source is any SPI peripheral speaking this small protocol (a camera/feature
//! co-processor, another MCU, a test rig); the README has the wire format:
//! * `STATUS`: write `[0x53]`, read 1 byte; bit 0 set ⇒ a frame is ready.
//! * `READ_FRAME`: write `[0x46, len_hi, len_lo]`, read `len` bytes of quantized int8 input,
//!   then 1 byte: the wrapping sum of those bytes, so a corrupted transfer is rejected rather
//!   than classified.

use embedded_hal::digital::OutputPin;
use embedded_hal::spi::{Operation, SpiDevice};

/// Ask whether a frame is ready.
pub const CMD_STATUS: u8 = 0x53;
/// Bit of the status byte that says a frame is ready.
pub const STATUS_FRAME_READY: u8 = 0x01;
/// Read one frame and its checksum.
pub const CMD_READ_FRAME: u8 = 0x46;

/// What the application needs from a model: a class for one quantized input frame.
pub trait Classifier {
    type Error;
    /// Input length in int8 values.
    fn input_len(&self) -> usize;
    fn classify(&mut self, input: &[i8]) -> Result<u8, Self::Error>;
}

/// Everything that can stop one step, by origin.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum AppError<S, P, M> {
    Spi(S),
    Pin(P),
    Model(M),
    /// The frame's checksum byte did not match its content.
    Checksum {
        expected: u8,
        got: u8,
    },
    /// The frame buffer is not the model's input length, or longer than the protocol's u16.
    FrameLength(usize),
    /// The class does not fit on the output pins.
    ClassTooLarge(u8),
}

/// Frame source on an SPI device (the device owns chip select, as embedded-hal 1.0 asks).
pub struct FrameSensor<SPI> {
    spi: SPI,
}

impl<SPI: SpiDevice> FrameSensor<SPI> {
    pub fn new(spi: SPI) -> Self {
        Self { spi }
    }

    pub fn release(self) -> SPI {
        self.spi
    }

    pub fn frame_ready(&mut self) -> Result<bool, SPI::Error> {
        let mut status = [0u8];
        self.spi.transaction(&mut [
            Operation::Write(&[CMD_STATUS]),
            Operation::Read(&mut status),
        ])?;
        Ok(status[0] & STATUS_FRAME_READY != 0)
    }

    /// Read `frame.len()` bytes into `frame` and check them against the trailing checksum.
    pub fn read_frame<P, M>(&mut self, frame: &mut [i8]) -> Result<(), AppError<SPI::Error, P, M>> {
        let len = u16::try_from(frame.len()).map_err(|_| AppError::FrameLength(frame.len()))?;
        let [hi, lo] = len.to_be_bytes();
        let mut checksum = [0u8];
        self.spi
            .transaction(&mut [
                Operation::Write(&[CMD_READ_FRAME, hi, lo]),
                Operation::Read(as_bytes_mut(frame)),
                Operation::Read(&mut checksum),
            ])
            .map_err(AppError::Spi)?;
        let sum = frame.iter().fold(0u8, |s, &v| s.wrapping_add(v as u8));
        if sum != checksum[0] {
            return Err(AppError::Checksum {
                expected: checksum[0],
                got: sum,
            });
        }
        Ok(())
    }
}

/// Reads an int8 frame straight from the bus, with no second buffer.
fn as_bytes_mut(frame: &mut [i8]) -> &mut [u8] {
    // SAFETY: i8 and u8 have the same size and alignment and every bit pattern is valid for
    // both; the returned slice borrows `frame` exclusively for its whole life.
    unsafe { core::slice::from_raw_parts_mut(frame.as_mut_ptr().cast::<u8>(), frame.len()) }
}

/// The class as a binary code on N pins, least significant bit on `pins[0]`.
pub struct ClassPins<P, const N: usize> {
    pins: [P; N],
    /// Board LEDs are often wired to light when the pin is low (nRF52840-DK).
    active_low: bool,
}

impl<P: OutputPin, const N: usize> ClassPins<P, N> {
    pub fn new(pins: [P; N], active_low: bool) -> Self {
        Self { pins, active_low }
    }

    pub fn release(self) -> [P; N] {
        self.pins
    }

    pub fn show<S, M>(&mut self, class: u8) -> Result<(), AppError<S, P::Error, M>> {
        if N < 8 && u32::from(class) >= 1 << N {
            return Err(AppError::ClassTooLarge(class));
        }
        for (bit, pin) in self.pins.iter_mut().enumerate() {
            let on = (class >> bit) & 1 == 1;
            pin.set_state((on != self.active_low).into())
                .map_err(AppError::Pin)?;
        }
        Ok(())
    }
}

/// Sensor → model → pins.
pub struct App<SPI, P, C, const N: usize> {
    pub sensor: FrameSensor<SPI>,
    pub pins: ClassPins<P, N>,
    pub classifier: C,
}

type StepError<SPI, P, C> = AppError<
    <SPI as embedded_hal::spi::ErrorType>::Error,
    <P as embedded_hal::digital::ErrorType>::Error,
    <C as Classifier>::Error,
>;

impl<SPI: SpiDevice, P: OutputPin, C: Classifier, const N: usize> App<SPI, P, C, N> {
    /// One poll: `None` if no frame was ready, else the class now shown on the pins.
    /// `frame` is the caller's buffer of the model's input length.
    pub fn step(&mut self, frame: &mut [i8]) -> Result<Option<u8>, StepError<SPI, P, C>> {
        if frame.len() != self.classifier.input_len() {
            return Err(AppError::FrameLength(frame.len()));
        }
        if !self.sensor.frame_ready().map_err(AppError::Spi)? {
            return Ok(None);
        }
        self.sensor.read_frame(frame)?;
        let class = self.classifier.classify(frame).map_err(AppError::Model)?;
        self.pins.show(class)?;
        Ok(Some(class))
    }
}
