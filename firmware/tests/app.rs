//! The application on the host: the SPI source and pin sink against embedded-hal-mock (every
//! expected bus transaction and pin change listed, `done()` checks nothing else happened), the
//! stream source and byte sink against in-memory embedded-io ports.

use embedded_hal_mock::eh1::MockError;
use embedded_hal_mock::eh1::digital::{Mock as PinMock, State, Transaction as PinTx};
use embedded_hal_mock::eh1::spi::{Mock as SpiMock, Transaction as SpiTx};
use microdistill_firmware::app::pins::PinsError;
use microdistill_firmware::app::{
    App, AppError, CMD_READ_FRAME, CMD_STATUS, ClassBytes, ClassPins, Classifier, END_OF_STREAM,
    FRAME_START, FrameError, FrameSensor, StreamFrames,
};

/// A stand-in model with a rule a test can predict: the index of the largest input value
/// (first one on ties), as a class.
struct ArgMax {
    len: usize,
}

impl Classifier for ArgMax {
    type Error = &'static str;
    fn input_len(&self) -> usize {
        self.len
    }
    fn classify(&mut self, input: &[i8]) -> Result<u8, Self::Error> {
        let best = input.iter().enumerate().rev().max_by_key(|(_, v)| **v);
        best.map(|(i, _)| i as u8).ok_or("empty input")
    }
}

fn sum(frame: &[i8]) -> u8 {
    frame.iter().fold(0u8, |s, &v| s.wrapping_add(v as u8))
}

fn status(ready: bool) -> Vec<SpiTx<u8>> {
    vec![
        SpiTx::transaction_start(),
        SpiTx::write_vec(vec![CMD_STATUS]),
        SpiTx::read(u8::from(ready)),
        SpiTx::transaction_end(),
    ]
}

fn read_frame(frame: &[i8], checksum: Option<u8>) -> Vec<SpiTx<u8>> {
    let len = frame.len() as u16;
    vec![
        SpiTx::transaction_start(),
        SpiTx::write_vec(vec![CMD_READ_FRAME, (len >> 8) as u8, len as u8]),
        SpiTx::read_vec(frame.iter().map(|&v| v as u8).collect()),
        SpiTx::read(checksum.unwrap_or(sum(frame))),
        SpiTx::transaction_end(),
    ]
}

type SpiApp = App<FrameSensor<SpiMock<u8>>, ArgMax, ClassPins<PinMock, 4>>;

fn spi_app(tx: &[SpiTx<u8>], pins: [PinMock; 4], active_low: bool, len: usize) -> SpiApp {
    App {
        source: FrameSensor::new(SpiMock::new(tx)),
        classifier: ArgMax { len },
        sink: ClassPins::new(pins, active_low),
    }
}

fn pins(states: [State; 4]) -> [PinMock; 4] {
    states.map(|s| PinMock::new(&[PinTx::set(s)]))
}

fn idle_pins() -> [PinMock; 4] {
    [(); 4].map(|_| PinMock::new(&[]))
}

fn done(app: SpiApp) {
    app.source.release().done();
    for mut p in app.sink.release() {
        p.done();
    }
}

#[test]
fn classifies_a_ready_frame_and_shows_the_class_in_binary() {
    let frame: Vec<i8> = vec![-3, 7, 100, -128, 5, 127, 0, 1, 2, 3, 4];
    let mut tx = status(true);
    tx.extend(read_frame(&frame, None));
    // ArgMax → class 5 = 0b0101: pins 0 and 2 high.
    let states = [State::High, State::Low, State::High, State::Low];
    let mut app = spi_app(&tx, pins(states), false, frame.len());
    let mut buf = vec![0i8; frame.len()];
    assert_eq!(app.step(&mut buf), Ok(Some(5)));
    assert_eq!(buf, frame);
    done(app);
}

#[test]
fn active_low_pins_invert_the_code() {
    let frame: Vec<i8> = vec![0, 0, 0, 9];
    let mut tx = status(true);
    tx.extend(read_frame(&frame, None));
    // class 3 = 0b0011, active low: pins 0 and 1 low, 2 and 3 high.
    let states = [State::Low, State::Low, State::High, State::High];
    let mut app = spi_app(&tx, pins(states), true, 4);
    assert_eq!(app.step(&mut [0; 4]), Ok(Some(3)));
    done(app);
}

