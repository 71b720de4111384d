//! Fuzz targets for sluicegate, runnable on the stable toolchain.
//!
//! Each target is a function from fuzzer bytes to a run that panics on a broken invariant:
//! - [`byte_controller::run`]: a readable byte stream driven by a random program;
//! - [`js_binding::run`]: a generated script of valid and invalid calls on the 13 stream classes
//!   of the QuickJS binding, run under a deadline.
//!
//! The functions are shared by the libFuzzer binaries (`fuzz_targets/`, feature `libfuzzer`,
//! built with the coverage flags in README.md) and by `tests/corpus.rs`, which replays the
//! committed corpus in an ordinary `cargo test`.

#![warn(missing_docs)]

pub mod byte_controller;
pub mod js_binding;
