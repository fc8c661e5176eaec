//! QEMU mps2-an386: the application end to end on an emulated peripheral. Frames arrive over
//! UART0 in the stream format of `app::StreamFrames`, each class goes back as one byte, until
//! the peer ends the stream (`uart_e2e.py` drives it and checks every class).
#![no_std]
#![no_main]

use microdistill_firmware::app::{App, AppError, ClassBytes, FrameError, StreamFrames};
use microdistill_firmware::board::{self, cmsdk_uart};
use microdistill_firmware::{boot, embedded, exit_code, model::RuntimeClassifier};

#[cortex_m_rt::entry]
fn main() -> ! {
    let verified = boot::verified_model();
    let Some((rx, tx)) = cmsdk_uart::take() else {
        defmt::error!("UART0 already taken");
        board::exit(exit_code::APP_ERROR)
    };
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
        source: StreamFrames::new(rx),
        classifier,
        sink: ClassBytes::new(tx),
    };
    let mut frame = [0i8; embedded::FEATURES];
    let mut served = 0usize;
    defmt::info!("uart-app: waiting for frames on UART0");
    loop {
        match app.step(&mut frame) {
            Ok(Some(_)) => served += 1,
            Ok(None) => {}
            Err(AppError::Frame(FrameError::EndOfStream)) => {
                defmt::info!("uart-app: end of stream after {=usize} frames", served);
                board::exit(exit_code::SUCCESS)
            }
            Err(AppError::Frame(FrameError::Checksum { expected, got })) => {
                defmt::warn!(
                    "frame dropped: checksum {=u8:#04x}, computed {=u8:#04x}",
                    expected,
                    got
                )
            }
            Err(AppError::Frame(FrameError::Length(n))) => {
                defmt::error!(
                    "frame of {=usize} values, the model takes {=usize}",
                    n,
                    frame.len()
                );
                board::exit(exit_code::APP_ERROR)
            }
            Err(AppError::Model(e)) => {
                defmt::error!("inference failed: {}", e);
                board::exit(exit_code::INFER_ERROR)
            }
            Err(_) => {
                defmt::error!("UART error");
                board::exit(exit_code::APP_ERROR)
            }
        }
    }
}
