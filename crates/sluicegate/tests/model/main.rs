//! Model-based random tests: random sequences of operations on the core's streams, checked step
//! by step against a small reference model of the Streams Standard's state.
//!
//! Each area is a module with one model (written straight from the standard's abstract
//! operations, with no optimisation) and one property: after every operation, and after driving
//! the stream's host until nothing more is queued, the library and the model must agree on the
//! stream's state, `desired_size`, every promise and future handed out (pending, fulfilled with
//! what, rejected with which error) and every call made into user code.
//!
//! Cases per property: 256, or `PROPTEST_CASES`. CI runs 10,000 per property with
//! `PROPTEST_CASES=10000 cargo test --release -p sluicegate --test model`; one million in all
//! (seven properties) with `PROPTEST_CASES=142858 nice cargo test --release -p sluicegate --test
//! model`. Figures are in RELIABILITY.md.

mod common;

mod bytes;
mod pipe;
mod pipe_in_flight;
mod readable;
mod tee;
mod transform;
mod writable;
