//! Node streams ↔ the standard's streams (`Readable.toWeb`/`fromWeb`, `Writable.toWeb`/`fromWeb`,
//! `Duplex.toWeb`/`fromWeb`), with backpressure kept and units kept: a byte-mode stream's bridge
//! measures chunks in bytes against a high-water mark in bytes, never a count of chunks against a
//! byte limit (the unit mix-up that makes Node's `Readable.toWeb` buffer a whole file).

use std::sync::Arc;

use bytes::Bytes;
use futures_util::future::{abortable, AbortHandle};
use futures_util::StreamExt;
use parking_lot::Mutex;
use sluicegate::readable::{ReadableStreamDefaultReader, UnderlyingSource};
use sluicegate::writable::{UnderlyingSink, WritableStreamDefaultWriter};
use sluicegate::{
    Completion as WebCompletion, ErrorKind, QueuingStrategy, ReadableStream, ReadableStreamDefaultController,
    StreamError, WritableStream, WritableStreamDefaultController,
};

use crate::completion::Completion;
use crate::duplex::{Duplex, DuplexOptions};
use crate::error::Error;
use crate::events::ev;
use crate::finished::{finished_with, Cleanup, FinishedOptions};
use crate::implementor::{DuplexImpl, ReadImpl, WriteImpl};
use crate::readable::{Chunks, Readable, ReadableOptions};
use crate::writable::{Writable, WritableOptions};

/// The two streams of a duplex seen from the standard's side (Node's `{ readable, writable }`).
pub struct WebPair<I: Send + 'static, O: Send + 'static> {
    /// What the duplex reads out.
    pub readable: ReadableStream<O>,
    /// What is written into the duplex.
    pub writable: WritableStream<I>,
}

// ---------------------------------------------------------------------------------------------
// Readable → ReadableStream

/// The underlying source of [`Readable::to_web`]: each pull takes the next chunk from the
/// readable's async iterator.
struct NodeSource<T: Send + 'static> {
    node: Readable<T>,
    chunks: Arc<Mutex<Option<Chunks<T>>>>,
    /// The `finished()` that errors the web stream as soon as the readable fails.
    eos: Option<Cleanup>,
}

impl<T: Send + 'static> UnderlyingSource<T> for NodeSource<T> {
    fn start(&mut self, controller: &ReadableStreamDefaultController<T>) -> WebCompletion {
        let c = controller.clone();
        self.eos = Some(finished_with(
            &self.node,
            FinishedOptions {
                writable: Some(false),
                ..FinishedOptions::default()
            },
            move |r| {
                if let Err(e) = r {
                    c.error(e.into());
                }
            },
        ));
        WebCompletion::ok()
    }

    fn pull(&mut self, controller: &ReadableStreamDefaultController<T>) -> WebCompletion {
        let Some(mut chunks) = self.chunks.lock().take() else {
            return WebCompletion::ok();
        };
        let (slot, controller) = (self.chunks.clone(), controller.clone());
        WebCompletion::future(async move {
            match chunks.next().await {
                Some(Ok(c)) => {
                    let _ = controller.enqueue(c);
                    *slot.lock() = Some(chunks);
                }
                Some(Err(e)) => controller.error(e.into()),
                None => {
                    let _ = controller.close();
                }
            }
            Ok(())
        })
    }

    fn cancel(&mut self, reason: StreamError) -> WebCompletion {
        // Node's `destroy(streamReadable, reason)`, an `AbortError` when no reason is given; the
        // iterator then finds it destroyed.
        if let Some(c) = self.eos.take() {
            c.cleanup();
        }
        let err = if reason.kind() == ErrorKind::Undefined {
            Error::abort(None)
        } else {
            reason.into()
        };
        self.node.destroy(Some(err));
        self.chunks.lock().take();
        WebCompletion::ok()
    }
}

impl<T: Send + 'static> Readable<T> {
    /// `Readable.toWeb(readable)`: a `ReadableStream` that pulls from this stream. Its queue is
    /// measured as this stream's buffer is (bytes in byte mode, chunks in object mode) against
    /// this stream's high-water mark, so at most twice the high-water mark (plus a chunk) is
    /// buffered across the bridge, whatever the size of the data.
    ///
    /// A readable already destroyed or ended gives a closed stream, as in Node.
    pub fn to_web(&self) -> ReadableStream<T> {
        if self.destroyed() || !self.readable() {
            let closed = ReadableStream::new(sluicegate::readable::SourceFn::new())
                .expect("a source that cannot fail");
            drop(closed.cancel(StreamError::abort_error("the readable was already done")));
            return closed;
        }
        let (hwm, len) = self.0.state.with(|s| (s.hwm, s.ops.map(|o| o.len)));
        let strategy = match len {
            Some(len) => QueuingStrategy::with_size(hwm as f64, move |c: &T| len(c) as f64),
            None => QueuingStrategy::count(hwm as f64),
        };
        let source = NodeSource {
            node: self.clone(),
            chunks: Arc::new(Mutex::new(Some(self.iter()))),
            eos: None,
        };
        ReadableStream::with_strategy(source, strategy)
            .expect("a valid strategy and a start that cannot fail")
    }

    /// `Readable.fromWeb(stream)` in object mode (high-water mark 16): a readable whose `_read`
    /// reads `stream`. Destroying it cancels `stream` with the destroy error. A `TypeError` if
    /// `stream` is locked.
    pub fn from_web(stream: &ReadableStream<T>) -> Result<Self, Error> {
        Self::from_web_with(stream, ReadableOptions::objects())
    }

    /// [`Readable::from_web`] with options ([`ReadableOptions::bytes`] for byte mode).
    pub fn from_web_with(stream: &ReadableStream<T>, options: ReadableOptions<T>) -> Result<Self, Error> {
        let reader = stream.get_reader().map_err(Error::from)?;
        Ok(Readable::with_options(WebSource::new(reader), options))
    }
}

