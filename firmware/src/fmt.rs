//! Log macros: defmt on a board; on the host (tests, no defmt logger to link) the arguments
//! are only borrowed, so a variable used just for logging is not reported as unused.
#![allow(unused_macros)]

macro_rules! log_with {
    ($level:ident, $s:literal $(, $x:expr)* $(,)?) => {{
        #[cfg(feature = "defmt")]
        ::defmt::$level!($s $(, $x)*);
        #[cfg(not(feature = "defmt"))]
        let _ = ($( & $x ),*);
    }};
}

macro_rules! info {
    ($($arg:tt)*) => { log_with!(info, $($arg)*) };
}

macro_rules! warn {
    ($($arg:tt)*) => { log_with!(warn, $($arg)*) };
}

macro_rules! error {
    ($($arg:tt)*) => { log_with!(error, $($arg)*) };
}
