//! Allocation-free int8 inference. The artifact format is specified in `FORMAT.md`.
#![cfg_attr(not(test), no_std)]