/// The implementor of [`Readable::from_web`]: reads until `push` says stop.
pub(crate) struct WebSource<T: Send + 'static> {
    reader: ReadableStreamDefaultReader<T>,
    reading: Arc<Mutex<bool>>,
    abort: Option<AbortHandle>,
}

impl<T: Send + 'static> WebSource<T> {
    fn new(reader: ReadableStreamDefaultReader<T>) -> Self {
        WebSource {
            reader,
            reading: Arc::new(Mutex::new(false)),
            abort: None,
        }
    }

    fn cancel(&mut self, err: Option<Error>) {
        if let Some(h) = self.abort.take() {
            h.abort();
        }
        let reason = err.unwrap_or_else(|| Error::abort(None));
        drop(self.reader.cancel(reason.into()));
        self.reader.release_lock();
    }
}

impl<T: Send + 'static> ReadImpl<T> for WebSource<T> {
    fn read(&mut self, _size: usize, stream: &Readable<T>) {
        if std::mem::replace(&mut *self.reading.lock(), true) {
            return;
        }
        let (reader, reading, r) = (self.reader.clone(), self.reading.clone(), stream.clone());
        let (work, handle) = abortable(async move {
            loop {
                match reader.read().await {
                    Ok(Some(c)) => {
                        if !r.push(c) {
                            break;
                        }
                    }
                    Ok(None) => {
                        r.push_end();
                        break;
                    }
                    Err(e) => {
                        r.destroy(Some(e.into()));
                        break;
                    }
                }
            }
            *reading.lock() = false;
        });
        self.abort = Some(handle);
        stream.event_loop().spawn(async move {
            let _ = work.await;
        });
    }

    fn destroy(&mut self, err: Option<Error>) -> Completion {
        self.cancel(err.clone());
        crate::destroy::to_result(err).into()
    }
}

// ---------------------------------------------------------------------------------------------
// Writable → WritableStream

/// The underlying sink of [`Writable::to_web`].
struct NodeSink<T: Send + 'static> {
    node: Writable<T>,
}

impl<T: Send + 'static> UnderlyingSink<T> for NodeSink<T> {
    fn start(&mut self, controller: &WritableStreamDefaultController<T>) -> WebCompletion {
        // The Node stream's errors error the web stream at once, as Node's bridge does.
        let c = controller.clone();
        self.node
            .on(ev::Error, move |e: &Error| c.error(e.clone().into()));
        WebCompletion::ok()
    }

    fn write(&mut self, chunk: T, _: &WritableStreamDefaultController<T>) -> WebCompletion {
        // Node's bridge: done at once if the Node stream took the chunk below its high-water
        // mark, else on its 'drain' (which fails if the stream errors or closes instead). Node's
        // skips the chunk when a drain is already awaited; here it waits, then writes.
        let node = self.node.clone();
        if !node.writable_need_drain() {
            if node.write(chunk) {
                return WebCompletion::ok();
            }
            return WebCompletion::future(async move { node.drain().await.map_err(StreamError::from) });
        }
        WebCompletion::future(async move {
            node.drain().await.map_err(StreamError::from)?;
            if node.write(chunk) {
                return Ok(());
            }
            node.drain().await.map_err(StreamError::from)
        })
    }

    fn close(&mut self) -> WebCompletion {
        let done = self.node.end_async();
        WebCompletion::future(async move { done.await.map_err(StreamError::from) })
    }

    fn abort(&mut self, reason: StreamError) -> WebCompletion {
        self.node.destroy(Some(reason.into()));
        WebCompletion::ok()
    }
}

impl<T: Send + 'static> Writable<T> {
    /// `Writable.toWeb(writable)`: a `WritableStream` whose writes go to this stream. A web
    /// write is done when this stream accepts the chunk below its high-water mark, or at its
    /// next `'drain'`; the web stream queues one more chunk at most, so memory stays bounded by
    /// this stream's high-water mark. `close` ends this stream (done after `'finish'`), `abort`
    /// destroys it, and its errors error the web stream.
    pub fn to_web(&self) -> WritableStream<T> {
        WritableStream::with_strategy(NodeSink { node: self.clone() }, QueuingStrategy::count(1.0))
            .expect("a valid strategy and a start that cannot fail")
    }

    /// `Writable.fromWeb(stream)` in object mode: a writable whose `_write` writes to
    /// `stream` (done when the web write is), `_final` closes it and `destroy(err)` aborts it
    /// (or closes it, without an error). A `TypeError` if `stream` is locked.
    pub fn from_web(stream: &WritableStream<T>) -> Result<Self, Error> {
        Self::from_web_with(stream, WritableOptions::objects())
    }

    /// [`Writable::from_web`] with options ([`WritableOptions::bytes`] for byte mode).
    pub fn from_web_with(stream: &WritableStream<T>, options: WritableOptions<T>) -> Result<Self, Error> {
        let writer = stream.get_writer().map_err(Error::from)?;
        Ok(Writable::with_options(WebSink::new(writer), options))
    }
}

