//! microdistill firmware: the board-independent logic (tested on the host) and, on a
//! microcontroller, the board support the thin binaries in `src/bin/` share.
#![cfg_attr(not(test), no_std)]

#[macro_use]
mod fmt;

pub mod app;
pub mod hex;
pub mod model;
pub mod selftest;

#[cfg(target_os = "none")]
pub mod board;
#[cfg(target_os = "none")]
pub mod boot;
#[cfg(target_os = "none")]
pub mod embedded;

/// Exit statuses a run ends with (through semihosting); each failure has its own, so CI and a
/// person can tell them apart without the logs. 124 is left to `timeout`.
pub mod exit_code {
    pub const SUCCESS: i32 = 0;
    /// The self-test ran and at least one vector disagreed with the host runtime.
    pub const MISMATCH: i32 = 1;
    /// The embedded artifact did not parse.
    pub const BAD_MODEL: i32 = 2;
    /// An inference returned an error.
    pub const INFER_ERROR: i32 = 3;
    /// The artifact's SHA-256 in flash differs from the one computed at build time.
    pub const CORRUPT_MODEL: i32 = 4;
    /// The embedded test vectors do not fit the model.
    pub const BAD_VECTORS: i32 = 5;
    /// The application stopped on a bus, sink or model error.
    pub const APP_ERROR: i32 = 6;
    /// The benchmark's cost check failed: a tree inference did more work than `depth` dot
    /// products over its inputs.
    pub const BENCH_CHECK: i32 = 7;
    pub const PANIC: i32 = 101;
    pub const HARD_FAULT: i32 = 102;
}
