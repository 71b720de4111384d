//! # sluicegate-upload
//!
//! The seed scenario of sluicegate, for real: an HTTP server (hyper 1) that streams each upload
//! to disk through a SHA-256 tap and answers with the digest, in memory bounded by the streams'
//! high-water marks however large and however many the uploads.
//!
//! * `POST /NAME` (any method with a body works the same) streams the body into
//!   `DIR/.partial-N-NAME`, hashing it on the way, renames it to `DIR/NAME` once the body has
//!   ended and the file is closed, and answers `200` with the hex digest and a newline.
//! * A body longer than the configured maximum is refused with `413`: at once, before reading
//!   anything, when its `Content-Length` says so; as soon as the limit is passed otherwise
//!   (chunked bodies), with the partial file removed.
//! * A client that disconnects mid-upload errors the body stream; the pipe aborts the file sink
//!   and the partial file is removed. Only a complete upload ever has its final name.
//!
//! [`Mode::Buffer`] is the contrast: a server that collects each body in memory before hashing
//! and writing it, as the naive handler does. [`load`] is the load generator, and the
//! `upload-bench` binary runs both servers and the Node.js one of `bench/node/upload-server.js`
//! under ten concurrent 2 GiB uploads.

#![warn(missing_docs)]

pub mod load;
mod server;

pub use server::{serve, Config, Mode};
