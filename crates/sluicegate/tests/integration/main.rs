//! The integration tests, one module per area, built as one test binary: one link instead of
//! seventy keeps a clean build small and fast. Run one area with
//! `cargo test -p sluicegate --test integration <module>::`.

// Shared support, used by the areas below.
mod bytes_common;
mod common;
mod io_support;
mod piping_support;
mod transform_support;
mod writable_support;

// The areas.
mod abort_signal;
mod binding_lifetimes;
mod bytes_bad_views;
mod bytes_byob_request;
mod bytes_general;
mod bytes_interleavings;
mod bytes_pipe;
mod bytes_read_min;
mod bytes_respond;
mod bytes_tee;
mod bytes_templated;
mod bytes_threads;
mod io_async_read_source;
mod io_async_write_sink;
mod io_copy;
mod io_file;
mod io_readable_async_read;
mod io_writable_async_write;
mod piping_abort;
mod piping_close_propagation_backward;
mod piping_close_propagation_forward;
mod piping_convert;
mod piping_core;
mod piping_error_propagation_backward;
mod piping_error_propagation_forward;
mod piping_flow_control;
mod piping_general;
mod piping_multiple_propagation;
mod piping_pipe_through;
mod promised_on_settle;
mod queuing_strategies;
mod readable_async_iter;
mod readable_bad_sources;
mod readable_cancel;
mod readable_from;
mod readable_general;
mod readable_reader;
mod readable_reentrant;
mod readable_strategies;
mod readable_tee;
mod readable_templated;
mod smoke;
mod threads;
mod transform_backpressure;
mod transform_cancel;
mod transform_errors;
mod transform_flush;
mod transform_general;
mod transform_lipfuzz;
mod transform_piping;
mod transform_properties;
mod transform_ready;
mod transform_reentrant_strategies;
mod transform_strategies;
mod transform_terminate;
mod writable_aborting;
mod writable_bad_sinks;
mod writable_close;
mod writable_error;
mod writable_general;
mod writable_into_sink;
mod writable_reentrant;
mod writable_start;
mod writable_strategies;
mod writable_write;
