//! The class as a binary code on N output pins, least significant bit on `pins[0]`.

use super::ClassSink;
use embedded_hal::digital::OutputPin;

pub struct ClassPins<P, const N: usize> {
    pins: [P; N],
    /// Board LEDs are often wired to light when the pin is low (nRF52840-DK).
    active_low: bool,
}

/// A pin failed, or the class needs more bits than there are pins.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum PinsError<E> {
    Pin(E),
    ClassTooLarge(u8),
}

impl<P: OutputPin, const N: usize> ClassPins<P, N> {
    pub fn new(pins: [P; N], active_low: bool) -> Self {
        Self { pins, active_low }
    }

    pub fn release(self) -> [P; N] {
        self.pins
    }
}

impl<P: OutputPin, const N: usize> ClassSink for ClassPins<P, N> {
    type Error = PinsError<P::Error>;

    fn show(&mut self, class: u8) -> Result<(), Self::Error> {
        if N < 8 && u32::from(class) >= 1 << N {
            return Err(PinsError::ClassTooLarge(class));
        }
        for (bit, pin) in self.pins.iter_mut().enumerate() {
            let on = (class >> bit) & 1 == 1;
            pin.set_state((on != self.active_low).into())
                .map_err(PinsError::Pin)?;
        }
        Ok(())
    }
}
