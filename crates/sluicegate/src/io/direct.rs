//! A pipe from [`file_source`](super::file_source) straight to [`file_sink`](super::file_sink),
//! copied by the kernel.
//!
//! The pipe finds both ends untouched and asks the source for a direct copy
//! ([`crate::pipe::DirectSource`]). The copy borrows the two files from the streams' threads: the
//! writing thread hands its file over at once (nothing was written), the reading thread between
//! two chunks, after the chunks it had read ahead, which the copy takes from the channel and
//! writes first. Then one blocking job copies slices of at most [`SLICE`] bytes through
//! `std::io::copy`, which on Linux is `copy_file_range` between two files (`sendfile` or a plain
//! loop where that cannot be used), the slices let go a few at a time by the pipe's steps, at
//! most [`LEAD`] past those copied. When the source is exhausted, a slice fails, or the pipe is
//! aborted, the job ends and the files go back to their threads, which carry on as if they had
//! moved the bytes themselves: the reading thread reads on from where the copy stopped (at the end of the file:
//! the stream closes), the writing thread writes on after the bytes copied. A read error goes to
//! the stream as its next read, a write error to the sink as its next write or close, so the pipe
//! reports and propagates them as it would its own.

use std::collections::VecDeque;
use std::fs::File;
use std::future::{poll_fn, Future};
use std::io::{self, Read, Write};
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::task::Poll;

use bytes::Bytes;
use parking_lot::{Condvar, Mutex};
use tokio::sync::{oneshot, Notify};

use crate::host::BoxFuture;
use crate::pipe::{DirectCopy, DirectSink, DirectSource};

use super::threaded::{Back, Lend, Msg, SinkShare, SourceShare};

/// The most one slice of a direct copy moves: 8 MiB, a millisecond or a few of copying, so an
/// abort signal stops the copy that soon, and the pipe's steps between slices cost next to
/// nothing.
pub(crate) const SLICE: u64 = 8 << 20;

/// How far the copy may run ahead of the pipe's steps: each step lets it go on to `LEAD` slices
/// past those copied, and the next step is due once it is halfway there. The pipe's host is
/// thus woken every `LEAD / 2` slices, not after each, and the copy has `LEAD / 2` slices in hand
/// while the host runs the step: a slice takes about a millisecond at page-cache speed, and the
/// host, woken after each slice with one in hand, kept the copy waiting (or took its core) often
/// enough to cost about a tenth at 4 GiB on the 2-core development machine. A pipe whose host
/// nobody drives copies at most `LEAD` slices after its last step; an abort signal stops the
/// copy after the slice in flight.
pub(crate) const LEAD: u64 = 4;

/// The file behind a [`file_source`](super::file_source)'s stream, as a pipe sees it.
pub(crate) struct FileSource {
    pub(crate) share: Arc<SourceShare<File>>,
    /// Runs the copy's blocking jobs.
    pub(crate) runtime: tokio::runtime::Handle,
}

/// The file behind a [`file_sink`](super::file_sink)'s stream, as a pipe sees it.
pub(crate) struct FileSink {
    pub(crate) share: Arc<SinkShare<File>>,
}

impl DirectSource for FileSource {
    fn copy_to(&self, sink: &DirectSink) -> Option<Box<dyn DirectCopy>> {
        let sink = (**sink).downcast_ref::<FileSink>()?;
        let (source_share, sink_share) = (&self.share, &sink.share);
        if source_share.touched.load(Ordering::Relaxed)
            || sink_share.touched.load(Ordering::Relaxed)
            || source_share.rx.lock().is_none()
            || sink_share.tx.lock().is_none()
        {
            return None;
        }
        // Both streams are locked to the pipe: nothing else can touch them from here on.
        source_share.touched.store(true, Ordering::Relaxed);
        sink_share.touched.store(true, Ordering::Relaxed);
        Some(Box::new(FileCopy {
            shared: Arc::new(Shared {
                state: Mutex::new(CopyState {
                    source: source_share.clone(),
                    sink: sink_share.clone(),
                    busy: false,
                    started: false,
                    running: false,
                    granted: 0,
                    begun: 0,
                    wake_at: 0,
                    stop: false,
                    slices: 0,
                    over: false,
                    given: false,
                    copied: 0,
                    rx: None,
                    ahead: VecDeque::new(),
                    input: None,
                    output: None,
                    read_error: None,
                    write_error: None,
                }),
                go: Condvar::new(),
                progress: Notify::new(),
            }),
            runtime: self.runtime.clone(),
        }))
    }
}

