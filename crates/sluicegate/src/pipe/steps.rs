//! The pipe's shared core: the state its reactions share, the scheduling of steps on the
//! destination's host, the pipe's read request, and the future driving a source on another host.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;

use super::machine::Machine;
use super::ReadChunk;
use crate::error::StreamError;
use crate::host::{queue_step, Abandon, Domain, DomainCell, Hold, HostRef};
use crate::promise::PromiseCell;
use crate::readable::ReadRequest;

/// Everything a pipe is: the state machine, and the state its reactions share.
pub(super) struct Core<T: Send + 'static, U: Send + 'static> {
    /// The destination's host, where steps run.
    pub(super) host: HostRef,
    /// The domain a step enters itself, if the host does not run it inside it already.
    pub(super) domain: Option<Arc<Domain>>,
    /// What the read request, the abort algorithm and the reactions touch. Never held across a
    /// call into user code. Like the streams' slots, guarded by the group's domain.
    pub(super) shared: DomainCell<Shared<T, U>>,
    /// Taken only by the step in progress (see [`Shared::stepping`]); held across calls into user
    /// code, which cannot re-enter it: a step that finds another one running asks it to go again.
    /// `None` once the pipe was abandoned by its host ([`Abandon`]).
    pub(super) machine: DomainCell<Option<Machine<T, U>>>,
}

pub(super) struct Shared<T: Send + 'static, U: Send + 'static> {
    /// A step is queued as a microtask.
    pub(super) scheduled: bool,
    /// A step is running; `again` asks it to run the machine once more before it stops.
    pub(super) stepping: bool,
    pub(super) again: bool,
    /// A read request is outstanding.
    pub(super) reading: bool,
    /// A chunk that has been read but not yet written.
    pub(super) unwritten: Option<ReadChunk<T>>,
    /// Set by the abort algorithm: the signal's abort reason.
    pub(super) abort_reason: Option<StreamError>,
    /// The pipe has finalized, or was abandoned.
    pub(super) done: bool,
    /// The pipe was abandoned while a step ran (user code inside the step let go of the group's
    /// last hold): the step drops the machine once it ends ([`Abandon`]).
    pub(super) abandoned: bool,
    /// The task driving the source's host, if it is not the destination's.
    pub(super) driver: Option<Waker>,
    /// The read request's box, kept between reads so that a read allocates nothing
    /// ([`Core::read_request`]).
    pub(super) spare_read: Option<Box<PipeRead<T, U>>>,
}

impl<T: Send + 'static, U: Send + 'static> Shared<T, U> {
    /// Something happened that a step must look at: asks the running step to go again, or
    /// returns whether the caller must queue a step ([`Core::queue_step`]).
    fn needs_step(&mut self) -> bool {
        if self.done {
            return false;
        }
        if self.stepping {
            self.again = true;
            return false;
        }
        if self.scheduled {
            return false;
        }
        self.scheduled = true;
        true
    }
}
impl<T: Send + 'static, U: Send + 'static> Core<T, U> {
    /// Queues a step as a microtask on the destination's host, unless one is queued already. A
    /// step in progress is asked to go again instead.
    pub(super) fn schedule(self: &Arc<Self>) {
        let queue = self.shared.lock().needs_step();
        if queue {
            self.queue_step();
        }
    }

    /// Marks a read as outstanding and returns its request, in the box the last read used;
    /// `buffers` as in [`PipeRead::buffers`].
    pub(super) fn read_request(self: &Arc<Self>, buffers: bool) -> Box<dyn ReadRequest<T>> {
        let spare = {
            let mut s = self.shared.lock();
            s.reading = true;
            s.spare_read.take()
        };
        let mut request = spare.unwrap_or_else(|| {
            Box::new(PipeRead {
                core: None,
                buffers: false,
            })
        });
        request.core = Some(self.clone());
        request.buffers = buffers;
        request
    }

    /// Queues the step [`Shared::needs_step`] asked for.
    fn queue_step(self: &Arc<Self>) {
        let core = self.clone();
        queue_step(&self.host, self.domain.clone(), move || {
            core.shared.lock().scheduled = false;
            core.step();
        });
    }

    /// Runs the machine until it has to wait. Only one step runs at a time; a step started while
    /// another runs (re-entrantly from user code, or on another thread) leaves the work to it.
    pub(super) fn step(self: &Arc<Self>) {
        {
            let mut s = self.shared.lock();
            if s.stepping {
                s.again = true;
                return;
            }
            s.stepping = true;
            s.again = false;
        }
        loop {
            if let Some(m) = self.machine.lock_across_user_code().as_mut() {
                m.advance(self);
            }
            let mut s = self.shared.lock();
            if s.again && !s.done {
                s.again = false;
                continue;
            }
            s.stepping = false;
            let abandoned = std::mem::take(&mut s.abandoned);
            drop(s);
            if abandoned {
                // Given up while this step ran: what `abandon` left for the step's end.
                self.abandon();
            }
            return;
        }
    }