/// The implementor of [`Writable::from_web`].
pub(crate) struct WebSink<T: Send + 'static> {
    writer: WritableStreamDefaultWriter<T>,
    closed: bool,
}

impl<T: Send + 'static> WebSink<T> {
    fn new(writer: WritableStreamDefaultWriter<T>) -> Self {
        WebSink {
            writer,
            closed: false,
        }
    }

    fn write(&mut self, chunk: T) -> Completion {
        let (ready, w) = (self.writer.ready(), self.writer.clone());
        Completion::future(async move {
            ready.await.map_err(Error::from)?;
            w.write(chunk).await.map_err(Error::from)
        })
    }

    fn finalize(&mut self) -> Option<Completion> {
        self.closed = true;
        let close = self.writer.close();
        Some(Completion::future(
            async move { close.await.map_err(Error::from) },
        ))
    }

    fn destroy(&mut self, err: Option<Error>) -> Completion {
        if self.closed {
            return crate::destroy::to_result(err).into();
        }
        self.closed = true;
        let done = match &err {
            Some(e) => self.writer.abort(e.clone().into()),
            None => self.writer.close(),
        };
        Completion::future(async move {
            let _ = done.await;
            crate::destroy::to_result(err)
        })
    }
}

impl<T: Send + 'static> WriteImpl<T> for WebSink<T> {
    fn write(&mut self, chunk: T) -> Completion {
        WebSink::write(self, chunk)
    }
    fn finalize(&mut self) -> Option<Completion> {
        WebSink::finalize(self)
    }
    fn destroy(&mut self, err: Option<Error>) -> Completion {
        WebSink::destroy(self, err)
    }
}

// ---------------------------------------------------------------------------------------------
// Duplex ↔ { readable, writable }

/// The implementor of [`Duplex::from_web`]: reads the web readable, writes the web writable.
struct WebDuplex<I: Send + 'static, O: Send + 'static> {
    source: WebSource<O>,
    sink: WebSink<I>,
}

impl<I: Send + 'static, O: Send + 'static> DuplexImpl<I, O> for WebDuplex<I, O> {
    fn read(&mut self, size: usize, stream: &Readable<O>) {
        self.source.read(size, stream)
    }
    fn write(&mut self, chunk: I) -> Completion {
        self.sink.write(chunk)
    }
    fn finalize(&mut self) -> Option<Completion> {
        self.sink.finalize()
    }
    fn destroy(&mut self, err: Option<Error>) -> Completion {
        self.source.cancel(err.clone());
        self.sink.destroy(err)
    }
}

impl<I: Send + 'static, O: Send + 'static> Duplex<I, O> {
    /// `Duplex.toWeb(duplex)`: the readable side as a `ReadableStream`, the writable side as a
    /// `WritableStream` (see [`Readable::to_web`] and [`Writable::to_web`]).
    pub fn to_web(&self) -> WebPair<I, O> {
        WebPair {
            readable: self.readable_side().to_web(),
            writable: self.writable_side().to_web(),
        }
    }

    /// `Duplex.fromWeb({ readable, writable })`, both sides in object mode.
    pub fn from_web(pair: &WebPair<I, O>) -> Result<Self, Error> {
        Self::from_web_with(pair, DuplexOptions::default())
    }

    /// [`Duplex::from_web`] with options.
    pub fn from_web_with(pair: &WebPair<I, O>, options: DuplexOptions<I, O>) -> Result<Self, Error> {
        let reader = pair.readable.get_reader().map_err(Error::from)?;
        let writer = match pair.writable.get_writer() {
            Ok(w) => w,
            Err(e) => {
                reader.release_lock();
                return Err(e.into());
            }
        };
        Ok(Duplex::with_options(
            WebDuplex {
                source: WebSource::new(reader),
                sink: WebSink::new(writer),
            },
            options,
        ))
    }
}

/// Byte-mode shorthands.
impl Readable<Bytes> {
    /// [`Readable::from_web`] in byte mode (high-water mark 64 KiB, `read(n)` in bytes).
    pub fn from_web_bytes(stream: &ReadableStream<Bytes>) -> Result<Self, Error> {
        Self::from_web_with(stream, ReadableOptions::bytes())
    }
}

impl Writable<Bytes> {
    /// [`Writable::from_web`] in byte mode.
    pub fn from_web_bytes(stream: &WritableStream<Bytes>) -> Result<Self, Error> {
        Self::from_web_with(stream, WritableOptions::bytes())
    }
}
