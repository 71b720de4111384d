//! The binding's integration tests, one module per area, built as one test binary (one link of
//! QuickJS instead of one per file). Run one area with
//! `cargo test -p sluicegate-js --test integration <module>::`.

mod byte_streams;
mod convert;
mod env;
mod iteration;
mod piping;
mod queuing_strategy;
mod readable_stream;
mod runtime;
mod sluicejs;
mod transform_stream;
mod transforms;
mod webidl;
mod wpt_runner;
mod writable_stream;