    /// Reacts to the reader's and the writer's `closed` promises: the source closing or erroring
    /// and the destination erroring.
    pub(super) fn watch_closed_promises(self: &Arc<Self>) {
        let (source_closed, dest_closed) = {
            let m = self.machine.lock();
            let Some(m) = m.as_ref() else { return };
            let source_closed = m.source.lock().reader.as_ref().map(|r| r.closed.clone());
            let dest_closed = m
                .dest
                .lock()
                .writer
                .as_ref()
                .map(|w| w.promises.lock().closed.clone());
            (source_closed, dest_closed)
        };
        for cell in [source_closed, dest_closed].into_iter().flatten() {
            self.upon_settlement(&cell);
        }
    }

    /// "Upon settlement of `cell`": a step.
    pub(super) fn upon_settlement(self: &Arc<Self>, cell: &Arc<PromiseCell<()>>) {
        let core = self.clone();
        cell.on_settle(move |_| core.schedule());
    }
}

/// A pipe whose host will never run its steps again (see [`Host::track`]) drops its machine:
/// the streams, the reader, the writer and the chunk in flight. What the streams still hold of
/// the pipe (the pending read request, reactions on their promises) then reaches only this
/// `Core`, which reaches nothing of theirs, so the group is freed with its last handle instead
/// of keeping itself alive. Nothing runs: the pipe's promise stays pending and its streams stay
/// locked, as they would have in the dropped host.
///
/// [`Host::track`]: crate::host::Host::track
impl<T: Send + 'static, U: Send + 'static> Abandon for Core<T, U> {
    fn abandon(&self) {
        let _entered = self.shared.domain().enter();
        let unwritten = {
            let mut s = self.shared.lock();
            s.done = true;
            if s.stepping {
                // The step holds the machine (user code inside it let go of the last hold, or
                // another thread did while the step was in user code): the step drops it when it
                // ends, and stops before another pass.
                s.abandoned = true;
                return;
            }
            s.driver = None;
            s.unwritten.take()
        };
        // Taken out under the cell's borrow, dropped after it: dropping the reader or the writer
        // may release it, which reaches this pipe's read request and reactions.
        let machine = self.machine.lock().take();
        drop((machine, unwritten));
    }
}
/// The pipe's read request: keeps the chunk for the next step to write, so that a chunk never
/// reaches the sink inside the `enqueue()` that delivered it.
///
/// Its box goes back to the pipe once the read is over and serves the next read: the pipe reads
/// every chunk through it, and a fresh box per read was one of the largest per-chunk costs.
pub(super) struct PipeRead<T: Send + 'static, U: Send + 'static> {
    /// The pipe, while the request is outstanding; `None` while the box is kept spare (so that the
    /// pipe does not own itself).
    core: Option<Arc<Core<T, U>>>,
    /// Whether a chunk's buffer and offset are kept ([`ReadChunk::in_buffer`]).
    buffers: bool,
}

impl<T: Send + 'static, U: Send + 'static> PipeRead<T, U> {
    /// The read is over (with a chunk, or because the source closed or errored): a step follows.
    fn done(mut self: Box<Self>, chunk: Option<ReadChunk<T>>) {
        let Some(core) = self.core.take() else { return };
        let queue = {
            let mut s = core.shared.lock();
            s.reading = false;
            if chunk.is_some() {
                s.unwritten = chunk;
            }
            s.spare_read = Some(self);
            s.needs_step()
        };
        if queue {
            core.queue_step();
        }
    }
}

impl<T: Send + 'static, U: Send + 'static> ReadRequest<T> for PipeRead<T, U> {
    fn chunk_steps(self: Box<Self>, chunk: T) {
        self.done(Some(ReadChunk::new(chunk)))
    }

    fn chunk_in_buffer_steps(self: Box<Self>, chunk: T, buffer: Bytes, byte_offset: usize) {
        let keep = self.buffers;
        self.done(Some(ReadChunk::in_buffer(chunk, buffer, byte_offset, keep)))
    }

    fn close_steps(self: Box<Self>) {
        self.done(None);
    }

    fn error_steps(self: Box<Self>, _e: StreamError) {
        self.done(None);
    }
}

/// Drives the source's host from the destination's host until the pipe finalizes, when the two
/// differ: the source's pull reactions run on its own host.
pub(super) struct DriveSource<T: Send + 'static, U: Send + 'static> {
    pub(super) core: Arc<Core<T, U>>,
    pub(super) host: HostRef,
    /// The source's group is driven from here while the pipe lasts: it must not be abandoned
    /// for want of a handle (see `Hold`).
    pub(super) _hold: Hold,
}

impl<T: Send + 'static, U: Send + 'static> Future for DriveSource<T, U> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        {
            // Polled by the destination's host, which need not run it inside the domain.
            let _entered = self.core.shared.domain().enter();
            let mut s = self.core.shared.lock();
            if s.done {
                return Poll::Ready(());
            }
            match &mut s.driver {
                Some(w) if w.will_wake(cx.waker()) => {}
                w => *w = Some(cx.waker().clone()),
            }
        }
        self.host.poll_progress(cx);
        Poll::Pending
    }
}
