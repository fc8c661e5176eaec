//! Target boards and the budget check: does the artifact plus its scratch fit?

use std::fmt;
use std::str::FromStr;

use crate::error::{ExportError, Result};

const KIB: usize = 1024;

/// Flash kept for code: runtime kernels, header parser, SHA-256, defmt, vector table and the
/// firmware itself. A minimal defmt firmware was ~6 KB and runtime-nostd's pieces are measured
/// at a few KB each (NOTES.md), so 64 KiB leaves room for the test vectors and growth.
pub const FLASH_RESERVE: usize = 64 * KIB;
/// RAM kept for the stack (4 KiB), statics, defmt buffers and the raw f32 input row the
/// firmware receives before quantizing it (784 features = 3 KiB); the model's own RAM
/// (scratch, int8 input, logits) is counted separately.
pub const RAM_RESERVE: usize = 8 * KIB;

/// Bytes of RAM one inference holds: runtime-nostd's scratch, the int8 input and the int8
/// logits. The figure every board check uses.
pub fn model_ram(model: &runtime_nostd::Model) -> usize {
    model.scratch_len() + model.input_len() + model.num_classes()
}

/// A microcontroller the artifact may be flashed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Board {
    /// Nordic nRF52840 (Cortex-M4F): 1 MiB flash, 256 KiB RAM.
    Nrf52840,
    /// ST STM32F405 (Cortex-M4F): 1 MiB flash, 128 KiB RAM (the 64 KiB CCM not counted).
    Stm32f4,
    /// QEMU `mps2-an386` (Cortex-M4F): 4 MiB flash, 4 MiB RAM.
    Mps2An386,
    /// QEMU `lm3s6965evb` (Cortex-M3): 256 KiB flash, 64 KiB RAM.
    Lm3s6965,
    /// BBC micro:bit v1, nRF51822 (Cortex-M0): 256 KiB flash, 16 KiB RAM.
    Microbit,
}

impl Board {
    pub const ALL: [Board; 5] = [
        Board::Nrf52840,
        Board::Stm32f4,
        Board::Mps2An386,
        Board::Lm3s6965,
        Board::Microbit,
    ];

    /// The name accepted by `--board`.
    pub fn name(self) -> &'static str {
        match self {
            Board::Nrf52840 => "nrf52840",
            Board::Stm32f4 => "stm32f4",
            Board::Mps2An386 => "mps2-an386",
            Board::Lm3s6965 => "lm3s6965",
            Board::Microbit => "microbit",
        }
    }

    /// Total (flash, RAM) in bytes.
    pub fn memory(self) -> (usize, usize) {
        match self {
            Board::Nrf52840 => (1024 * KIB, 256 * KIB),
            Board::Stm32f4 => (1024 * KIB, 128 * KIB),
            Board::Mps2An386 => (4096 * KIB, 4096 * KIB),
            Board::Lm3s6965 => (256 * KIB, 64 * KIB),
            Board::Microbit => (256 * KIB, 16 * KIB),
        }
    }

    /// Refuses, with the figures, a model needing `flash` bytes of flash and `ram` of RAM.
    pub fn check(self, flash: usize, ram: usize) -> Result<()> {
        let (flash_total, ram_total) = self.memory();
        let flash_avail = flash_total.saturating_sub(FLASH_RESERVE);
        let ram_avail = ram_total.saturating_sub(RAM_RESERVE);
        if flash > flash_avail || ram > ram_avail {
            return Err(ExportError::DoesNotFit {
                board: self.name().into(),
                flash,
                ram,
                flash_avail,
                ram_avail,
                flash_total,
                ram_total,
                flash_reserve: FLASH_RESERVE,
                ram_reserve: RAM_RESERVE,
            });
        }
        Ok(())
    }
}

impl fmt::Display for Board {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Board {
    type Err = ExportError;
    fn from_str(s: &str) -> Result<Self> {
        Board::ALL
            .into_iter()
            .find(|b| b.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Board::ALL.iter().map(|b| b.name()).collect();
                ExportError::Option(format!("unknown board `{s}` (known: {})", names.join(", ")))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_limits_apply() {
        for b in Board::ALL {
            assert_eq!(b.name().parse::<Board>().unwrap(), b);
        }
        assert!("esp32".parse::<Board>().is_err());
        assert!(Board::Microbit.check(100_000, 8 * KIB).is_ok());
        assert!(Board::Microbit.check(100_000, 8 * KIB + 1).is_err());
        assert!(Board::Lm3s6965.check(192 * KIB + 1, 0).is_err());
        let e = Board::Stm32f4.check(2 << 20, 1000).unwrap_err().to_string();
        assert!(
            e.contains("stm32f4") && e.contains("2097152") && e.contains("983040"),
            "{e}"
        );
    }
}
