//! Blocking `Read` and `Write` ends served by one thread each: the machinery behind the file
//! helpers and stdio.
//!
//! A blocking reader or writer cannot be polled, so each gets one long-lived thread: the source's
//! reads ahead into pooled 4096-aligned buffers and hands them over a bounded channel, the sink's
//! writes the chunks handed to it, moved, with no copy. Files run that thread on tokio's blocking
//! pool ([`Spawn::Runtime`]); stdio runs it on a plain, detached thread ([`Spawn::Thread`]), since
//! a read of stdin cannot be interrupted and a runtime waits for its blocking pool when it shuts
//! down.
//!
//! Each thread starts when its stream is first used: the source's at its first pull, the sink's
//! at its first write, close or abort, either at a direct copy's first borrow. A stream never used
//! has no thread, and dropped it closes its file there and then. That matters beyond the thread
//! saved: a runtime waits for its blocking pool when it shuts down, and a thread started for a
//! stream that is never used nor dropped (a pipe dropped before its first poll holds both its
//! streams, DESIGN.md's "Started operations finish") would wait on its channel forever, and the
//! runtime with it.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::{mpsc, oneshot, Notify};

use crate::error::StreamError;
use crate::host::Completion;
use crate::readable::{ByteSourceFn, ReadableByteStreamController, ReadableStream};
use crate::strategy::ByteLengthQueuingStrategy;
use crate::writable::{SinkFn, WritableStream};

use super::pool::Pool;

/// Where the blocking thread runs.
pub(crate) enum Spawn {
    /// On this tokio runtime's blocking pool.
    Runtime(tokio::runtime::Handle),
    /// On a new, detached thread of this name.
    Thread(&'static str),
}

impl Spawn {
    fn spawn(self, job: impl FnOnce() + Send + 'static) -> io::Result<()> {
        match self {
            Spawn::Runtime(handle) => {
                handle.spawn_blocking(job);
                Ok(())
            }
            Spawn::Thread(name) => std::thread::Builder::new()
                .name(name.to_string())
                .spawn(job)
                .map(drop),
        }
    }
}

/// A thread's work, kept until it is started.
type Job = Box<dyn FnOnce() + Send>;

/// A stream's thread, not started until the stream is first used (see the module's
/// documentation). Dropped unstarted, its job drops the reader or writer it owns.
pub(crate) struct Deferred(Mutex<Thread>);

enum Thread {
    /// Not started yet.
    Waiting(Job, Spawn),
    Started,
    /// Refused by the operating system or the runtime, or dropped unstarted
    /// ([`Deferred::discard`]): every later start fails the same way, so a stream whose thread
    /// never ran cannot mistake its closed channel for the end of its input.
    Refused(io::ErrorKind, String),
}

impl Deferred {
    fn new(job: Job, spawn: Spawn) -> Self {
        Deferred(Mutex::new(Thread::Waiting(job, spawn)))
    }

    /// Starts the thread unless it was started before; an error if the operating system or the
    /// runtime refused it, now or before.
    pub(crate) fn start(&self) -> io::Result<()> {
        let mut thread = self.0.lock();
        match std::mem::replace(&mut *thread, Thread::Started) {
            Thread::Waiting(job, spawn) => spawn.spawn(job).inspect_err(|e| {
                *thread = Thread::Refused(e.kind(), e.to_string());
            }),
            Thread::Started => Ok(()),
            Thread::Refused(kind, message) => {
                let e = io::Error::new(kind, message.clone());
                *thread = Thread::Refused(kind, message);
                Err(e)
            }
        }
    }

    /// Drops the job if the thread never started (closing the reader or writer it owns), and
    /// says whether it did; a later start fails.
    pub(crate) fn discard(&self) -> bool {
        let mut thread = self.0.lock();
        if !matches!(*thread, Thread::Waiting(..)) {
            return false;
        }
        let dropped = std::mem::replace(
            &mut *thread,
            Thread::Refused(
                io::ErrorKind::BrokenPipe,
                "the stream was cancelled or aborted".into(),
            ),
        );
        drop(thread);
        drop(dropped);
        true
    }
}

/// How the source's thread fills a chunk.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fill {
    /// Reads until the chunk is full or the input ends (files: fewer, fuller chunks).
    Full,
    /// One `read` per chunk, handed over at once (stdin: bytes flow as they arrive).
    Once,
}

/// A direct copy's request to a reading or writing thread for its file: the thread sends it on
/// `give` between two chunks, then waits on `back` for it ([`Back`]).
pub(crate) struct Lend<F> {
    pub(crate) give: oneshot::Sender<F>,
    pub(crate) back: std::sync::mpsc::Receiver<Back<F>>,
}