#[test]
fn no_frame_ready_means_no_read_and_no_pin_change() {
    let mut app = spi_app(&status(false), idle_pins(), false, 3);
    assert_eq!(app.step(&mut [0; 3]), Ok(None));
    done(app);
}

#[test]
fn a_corrupted_transfer_is_rejected_before_the_model_runs() {
    let mut tx = status(true);
    tx.extend(read_frame(&[1, 2, 3], Some(0x42)));
    let mut app = spi_app(&tx, idle_pins(), false, 3);
    let want = AppError::Frame(FrameError::Checksum {
        expected: 0x42,
        got: 6,
    });
    assert_eq!(app.step(&mut [0; 3]), Err(want));
    done(app);
}

#[test]
fn a_class_wider_than_the_pins_is_an_error() {
    // 17 inputs, the maximum last → class 16 needs 5 bits; only 4 pins.
    let mut frame = vec![0i8; 17];
    frame[16] = 1;
    let mut tx = status(true);
    tx.extend(read_frame(&frame, None));
    let mut app = spi_app(&tx, idle_pins(), false, 17);
    let want = AppError::Sink(PinsError::ClassTooLarge(16));
    assert_eq!(app.step(&mut [0; 17]), Err(want));
    done(app);
}

#[test]
fn a_frame_buffer_of_the_wrong_length_touches_no_bus() {
    let mut app = spi_app(&[], idle_pins(), false, 5);
    assert_eq!(app.step(&mut [0; 4]), Err(AppError::FrameLength(4)));
    done(app);
}

#[test]
fn a_pin_error_is_passed_up_with_its_origin() {
    // (embedded-hal-mock's SPI mock cannot inject bus errors; its pins can.)
    let pin_err = MockError::Io(std::io::ErrorKind::NotConnected);
    let mut tx = status(true);
    tx.extend(read_frame(&[0, 1], None));
    let failing = PinMock::new(&[PinTx::set(State::High).with_error(pin_err.clone())]);
    let [mut unused, b, c, d] = idle_pins();
    unused.done();
    let mut app = spi_app(&tx, [failing, b, c, d], false, 2);
    assert_eq!(
        app.step(&mut [0; 2]),
        Err(AppError::Sink(PinsError::Pin(pin_err)))
    );
    done(app);
}

/// The stream wire format of one frame.
fn stream_frame(frame: &[i8]) -> Vec<u8> {
    let mut v = vec![FRAME_START, 0, frame.len() as u8];
    v.extend(frame.iter().map(|&x| x as u8));
    v.push(sum(frame));
    v
}

#[test]
fn a_stream_serves_frames_skips_noise_and_ends() {
    let mut input = vec![0x00, 0xff]; // line noise before the first frame
    input.extend(stream_frame(&[1, 9, 3]));
    input.extend(stream_frame(&[7, 0, -1]));
    input.push(END_OF_STREAM);
    let mut out = [0u8; 4];
    let mut app = App {
        source: StreamFrames::new(&input[..]),
        classifier: ArgMax { len: 3 },
        sink: ClassBytes::new(&mut out[..]),
    };
    let mut frame = [0i8; 3];
    assert_eq!(app.step(&mut frame), Ok(Some(1)));
    assert_eq!(app.step(&mut frame), Ok(Some(0)));
    assert_eq!(
        app.step(&mut frame),
        Err(AppError::Frame(FrameError::EndOfStream))
    );
    let written = app.sink.release();
    assert_eq!(written.len(), 2, "two classes written, two bytes left");
    assert_eq!(out, [1, 0, 0, 0]);
}

#[test]
fn a_stream_rejects_bad_checksums_wrong_lengths_and_truncation() {
    let mut bad = stream_frame(&[1, 2, 3]);
    *bad.last_mut().unwrap() ^= 0x10;
    let cases: [(Vec<u8>, FrameError<_>); 3] = [
        (
            bad,
            FrameError::Checksum {
                expected: 6 ^ 0x10,
                got: 6,
            },
        ),
        (stream_frame(&[1, 2]), FrameError::Length(2)),
        (
            stream_frame(&[1, 2, 3])[..4].to_vec(),
            FrameError::EndOfStream,
        ),
    ];
    for (input, want) in cases {
        let mut out = [0u8; 1];
        let mut app = App {
            source: StreamFrames::new(&input[..]),
            classifier: ArgMax { len: 3 },
            sink: ClassBytes::new(&mut out[..]),
        };
        assert_eq!(app.step(&mut [0; 3]), Err(AppError::Frame(want)));
    }
}
