//! The application, generic over embedded-hal 1.0 / embedded-io at its edges: a frame
//! source, the model behind [`Classifier`], a sink that shows the class.
//!
//! Sources: [`FrameSensor`] (an `SpiDevice`), [`StreamFrames`] (an `embedded_io::Read`, e.g.
//! a UART). Sinks: [`ClassPins`] (`OutputPin`s), [`ClassBytes`] (an `embedded_io::Write`).
//! Both sources check a trailing checksum, so a corrupted transfer is dropped, never
//! classified. Wire formats: `spi.rs`, `stream.rs`, and the README.

pub mod pins;
mod spi;
mod stream;

pub use pins::ClassPins;
pub use spi::{CMD_READ_FRAME, CMD_STATUS, FrameSensor, STATUS_FRAME_READY};
pub use stream::{ClassBytes, END_OF_STREAM, FRAME_START, StreamFrames};

/// What the application needs from a model: a class for one quantized input frame.
pub trait Classifier {
    type Error;
    /// Input length in int8 values.
    fn input_len(&self) -> usize;
    fn classify(&mut self, input: &[i8]) -> Result<u8, Self::Error>;
}

/// Where frames come from.
pub trait FrameSource {
    type Error;
    /// Fills `frame` and returns `true`, or returns `false` when no frame is ready yet.
    fn next_frame(&mut self, frame: &mut [i8]) -> Result<bool, FrameError<Self::Error>>;
}

/// Where the class goes.
pub trait ClassSink {
    type Error;
    fn show(&mut self, class: u8) -> Result<(), Self::Error>;
}

/// Why a frame could not be read.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FrameError<E> {
    /// The bus or the port failed.
    Io(E),
    /// The frame's checksum byte did not match its content.
    Checksum { expected: u8, got: u8 },
    /// The announced or requested length is not the model's input length (or exceeds u16).
    Length(usize),
    /// The peer said it has no more frames (stream sources only).
    EndOfStream,
}

/// Everything that can stop one step, by origin.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum AppError<F, S, M> {
    Frame(FrameError<F>),
    Sink(S),
    Model(M),
    /// The caller's frame buffer is not the model's input length.
    FrameLength(usize),
}

/// Source → model → sink.
pub struct App<F, C, S> {
    pub source: F,
    pub classifier: C,
    pub sink: S,
}

type StepError<F, C, S> =
    AppError<<F as FrameSource>::Error, <S as ClassSink>::Error, <C as Classifier>::Error>;

impl<F: FrameSource, C: Classifier, S: ClassSink> App<F, C, S> {
    /// One poll: `None` if no frame was ready, else the class now shown by the sink.
    /// `frame` is the caller's buffer of the model's input length.
    pub fn step(&mut self, frame: &mut [i8]) -> Result<Option<u8>, StepError<F, C, S>> {
        if frame.len() != self.classifier.input_len() {
            return Err(AppError::FrameLength(frame.len()));
        }
        if !self.source.next_frame(frame).map_err(AppError::Frame)? {
            return Ok(None);
        }
        let class = self.classifier.classify(frame).map_err(AppError::Model)?;
        self.sink.show(class).map_err(AppError::Sink)?;
        Ok(Some(class))
    }
}

/// Wrapping sum of the frame's bytes: the checksum both wire formats carry.
fn checksum(frame: &[i8]) -> u8 {
    frame.iter().fold(0u8, |s, &v| s.wrapping_add(v as u8))
}

/// Reads an int8 frame straight from a byte bus, with no second buffer.
fn as_bytes_mut(frame: &mut [i8]) -> &mut [u8] {
    // SAFETY: i8 and u8 have the same size and alignment and every bit pattern is valid for
    // both; the returned slice borrows `frame` exclusively for its whole life.
    unsafe { core::slice::from_raw_parts_mut(frame.as_mut_ptr().cast::<u8>(), frame.len()) }
}
