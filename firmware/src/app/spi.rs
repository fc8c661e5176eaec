//! Frames from an SPI peripheral (the device owns chip select, as embedded-hal 1.0 asks):
//! * `STATUS`: write `[0x53]`, read 1 byte; bit 0 set ⇒ a frame is ready.
//! * `READ_FRAME`: write `[0x46, len_hi, len_lo]`, read `len` int8 values, then 1 byte: the
//!   wrapping sum of those bytes.

use super::{FrameError, FrameSource, as_bytes_mut, checksum};
use embedded_hal::spi::{Operation, SpiDevice};

/// Ask whether a frame is ready.
pub const CMD_STATUS: u8 = 0x53;
/// Bit of the status byte that says a frame is ready.
pub const STATUS_FRAME_READY: u8 = 0x01;
/// Read one frame and its checksum.
pub const CMD_READ_FRAME: u8 = 0x46;

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
}

impl<SPI: SpiDevice> FrameSource for FrameSensor<SPI> {
    type Error = SPI::Error;

    fn next_frame(&mut self, frame: &mut [i8]) -> Result<bool, FrameError<SPI::Error>> {
        let len = u16::try_from(frame.len()).map_err(|_| FrameError::Length(frame.len()))?;
        let mut status = [0u8];
        self.spi
            .transaction(&mut [
                Operation::Write(&[CMD_STATUS]),
                Operation::Read(&mut status),
            ])
            .map_err(FrameError::Io)?;
        if status[0] & STATUS_FRAME_READY == 0 {
            return Ok(false);
        }
        let [hi, lo] = len.to_be_bytes();
        let mut sum = [0u8];
        self.spi
            .transaction(&mut [
                Operation::Write(&[CMD_READ_FRAME, hi, lo]),
                Operation::Read(as_bytes_mut(frame)),
                Operation::Read(&mut sum),
            ])
            .map_err(FrameError::Io)?;
        let got = checksum(frame);
        if got != sum[0] {
            return Err(FrameError::Checksum {
                expected: sum[0],
                got,
            });
        }
        Ok(true)
    }
}
