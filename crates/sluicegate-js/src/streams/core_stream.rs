//! The core streams behind a JS `ReadableStream` and its default reader: a stream of JS values
//! (default controller) or a byte stream (byte controller), whose chunks reach script as
//! `Uint8Array`s.

use bytes::Bytes;
use sluicegate::readable::{self, ReadRequest};
use sluicegate::{Promised, StreamError};

use super::promise::{iter_result, Settle};
use super::views::{bytes_in_buffer_to_js, bytes_to_js};
use crate::runtime::JsHost;
use crate::value::JsValue;
use rquickjs::Value;

/// The core stream of a JS `ReadableStream`.
#[derive(Clone)]
pub(crate) enum CoreReadable {
    /// A stream with a default controller: chunks are JS values.
    Values(readable::ReadableStream<JsValue>),
    /// A byte stream: chunks are bytes.
    Bytes(readable::ReadableStream<Bytes>),
}

impl CoreReadable {
    pub(crate) fn locked(&self) -> bool {
        match self {
            CoreReadable::Values(s) => s.locked(),
            CoreReadable::Bytes(s) => s.locked(),
        }
    }

    pub(crate) fn is_readable(&self) -> bool {
        match self {
            CoreReadable::Values(s) => s.is_readable(),
            CoreReadable::Bytes(s) => s.is_readable(),
        }
    }

    pub(crate) fn cancel(&self, reason: StreamError) -> Promised<()> {
        match self {
            CoreReadable::Values(s) => s.cancel(reason),
            CoreReadable::Bytes(s) => s.cancel(reason),
        }
    }

    pub(crate) fn tee(&self) -> Result<(CoreReadable, CoreReadable), StreamError> {
        Ok(match self {
            CoreReadable::Values(s) => {
                let (a, b) = s.tee()?;
                (CoreReadable::Values(a), CoreReadable::Values(b))
            }
            CoreReadable::Bytes(s) => {
                let (a, b) = s.tee()?;
                (CoreReadable::Bytes(a), CoreReadable::Bytes(b))
            }
        })
    }

    /// AcquireReadableStreamDefaultReader; the reader keeps its lock when dropped, as a JS reader
    /// that is garbage collected does.
    pub(crate) fn get_reader(&self) -> Result<CoreDefaultReader, StreamError> {
        Ok(match self {
            CoreReadable::Values(s) => {
                let r = s.get_reader()?;
                r.keep_lock_on_drop();
                CoreDefaultReader::Values(r)
            }
            CoreReadable::Bytes(s) => {
                let r = s.get_reader()?;
                r.keep_lock_on_drop();
                CoreDefaultReader::Bytes(r)
            }
        })
    }

    /// Keeps the stream alive until it closes or errors (see [`JsHost::keep_until_settled`]).
    pub(crate) fn keep_until_settled(&self, host: &JsHost) {
        let stream = self.clone();
        host.keep_until_settled(Box::new(move || !stream.is_readable()));
    }
}

/// The core reader of a JS `ReadableStreamDefaultReader`.
#[derive(Clone)]
pub(crate) enum CoreDefaultReader {
    Values(readable::ReadableStreamDefaultReader<JsValue>),
    Bytes(readable::ReadableStreamDefaultReader<Bytes>),
}

impl CoreDefaultReader {
    /// ReadableStreamDefaultReaderRead with `request`'s steps (chunks as JS values).
    pub(crate) fn read_with(&self, request: JsReadRequest) -> Result<(), StreamError> {
        match self {
            CoreDefaultReader::Values(r) => r.read_with(Box::new(request)),
            CoreDefaultReader::Bytes(r) => r.read_with(Box::new(request)),
        }
    }

    pub(crate) fn closed(&self) -> Promised<()> {
        match self {
            CoreDefaultReader::Values(r) => r.closed(),
            CoreDefaultReader::Bytes(r) => r.closed(),
        }
    }

    pub(crate) fn cancel(&self, reason: StreamError) -> Promised<()> {
        match self {
            CoreDefaultReader::Values(r) => r.cancel(reason),
            CoreDefaultReader::Bytes(r) => r.cancel(reason),
        }
    }

    pub(crate) fn release_lock(&self) {
        match self {
            CoreDefaultReader::Values(r) => r.release_lock(),
            CoreDefaultReader::Bytes(r) => r.release_lock(),
        }
    }
}

/// A default reader's read request settling a JS promise with `{ value, done }`; when `release`
/// is set (the async iterator's), the reader is released first at the end or on an error.
pub(crate) struct JsReadRequest {
    pub(crate) settle: Settle,
    pub(crate) release: Option<CoreDefaultReader>,
}

impl JsReadRequest {
    fn chunk(self, chunk: impl for<'js> FnOnce(&rquickjs::Ctx<'js>) -> rquickjs::Result<Value<'js>>) {
        self.settle.resolve_with(move |ctx| {
            let v = chunk(ctx)?;
            iter_result(ctx, v, false)
        });
    }

    fn close(self) {
        if let Some(r) = &self.release {
            r.release_lock();
        }
        self.settle
            .resolve_with(|ctx| iter_result(ctx, Value::new_undefined(ctx.clone()), true));
    }

    fn error(self, e: StreamError) {
        if let Some(r) = &self.release {
            r.release_lock();
        }
        self.settle.reject(&e);
    }
}

impl ReadRequest<JsValue> for JsReadRequest {
    fn chunk_steps(self: Box<Self>, chunk: JsValue) {
        self.chunk(move |ctx| {
            Ok(chunk
                .get(ctx)
                .unwrap_or_else(|| Value::new_undefined(ctx.clone())))
        });
    }
    fn close_steps(self: Box<Self>) {
        self.close();
    }
    fn error_steps(self: Box<Self>, e: StreamError) {
        self.error(e);
    }
}

impl ReadRequest<Bytes> for JsReadRequest {
    fn chunk_steps(self: Box<Self>, chunk: Bytes) {
        self.chunk(move |ctx| bytes_to_js(ctx, chunk));
    }
    fn chunk_in_buffer_steps(self: Box<Self>, chunk: Bytes, buffer: Bytes, byte_offset: usize) {
        // The standard's view: a `Uint8Array` over (a copy of) the whole transferred buffer.
        let byte_length = chunk.len();
        drop(chunk);
        self.chunk(move |ctx| bytes_in_buffer_to_js(ctx, &buffer, byte_offset, byte_length));
    }
    fn close_steps(self: Box<Self>) {
        self.close();
    }
    fn error_steps(self: Box<Self>, e: StreamError) {
        self.error(e);
    }
}