/// A file borrowed from its thread, and the way back to it.
type Borrowed = (File, Sender<Back<File>>);

/// A direct copy between a file source and a file sink.
struct FileCopy {
    shared: Arc<Shared>,
    runtime: tokio::runtime::Handle,
}

/// What the copy, its job and the futures the pipe waits on share. Whoever drops it last (the
/// pipe, or a job still running after the pipe was dropped) hands the files back.
struct Shared {
    state: Mutex<CopyState>,
    /// Wakes the job when it is let go by another slice or asked to stop.
    go: Condvar,
    /// Notified by the job when the pipe's next step is due, and when it ends.
    progress: Notify,
}

struct CopyState {
    source: Arc<SourceShare<File>>,
    sink: Arc<SinkShare<File>>,
    /// A future the pipe waits on is pending ([`DirectCopy::busy`]).
    busy: bool,
    /// The files have been borrowed and the job started (or the borrowing failed).
    started: bool,
    /// The job is running.
    running: bool,
    /// Slices the job has been let go by, in all.
    granted: u64,
    /// Slices the job has begun.
    begun: u64,
    /// The pipe's step waits until this many slices are copied.
    wake_at: u64,
    /// The job is to stop before its next slice.
    stop: bool,
    /// Slices copied.
    slices: u64,
    /// Nothing more will be copied, and the job (if any) has ended.
    over: bool,
    /// The files have been handed back.
    given: bool,
    copied: u64,
    /// The source's channel of chunks read ahead, while the copy holds it.
    rx: Option<tokio::sync::mpsc::Receiver<io::Result<Bytes>>>,
    /// Chunks the reading thread had read ahead of the copy, written before the rest.
    ahead: VecDeque<Bytes>,
    /// The source's file, or `None` if its thread had stopped (at the end of the file, or on a
    /// read error) before it could lend it.
    input: Option<Borrowed>,
    output: Option<Borrowed>,
    read_error: Option<io::Error>,
    write_error: Option<io::Error>,
}

impl CopyState {
    /// Hands the files back to their threads (once), with the error each one met.
    fn give_back(&mut self) {
        if std::mem::replace(&mut self.given, true) {
            return;
        }
        // A request the reading thread never served (it had stopped).
        drop(self.source.lend.lock().take());
        {
            // Chunks read ahead and not written (the copy was dropped before its first slice)
            // are the stream's next chunks.
            let mut stash = self.source.stash.lock();
            stash.extend(self.ahead.drain(..).map(Ok));
            if self.input.is_none() {
                if let Some(e) = self.read_error.take() {
                    stash.push_back(Err(e));
                }
            }
        }
        if let Some(rx) = self.rx.take() {
            *self.source.rx.lock() = Some(rx);
        }
        if let Some((file, back)) = self.input.take() {
            let _ = back.send(Back {
                file,
                error: self.read_error.take(),
            });
        }
        if let Some((file, back)) = self.output.take() {
            let _ = back.send(Back {
                file,
                error: self.write_error.take(),
            });
        }
    }
}

impl Drop for CopyState {
    fn drop(&mut self) {
        self.give_back();
    }
}

impl FileCopy {
    /// A future that is over once the job has copied `slices` slices or the copy is over; it
    /// clears [`CopyState::busy`].
    fn progress(&self, slices: u64) -> BoxFuture<()> {
        let shared = self.shared.clone();
        Box::pin(async move {
            loop {
                let notified = shared.progress.notified();
                {
                    let mut st = shared.state.lock();
                    if st.slices >= slices || st.over {
                        st.busy = false;
                        return;
                    }
                }
                notified.await;
            }
        })
    }
}

/// A pipe dropped with its copy (a host that shut down drops the pipes it still held) stops the
/// job before its next slice; the last of the two to go hands the files back.
impl Drop for FileCopy {
    fn drop(&mut self) {
        self.shared.state.lock().stop = true;
        self.shared.go.notify_one();
    }
}

