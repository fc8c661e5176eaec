//! Frames from a byte stream (a UART through embedded-io), classes back as bytes.
//! Stream format, per frame: `0x46, len_hi, len_lo`, `len` int8 values, their wrapping sum;
//! `0x51` instead of a frame ends the stream. Any other byte before a frame is skipped, so a
//! receiver that starts mid-frame finds the next start (a false start fails its checksum).

use super::{ClassSink, FrameError, FrameSource, as_bytes_mut, checksum};
use embedded_io::{Read, ReadExactError, Write};

/// First byte of a frame.
pub const FRAME_START: u8 = 0x46;
/// The peer has no more frames.
pub const END_OF_STREAM: u8 = 0x51;

pub struct StreamFrames<R> {
    port: R,
}

impl<R: Read> StreamFrames<R> {
    pub fn new(port: R) -> Self {
        Self { port }
    }

    pub fn release(self) -> R {
        self.port
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), FrameError<R::Error>> {
        self.port.read_exact(buf).map_err(|e| match e {
            ReadExactError::UnexpectedEof => FrameError::EndOfStream,
            ReadExactError::Other(e) => FrameError::Io(e),
        })
    }
}

impl<R: Read> FrameSource for StreamFrames<R> {
    type Error = R::Error;

    /// Blocks until a whole frame has arrived (a stream has no "not ready").
    fn next_frame(&mut self, frame: &mut [i8]) -> Result<bool, FrameError<R::Error>> {
        let mut byte = [0u8];
        loop {
            self.read_exact(&mut byte)?;
            match byte[0] {
                FRAME_START => break,
                END_OF_STREAM => return Err(FrameError::EndOfStream),
                _ => {}
            }
        }
        let mut len = [0u8; 2];
        self.read_exact(&mut len)?;
        let len = usize::from(u16::from_be_bytes(len));
        if len != frame.len() {
            return Err(FrameError::Length(len));
        }
        self.read_exact(as_bytes_mut(frame))?;
        self.read_exact(&mut byte)?;
        let got = checksum(frame);
        if got != byte[0] {
            return Err(FrameError::Checksum {
                expected: byte[0],
                got,
            });
        }
        Ok(true)
    }
}

/// Each class as one byte on a writer.
pub struct ClassBytes<W> {
    port: W,
}

impl<W: Write> ClassBytes<W> {
    pub fn new(port: W) -> Self {
        Self { port }
    }

    pub fn release(self) -> W {
        self.port
    }
}

impl<W: Write> ClassSink for ClassBytes<W> {
    type Error = W::Error;

    fn show(&mut self, class: u8) -> Result<(), W::Error> {
        self.port.write_all(&[class])?;
        self.port.flush()
    }
}
