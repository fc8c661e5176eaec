//! The sensor application on the host, against embedded-hal-mock's SPI device and pins: every
//! expected bus transaction and pin change is listed, and `done()` checks nothing else happened.

use embedded_hal_mock::eh1::MockError;
use embedded_hal_mock::eh1::digital::{Mock as PinMock, State, Transaction as PinTx};
use embedded_hal_mock::eh1::spi::{Mock as SpiMock, Transaction as SpiTx};
use microdistill_firmware::app::{
    App, AppError, CMD_READ_FRAME, CMD_STATUS, ClassPins, Classifier, FrameSensor,
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

fn frame_bytes(frame: &[i8]) -> (Vec<u8>, u8) {
    let bytes: Vec<u8> = frame.iter().map(|&v| v as u8).collect();
    let sum = bytes.iter().fold(0u8, |s, &b| s.wrapping_add(b));
    (bytes, sum)
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
    let (bytes, sum) = frame_bytes(frame);
    let len = frame.len() as u16;
    vec![
        SpiTx::transaction_start(),
        SpiTx::write_vec(vec![CMD_READ_FRAME, (len >> 8) as u8, len as u8]),
        SpiTx::read_vec(bytes),
        SpiTx::read(checksum.unwrap_or(sum)),
        SpiTx::transaction_end(),
    ]
}

fn pins(states: [State; 4]) -> [PinMock; 4] {
    states.map(|s| PinMock::new(&[PinTx::set(s)]))
}

fn done(app: App<SpiMock<u8>, PinMock, ArgMax, 4>) {
    app.sensor.release().done();
    for mut p in app.pins.release() {
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
    let mut app = App {
        sensor: FrameSensor::new(SpiMock::new(&tx)),
        pins: ClassPins::new(pins(states), false),
        classifier: ArgMax { len: frame.len() },
    };
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
    let mut app = App {
        sensor: FrameSensor::new(SpiMock::new(&tx)),
        pins: ClassPins::new(pins(states), true),
        classifier: ArgMax { len: 4 },
    };
    assert_eq!(app.step(&mut [0; 4]), Ok(Some(3)));
    done(app);
}

#[test]
fn no_frame_ready_means_no_read_and_no_pin_change() {
    let mut app = App {
        sensor: FrameSensor::new(SpiMock::new(&status(false))),
        pins: ClassPins::new([(); 4].map(|_| PinMock::new(&[])), false),
        classifier: ArgMax { len: 3 },
    };
    assert_eq!(app.step(&mut [0; 3]), Ok(None));
    done(app);
}

#[test]
fn a_corrupted_transfer_is_rejected_before_the_model_runs() {
    let frame: Vec<i8> = vec![1, 2, 3];
    let mut tx = status(true);
    tx.extend(read_frame(&frame, Some(0x42)));
    let mut app = App {
        sensor: FrameSensor::new(SpiMock::new(&tx)),
        pins: ClassPins::new([(); 4].map(|_| PinMock::new(&[])), false),
        classifier: ArgMax { len: 3 },
    };
    assert_eq!(
        app.step(&mut [0; 3]),
        Err(AppError::Checksum {
            expected: 0x42,
            got: 6
        })
    );
    done(app);
}

#[test]
fn a_class_wider_than_the_pins_is_an_error() {
    // 17 inputs, the maximum last → class 16 needs 5 bits; only 4 pins.
    let mut frame = vec![0i8; 17];
    frame[16] = 1;
    let mut tx = status(true);
    tx.extend(read_frame(&frame, None));
    let mut app = App {
        sensor: FrameSensor::new(SpiMock::new(&tx)),
        pins: ClassPins::new([(); 4].map(|_| PinMock::new(&[])), false),
        classifier: ArgMax { len: 17 },
    };
    assert_eq!(app.step(&mut [0; 17]), Err(AppError::ClassTooLarge(16)));
    done(app);
}

#[test]
fn a_frame_buffer_of_the_wrong_length_touches_no_bus() {
    let mut app = App {
        sensor: FrameSensor::new(SpiMock::new(&[])),
        pins: ClassPins::new([(); 4].map(|_| PinMock::new(&[])), false),
        classifier: ArgMax { len: 5 },
    };
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
    let idle = || PinMock::new(&[]);
    let mut app = App {
        sensor: FrameSensor::new(SpiMock::new(&tx)),
        pins: ClassPins::new([failing, idle(), idle(), idle()], false),
        classifier: ArgMax { len: 2 },
    };
    assert_eq!(app.step(&mut [0; 2]), Err(AppError::Pin(pin_err)));
    done(app);
}