/// A file handed back to its thread by a direct copy.
pub(crate) struct Back<F> {
    pub(crate) file: F,
    /// The copy failed on this file: a reading thread hands the error to the stream as its next
    /// read and stops; a writing thread stops on it as on a write error of its own.
    pub(crate) error: Option<io::Error>,
}

/// Waits for a lent file to come back; `None` if the copy was dropped with it.
fn wait_back<F>(back: std::sync::mpsc::Receiver<Back<F>>) -> Option<Back<F>> {
    back.recv().ok()
}

/// What a thread source's stream shares with a direct copy ([`super::direct`]).
pub(crate) struct SourceShare<R> {
    /// The receiving end of the chunks read ahead: taken by the pull in progress, and by a direct
    /// copy while it lasts.
    pub(crate) rx: Mutex<Option<mpsc::Receiver<io::Result<Bytes>>>>,
    /// Read results a direct copy took from the channel without copying them (or the read error
    /// it met), served by the next pulls before the channel.
    pub(crate) stash: Mutex<VecDeque<io::Result<Bytes>>>,
    /// The stream has been pulled or cancelled, or lent to a direct copy.
    pub(crate) touched: AtomicBool,
    /// A direct copy's request for the reader, served by the reading thread between two chunks.
    /// The thread holds this slot, not the share: the channel's receiver must not outlive the
    /// stream, or a thread blocked on a full channel would wait forever.
    pub(crate) lend: Arc<Mutex<Option<Lend<R>>>>,
    /// The reading thread, until the first pull or borrow starts it.
    pub(crate) thread: Deferred,
}

/// A readable byte stream of `reader`, read `chunk_size` bytes at a time (at least 1) by a
/// blocking thread that stays up to `read_ahead` chunks ahead, into pooled aligned buffers moved
/// to the reader as `Bytes`; the thread starts at the first pull (or a direct copy's borrow).
/// Cancelling the stream stops the thread after its current read. Returns the stream and what it
/// shares with a direct copy (which lends the reader).
pub(crate) fn thread_source<R: Read + Send + 'static>(
    mut reader: R,
    chunk_size: usize,
    read_ahead: usize,
    pool_keep: usize,
    fill: Fill,
    spawn: Spawn,
) -> io::Result<(ReadableStream<Bytes>, Arc<SourceShare<R>>)> {
    let pool = Pool::new(chunk_size.max(1), pool_keep);
    let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(read_ahead.max(1));
    let lend: Arc<Mutex<Option<Lend<R>>>> = Arc::new(Mutex::new(None));
    let lent = lend.clone();
    let job = move || loop {
        // A direct copy asks for the reader between two chunks (every chunk read so far is in
        // the channel) and hands it back when it is done.
        let request = lent.lock().take();
        if let Some(Lend { give, back }) = request {
            match give.send(reader) {
                // The copy gave up before taking it.
                Err(r) => reader = r,
                Ok(()) => match wait_back(back) {
                    Some(Back { file, error: None }) => reader = file,
                    // The copy met a read error: the stream gets it next, as if read here.
                    Some(Back { error: Some(e), .. }) => {
                        let _ = tx.blocking_send(Err(e));
                        return;
                    }
                    // The copy was dropped with the reader.
                    None => return,
                },
            }
        }
        let mut buffer = pool.get();
        let read = match fill {
            Fill::Full => read_full(&mut reader, buffer.as_mut_slice()),
            Fill::Once => read_once(&mut reader, buffer.as_mut_slice()),
        };
        let item = match read {
            Ok(0) => return,
            Ok(n) => {
                // SAFETY: both read functions return at most the slice's length.
                unsafe { buffer.set_len(n) };
                Ok(buffer.freeze())
            }
            Err(e) => Err(e),
        };
        let failed = item.is_err();
        // Fails once the stream is cancelled or dropped (the receiver is gone): stop reading.
        if tx.blocking_send(item).is_err() || failed {
            return;
        }
    };
    let share = Arc::new(SourceShare {
        rx: Mutex::new(Some(rx)),
        stash: Mutex::new(VecDeque::new()),
        touched: AtomicBool::new(false),
        lend,
        thread: Deferred::new(Box::new(job), spawn),
    });
    let (pull_share, cancel_share) = (share.clone(), share.clone());
    let source = ByteSourceFn::new()
        .pull(move |c| {
            let share = &pull_share;
            share.touched.store(true, Ordering::Relaxed);
            if let Err(e) = share.thread.start() {
                return Completion::err(e.into());
            }
            // What a direct copy left for the stream comes first.
            if let Some(item) = share.stash.lock().pop_front() {
                return deliver(c, Some(item)).into();
            }
            let Some(mut receiver) = share.rx.lock().take() else {
                return Completion::err(StreamError::type_error("the input has been closed"));
            };
            // A chunk already read ahead is enqueued at once, with no future and no wake-up.
            match receiver.try_recv() {
                Ok(item) => {
                    *share.rx.lock() = Some(receiver);
                    return deliver(c, Some(item)).into();
                }
                Err(mpsc::error::TryRecvError::Disconnected) => return close(c).into(),
                Err(mpsc::error::TryRecvError::Empty) => {}
            }
            let (c, share) = (c.clone(), share.clone());
            Completion::future(async move {
                let item = receiver.recv().await;
                *share.rx.lock() = Some(receiver);
                deliver(&c, item)
            })
        })
        .cancel(move |_| {
            cancel_share.touched.store(true, Ordering::Relaxed);
            // Dropping the receiver stops the reading thread at its next chunk; a thread never
            // started is dropped with its reader.
            drop(cancel_share.rx.lock().take());
            cancel_share.thread.discard();
            cancel_share.stash.lock().clear();
        });
    let stream = ReadableStream::new_bytes(source).map_err(io::Error::from)?;
    Ok((stream, share))
}