impl DirectCopy for FileCopy {
    fn go_on(&mut self) -> BoxFuture<()> {
        let mut st = self.shared.state.lock();
        st.busy = true;
        if st.started {
            st.granted = st.slices + LEAD;
            st.wake_at = st.slices + LEAD / 2;
            let wake_at = st.wake_at;
            drop(st);
            self.shared.go.notify_one();
            return self.progress(wake_at);
        }
        st.started = true;
        drop(st);
        // The first call: borrow the files, then start the job with LEAD slices to copy.
        let shared = self.shared.clone();
        let runtime = self.runtime.clone();
        let first = self.progress(LEAD / 2);
        Box::pin(async move {
            borrow(&shared.state).await;
            let start = {
                let mut st = shared.state.lock();
                if !st.over {
                    st.running = true;
                    st.granted = LEAD;
                    st.wake_at = LEAD / 2;
                }
                !st.over
            };
            if start {
                let job = shared.clone();
                // A job that panics loses the files; their threads stop when they hear nothing
                // back.
                drop(runtime.spawn_blocking(move || run_job(&job)));
            }
            first.await;
        })
    }

    fn stop(&mut self) -> BoxFuture<()> {
        let mut st = self.shared.state.lock();
        st.busy = true;
        st.stop = true;
        if !st.running {
            // Never started, or already ended.
            st.over = true;
        }
        drop(st);
        self.shared.go.notify_one();
        self.progress(u64::MAX)
    }

    fn busy(&self) -> bool {
        self.shared.state.lock().busy
    }

    fn over(&self) -> bool {
        self.shared.state.lock().over
    }

    fn copied(&self) -> u64 {
        self.shared.state.lock().copied
    }

    fn give_back(self: Box<Self>) {
        self.shared.state.lock().give_back();
    }
}

/// The copying job: one slice each time it is let go, until the source is exhausted, a slice
/// fails, or it is asked to stop.
fn run_job(shared: &Shared) {
    /// Ends the job: the copy is over.
    struct End<'a>(&'a Shared);
    impl Drop for End<'_> {
        fn drop(&mut self) {
            let mut st = self.0.state.lock();
            st.running = false;
            st.over = true;
            drop(st);
            self.0.progress.notify_waiters();
        }
    }
    let _end = End(shared);
    loop {
        let (ahead, mut input, mut output) = {
            let mut st = shared.state.lock();
            while st.begun >= st.granted && !st.stop {
                shared.go.wait(&mut st);
            }
            if st.stop {
                return;
            }
            st.begun += 1;
            (std::mem::take(&mut st.ahead), st.input.take(), st.output.take())
        };
        let (copied, outcome) = match output.as_mut() {
            Some((out, _)) => copy_slice(ahead, input.as_mut().map(|(file, _)| file), out, SLICE),
            None => (0, Outcome::End),
        };
        let mut st = shared.state.lock();
        st.input = input;
        st.output = output;
        st.copied += copied;
        st.slices += 1;
        let more = match outcome {
            Outcome::More => true,
            Outcome::End => false,
            Outcome::Read(e) => {
                st.read_error = Some(e);
                false
            }
            Outcome::Write(e) => {
                st.write_error = Some(e);
                false
            }
        };
        let wake = st.slices == st.wake_at;
        drop(st);
        if !more {
            return;
        }
        // The pipe's step is woken only when it is due, not after every slice.
        if wake {
            shared.progress.notify_waiters();
        }
    }
}

