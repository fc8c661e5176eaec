//! Shared helpers for the workspace regression tests.