fn deliver(c: &ReadableByteStreamController, item: Option<io::Result<Bytes>>) -> Result<(), StreamError> {
    match item {
        Some(Ok(chunk)) => c.enqueue(chunk),
        Some(Err(e)) => Err(e.into()),
        None => close(c),
    }
}

/// Closes the stream at the end of the input; a BYOB read waiting then completes, done, with its
/// buffer (the standard's `close()` followed by `byobRequest.respond(0)`).
fn close(c: &ReadableByteStreamController) -> Result<(), StreamError> {
    c.close()?;
    match c.byob_request() {
        Some(request) => request.respond(0),
        None => Ok(()),
    }
}

/// Reads until `buf` is full or the input ends.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// One read (retried when interrupted by a signal).
fn read_once(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match reader.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

/// What the sink's writing thread shares with the stream.
struct Behind {
    /// Bytes handed to the thread and not yet written.
    in_hand: AtomicUsize,
    /// Notified whenever the thread has written a chunk.
    written: Notify,
    /// The first write error, once the thread has stopped on it.
    error: Mutex<Option<StreamError>>,
}

/// What the sink's stream hands its writing thread.
pub(crate) enum Msg<W> {
    /// A chunk to write.
    Chunk(Bytes),
    /// A direct copy's request for the writer, served once every chunk before it is written.
    Lend(Lend<W>),
}

/// What a thread sink's stream shares with a direct copy ([`super::direct`]).
pub(crate) struct SinkShare<W> {
    /// The way to the writing thread; `None` once the stream closed or aborted.
    pub(crate) tx: Mutex<Option<mpsc::UnboundedSender<Msg<W>>>>,
    /// Something has been written, or the stream closed or aborted, or it was lent to a direct
    /// copy.
    pub(crate) touched: AtomicBool,
    /// The writing thread, until the first write, close, abort or borrow starts it.
    pub(crate) thread: Deferred,
}

/// A writable stream of bytes into `writer`, written by a blocking thread, with a byte-length
/// strategy of `high_water_mark` bytes; the thread starts at the first write, close or abort (or
/// a direct copy's borrow), and a refusal to start it is that operation's error. Returns the
/// stream and what it shares with a direct copy (which lends the writer).
///
/// A write counts as done once the chunk is handed to the thread while less than
/// `high_water_mark` bytes are in its hands (otherwise once enough is written), so at most the
/// high-water mark in bytes waits there, beside the stream's own queue. A write error stops the
/// thread and errors the stream (at the next write or at close) with the `io::Error` as its
/// reason; `close` resolves once every byte is written and the writer flushed and dropped;
/// `abort` drops the chunks still queued in the stream and resolves once those already handed over
/// (whose writes were reported done) are written and the writer dropped.
pub(crate) fn thread_sink<W: Write + Send + 'static>(
    mut writer: W,
    high_water_mark: usize,
    spawn: Spawn,
) -> io::Result<(WritableStream<Bytes>, Arc<SinkShare<W>>)> {
    let budget = high_water_mark.max(1);
    let behind = Arc::new(Behind {
        in_hand: AtomicUsize::new(0),
        written: Notify::new(),
        error: Mutex::new(None),
    });
    let (tx, mut rx) = mpsc::unbounded_channel::<Msg<W>>();
    let (done_tx, done_rx) = oneshot::channel::<()>();
    let b = behind.clone();
    let job = move || {
        let fail = |e: io::Error| {
            *b.error.lock() = Some(e.into());
            b.written.notify_waiters();
        };
        let mut failed = false;
        while let Some(msg) = rx.blocking_recv() {
            let chunk = match msg {
                Msg::Chunk(chunk) => chunk,
                Msg::Lend(Lend { give, back }) => {
                    match give.send(writer) {
                        // The copy gave up before taking it.
                        Err(w) => writer = w,
                        Ok(()) => match wait_back(back) {
                            Some(Back { file, error }) => {
                                writer = file;
                                if let Some(e) = error {
                                    fail(e);
                                    failed = true;
                                    break;
                                }
                            }
                            // The copy was dropped with the writer.
                            None => {
                                let _ = done_tx.send(());
                                return;
                            }
                        },
                    }
                    continue;
                }
            };
            if let Err(e) = writer.write_all(&chunk) {
                fail(e);
                failed = true;
                break;
            }
            b.in_hand.fetch_sub(chunk.len(), Ordering::AcqRel);
            b.written.notify_waiters();
        }
        // A buffered writer (stdout) holds the tail until flushed; a file's flush does nothing.
        if !failed {
            if let Err(e) = writer.flush() {
                fail(e);
            }
        }
        drop(writer);
        let _ = done_tx.send(());
    };
    let share = Arc::new(SinkShare {
        tx: Mutex::new(Some(tx)),
        touched: AtomicBool::new(false),
        thread: Deferred::new(Box::new(job), spawn),
    });
    let (tx, close_tx, abort_tx) = (share.clone(), share.clone(), share.clone());
    let done_rx = Arc::new(Mutex::new(Some(done_rx)));
    let abort_done = done_rx.clone();
    let (b_write, b_close) = (behind.clone(), behind);
    let sink = SinkFn::new()
        .write(move |chunk: Bytes, _| -> Completion {
            if let Some(e) = b_write.error.lock().clone() {
                return Completion::err(e);
            }
            tx.touched.store(true, Ordering::Relaxed);
            if let Err(e) = tx.thread.start() {
                return Completion::err(e.into());
            }
            let len = chunk.len();
            let before = b_write.in_hand.fetch_add(len, Ordering::AcqRel);
            let sent = tx.tx.lock().as_ref().map(|tx| tx.send(Msg::Chunk(chunk)).is_ok());
            if sent != Some(true) {
                return Completion::err(StreamError::type_error("the output has been closed"));
            }
            if before + len <= budget || before == 0 {
                return Completion::ok();
            }
            // Over the budget: done once the thread has caught up to it.
            let b = b_write.clone();
            Completion::future(async move {
                loop {
                    let notified = b.written.notified();
                    if let Some(e) = b.error.lock().clone() {
                        return Err(e);
                    }
                    if b.in_hand.load(Ordering::Acquire) <= budget {
                        return Ok(());
                    }
                    notified.await;
                }
            })
        })
        .close(move || -> Completion {
            close_tx.touched.store(true, Ordering::Relaxed);
            // Started even if nothing was written: it flushes and drops the writer, and says so.
            if let Err(e) = close_tx.thread.start() {
                return Completion::err(e.into());
            }
            drop(close_tx.tx.lock().take());
            let done = done_rx.lock().take();
            let b = b_close.clone();
            Completion::future(async move {
                if let Some(done) = done {
                    let _ = done.await;
                }
                match b.error.lock().clone() {
                    Some(e) => Err(e),
                    None => Ok(()),
                }
            })
        })
        .abort(move |_| -> Completion {
            // Chunks still queued in the stream are dropped by the stream; those already handed
            // over were reported written, so the thread writes them, then drops the writer.
            abort_tx.touched.store(true, Ordering::Relaxed);
            drop(abort_tx.tx.lock().take());
            if abort_tx.thread.discard() {
                // Never started, so nothing was handed over: the writer is dropped with the job.
                return Completion::ok();
            }
            let done = abort_done.lock().take();
            Completion::future(async move {
                if let Some(done) = done {
                    let _ = done.await;
                }
                Ok(())
            })
        });
    let stream = WritableStream::with_strategy(sink, ByteLengthQueuingStrategy::new(high_water_mark as f64))
        .map_err(io::Error::from)?;
    Ok((stream, share))
}