/// Borrows the two files: the sink's first (if its thread is gone, nothing is taken from the
/// source and the pipe runs as usual), then the source's, with the chunks its thread had read
/// ahead.
async fn borrow(state: &Mutex<CopyState>) {
    let (source, sink) = {
        let st = state.lock();
        (st.source.clone(), st.sink.clone())
    };
    // Both threads start at the first use of their stream, and the copy is the first use.
    if sink.thread.start().is_err() || source.thread.start().is_err() {
        state.lock().over = true;
        return;
    }
    let (give, taken) = oneshot::channel();
    let (back_tx, back) = std::sync::mpsc::channel();
    let asked = sink
        .tx
        .lock()
        .as_ref()
        .is_some_and(|tx| tx.send(Msg::Lend(Lend { give, back })).is_ok());
    let writer = match asked {
        true => taken.await.ok(),
        false => None,
    };
    let Some(writer) = writer else {
        state.lock().over = true;
        return;
    };
    state.lock().output = Some((writer, back_tx));
    let Some(rx) = source.rx.lock().take() else {
        state.lock().over = true;
        return;
    };
    state.lock().rx = Some(rx);
    let (give, mut taken) = oneshot::channel();
    let (back_tx, back) = std::sync::mpsc::channel();
    *source.lend.lock() = Some(Lend { give, back });
    // The chunks read ahead come first (the thread sends each before it looks for the request),
    // then either the file or, if the thread stopped, the end of the channel.
    let reader = poll_fn(|cx| {
        let mut guard = state.lock();
        let st = &mut *guard;
        let rx = st
            .rx
            .as_mut()
            .expect("the copy holds the channel while borrowing");
        loop {
            match rx.poll_recv(cx) {
                Poll::Ready(Some(Ok(chunk))) => st.ahead.push_back(chunk),
                // The thread stopped on a read error, or at the end of the file.
                Poll::Ready(Some(Err(e))) => {
                    st.read_error = Some(e);
                    return Poll::Ready(None);
                }
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => break,
            }
        }
        match Pin::new(&mut taken).poll(cx) {
            Poll::Ready(file) => {
                // Every chunk the thread read is in the channel by now.
                while let Ok(item) = rx.try_recv() {
                    match item {
                        Ok(chunk) => st.ahead.push_back(chunk),
                        Err(e) => st.read_error = Some(e),
                    }
                }
                Poll::Ready(file.ok())
            }
            Poll::Pending => Poll::Pending,
        }
    })
    .await;
    drop(source.lend.lock().take());
    let mut st = state.lock();
    match reader {
        Some(file) => st.input = Some((file, back_tx)),
        None if st.ahead.is_empty() => st.over = true,
        None => {}
    }
}

/// How a slice ended.
enum Outcome {
    /// The slice was full: there may be more.
    More,
    /// The source is exhausted.
    End,
    /// Reading the source failed.
    Read(io::Error),
    /// Writing the sink failed.
    Write(io::Error),
}

/// One slice: the chunks read ahead, then up to `limit` bytes from `input` (if the source's file
/// was borrowed) by `std::io::copy`. Returns the bytes moved and how the slice ended.
///
/// `std::io::copy` does not say which file failed, so a failed kernel copy is retried for the
/// rest of the slice with plain reads and writes, which do; an error the kernel copy alone meets
/// (say, a file system that refuses it) is thereby got around. Bytes the kernel copied before it
/// failed are not counted in the statistics.
fn copy_slice(
    ahead: VecDeque<Bytes>,
    input: Option<&mut File>,
    output: &mut File,
    limit: u64,
) -> (u64, Outcome) {
    let mut copied = 0;
    for chunk in ahead {
        if let Err(e) = output.write_all(&chunk) {
            return (copied, Outcome::Write(e));
        }
        copied += chunk.len() as u64;
    }
    let Some(input) = input else {
        return (copied, Outcome::End);
    };
    match io::copy(&mut (&*input).take(limit), output) {
        Ok(n) if n < limit => (copied + n, Outcome::End),
        Ok(n) => (copied + n, Outcome::More),
        Err(_) => {
            let (n, outcome) = copy_plain(input, output, limit);
            (copied + n, outcome)
        }
    }
}

/// Up to `limit` bytes from `input` to `output` through a buffer, telling a read error from a
/// write error.
fn copy_plain(input: &mut File, output: &mut File, limit: u64) -> (u64, Outcome) {
    let mut buffer = vec![0u8; 64 * 1024];
    let mut copied = 0;
    while copied < limit {
        let want = (limit - copied).min(buffer.len() as u64) as usize;
        let n = match input.read(&mut buffer[..want]) {
            Ok(0) => return (copied, Outcome::End),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return (copied, Outcome::Read(e)),
        };
        if let Err(e) = output.write_all(&buffer[..n]) {
            return (copied, Outcome::Write(e));
        }
        copied += n as u64;
    }
    (copied, Outcome::More)
}
