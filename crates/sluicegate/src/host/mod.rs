//! The scheduling seam: how "upon fulfillment of P" and "queue a microtask" happen.
//!
//! The core is a synchronous state machine. Every step the standard defers — reacting to the
//! promise an underlying source, sink or transformer returned, or queueing a microtask — goes
//! through one [`Host`]. The core never spawns a task, opens a channel or starts a thread.
//!
//! The native host is a [`Driver`]: a FIFO of microtasks plus the set of user futures still
//! pending. It runs only when polled, from inside the futures the public API hands out (a read, a
//! write, `closed`, a pipe). That keeps the core free of any runtime — it works the same under
//! tokio, async-std, `futures::executor` or a hand-rolled loop — and keeps it lazy the way Rust
//! futures are: nothing happens until someone awaits. Streams that are wired together (a tee's
//! branches, a transform stream's two sides) share one driver, so awaiting either end drives the
//! whole group; a pipe between two groups made without a host merges their drivers, so a group
//! connected by pipes runs in one run loop too. A JavaScript embedding supplies its own host that maps the same calls onto the
//! engine's promise jobs.
//!
//! [`Completion`] is what user algorithms return in place of a promise: either a result that is
//! already known, or a future.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, Waker};

use crate::error::{catch_user, StreamError};
use crate::promise::PromiseCell;

mod cell;
mod domain;
mod driver;
#[cfg(all(test, sluicegate_loom))]
mod loom_tests;

pub(crate) use cell::{CellGuard, DomainCell};
pub(crate) use domain::outside_domains;
pub use domain::Domain;
pub use driver::Driver;
pub(crate) use driver::Hold;

/// A boxed, `Send` future as the host drives it.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// A microtask: a step the standard runs "later, but before anything else happens".
pub type Microtask = Box<dyn FnOnce() + Send + 'static>;

/// The scheduling seam between the synchronous core and whatever runs it.
///
/// Implement it to embed sluicegate in another event loop (a JavaScript engine's job queue, a GUI
/// loop). The native implementation is [`Driver`].
pub trait Host: Send + Sync + 'static {
    /// Queues `task` to run after the current step finishes, in FIFO order with other microtasks.
    fn queue_microtask(&self, task: Microtask);

    /// Drives `future` to completion; it is polled by the host, never by the core.
    fn spawn(&self, future: BoxFuture<()>);

    /// Runs queued work until nothing more can progress without outside wake-ups, and arranges
    /// for `cx`'s waker to be woken when new work arrives.
    fn poll_progress(&self, cx: &mut Context<'_>);

    /// Runs work that is already queued, arranging no wake-up.
    ///
    /// A future whose result is already known (a read served from the queue, a settled `closed`)
    /// calls this before returning it, just as `await` on a settled promise lets the microtasks
    /// queued before it run first: a reaction to the source's last `pull` is processed before the
    /// code after the read runs, so the number and order of calls match the standard's. The
    /// default polls with a no-op waker; implementations should make the nothing-queued case
    /// cheap.
    fn run_queued(&self) {
        self.poll_progress(&mut Context::from_waker(Waker::noop()));
    }

    /// The [`Domain`] of the streams made on this host, if the host keeps one: streams that share
    /// a host then share a domain from the start. A host that returns `None` (the default) gives
    /// each stream, or each group a constructor makes (a transform stream's sides, a tee's
    /// branches), a domain of its own; pipes merge domains either way.
    fn domain(&self) -> Option<Arc<Domain>> {
        None
    }

    /// Work the core started on this host that holds its streams while it waits on them (a pipe:
    /// its streams' pending read request and promise reactions hold it, and it holds the
    /// streams). Such a group is a cycle that only finishing frees, and finishing needs this
    /// host's steps. A host that will never run steps again, with such work still pending (an
    /// embedding's runtime being torn down), may call [`Abandon::abandon`] on each entry still
    /// alive, so that the group is freed with it. The default ignores it, which is right for a
    /// host that lives as long as its streams (a [`Driver`]).
    fn track(&self, work: Weak<dyn Abandon>) {
        let _ = work;
    }

    /// Whether this host has given up on its streams for good: it will never run their steps
    /// again (the native driver, once nothing holds its group; see [`Driver`]). The core then
    /// stops running at once the reactions it would otherwise run inline (DESIGN.md,
    /// "Synchronous completions inside a pipe"). The default is `false`.
    fn abandoned(&self) -> bool {
        false
    }
}

/// Work a host may give up on when it shuts down ([`Host::track`]).
pub trait Abandon: Send + Sync {
    /// Drops what the work holds (its streams, reader, writer and the values in flight) without
    /// running anything more of it: its promise never settles, and its streams are left as they
    /// are, locked. Only for a host that will never run steps again; does nothing if a step of
    /// the work is running.
    fn abandon(&self);
}

/// The domain for a new stream (or group of streams) on `host`.
pub(crate) fn domain_for(host: &HostRef) -> Arc<Domain> {
    host.domain().unwrap_or_else(Domain::new)
}

/// A shared handle to a host.
pub type HostRef = Arc<dyn Host>;

/// What an underlying source, sink or transformer returns where the standard has a promise.
///
/// A synchronous `Err` from a `start` method is the standard's *thrown* exception: the stream's
/// constructor returns it. From every other method it is a rejected promise.
///
/// Three forms: already settled ([`Completion::Ready`]), a future the host drives
/// ([`Completion::Pending`]), or a promise settled from elsewhere through a [`Resolver`]
/// ([`Completion::Deferred`], made by [`Completion::deferred`]), which is how an embedding maps
/// its own promises onto the core with the standard's reaction order.
///
/// ```
/// use sluicegate::{Completion, StreamError};
///
/// let done = Completion::ok();
/// let failed: Completion = Err(StreamError::user("nope")).into();
/// let later = Completion::future(async { Ok(()) });
/// # let _ = (done, failed, later);
/// ```
pub enum Completion {
    /// Already settled.
    Ready(Result<(), StreamError>),
    /// Settles when the future completes.
    Pending(BoxFuture<Result<(), StreamError>>),
    /// Settles when its [`Resolver`] is used.
    Deferred(Deferred),
}

/// A promise the core can react to, settled through its [`Resolver`].
#[derive(Clone)]
pub struct Deferred(pub(crate) Settles);

/// How a [`Deferred`] completion settles.
#[derive(Clone)]
pub(crate) enum Settles {
    /// When its cell does.
    Cell(Arc<PromiseCell<()>>),
    /// With this result, one microtask from when a reaction is attached: a promise made by
    /// reacting to a promise that is already settled (as a transform stream's write promise over a
    /// transform that finished at once), with no cell to allocate.
    AfterTick(Result<(), StreamError>),
    /// "A promise resolved with" the cell's promise, as Web IDL makes one: a new promise that
    /// adopts the cell's, its reaction two microtasks after a reaction to the cell would run
    /// (NewPromiseResolveThenableJob, then the `then` reaction that settles it).
    Adopt(Arc<PromiseCell<()>>),
}

impl Deferred {
    /// The completion that settles when `cell` does.
    pub(crate) fn of(cell: Arc<PromiseCell<()>>) -> Self {
        Deferred(Settles::Cell(cell))
    }

    /// The completion that settles with `result` one microtask after a reaction is attached.
    pub(crate) fn after_tick(result: Result<(), StreamError>) -> Self {
        Deferred(Settles::AfterTick(result))
    }

    /// "A promise resolved with" `cell`'s promise ([`Settles::Adopt`]).
    pub(crate) fn adopting(cell: Arc<PromiseCell<()>>) -> Self {
        Deferred(Settles::Adopt(cell))
    }
}

/// Settles a [`Deferred`] completion. Settling twice does nothing the second time.
#[derive(Clone)]
pub struct Resolver(pub(crate) Arc<PromiseCell<()>>);

impl Resolver {
    /// Fulfils (`Ok`) or rejects (`Err`) the promise; returns whether this call settled it.
    pub fn settle(&self, result: Result<(), StreamError>) -> bool {
        self.0.settle(result)
    }

    /// Settles the promise from inside a reaction job of the embedding's own promise: the core's
    /// steps "upon fulfillment" or "upon rejection" of this completion run now, as part of that
    /// job, instead of in a microtask of their own. This is how a JavaScript binding reacts to a
    /// promise returned by user code with no extra tick: it settles the completion from the
    /// callbacks it attached to the promise with `then`, which already run as the reaction job.
    ///
    /// Call it only from such a reaction (not while holding a stream's lock): the steps may call
    /// user code.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use sluicegate::readable::{ReadableStream, SourceFn};
    /// use sluicegate::Completion;
    ///
    /// let resolver = Arc::new(Mutex::new(None));
    /// let (r, pulls) = (resolver.clone(), Arc::new(Mutex::new(0)));
    /// let p = pulls.clone();
    /// let stream = ReadableStream::<u8>::new(
    ///     SourceFn::new()
    ///         .start(move |_| {
    ///             let (completion, resolver) = Completion::deferred();
    ///             *r.lock().unwrap() = Some(resolver);
    ///             completion
    ///         })
    ///         .pull(move |_| *p.lock().unwrap() += 1),
    /// )
    /// .unwrap();
    /// // Start's promise fulfils inside a reaction: the first pull happens at once.
    /// resolver.lock().unwrap().take().unwrap().settle_from_reaction(Ok(()));
    /// assert_eq!(*pulls.lock().unwrap(), 1);
    /// # drop(stream);
    /// ```
    pub fn settle_from_reaction(&self, result: Result<(), StreamError>) -> bool {
        let outer = IN_REACTION.with(|flag| flag.replace(true));
        let settled = self.0.settle(result);
        IN_REACTION.with(|flag| flag.set(outer));
        settled
    }
}

thread_local! {
    /// Whether a [`Resolver::settle_from_reaction`] is settling a completion on this thread.
    static IN_REACTION: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

impl fmt::Debug for Resolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Resolver")
    }
}

impl Completion {
    /// A completion that is already fulfilled.
    pub fn ok() -> Self {
        Completion::Ready(Ok(()))
    }

    /// A completion that is already rejected with `e`.
    pub fn err(e: StreamError) -> Self {
        Completion::Ready(Err(e))
    }

    /// A completion settled later through the returned [`Resolver`].
    ///
    /// ```
    /// use sluicegate::Completion;
    ///
    /// let (completion, resolver) = Completion::deferred();
    /// assert!(resolver.settle(Ok(())));
    /// assert!(!resolver.settle(Ok(()))); // already settled
    /// # drop(completion);
    /// ```
    pub fn deferred() -> (Completion, Resolver) {
        let cell = PromiseCell::pending();
        (Completion::Deferred(Deferred::of(cell.clone())), Resolver(cell))
    }

    /// A completion that settles with the output of `f`.
    pub fn future<F>(f: F) -> Self
    where
        F: Future<Output = Result<(), StreamError>> + Send + 'static,
    {
        Completion::Pending(Box::pin(f))
    }

    /// Whether the completion is fulfilled already: a reaction to it would run with `Ok(())`
    /// whenever it ran (a synchronous success, or the standard's promise that settles a tick
    /// after a synchronous success).
    pub(crate) fn is_fulfilled(&self) -> bool {
        matches!(
            self,
            Completion::Ready(Ok(())) | Completion::Deferred(Deferred(Settles::AfterTick(Ok(()))))
        )
    }
}

impl From<Result<(), StreamError>> for Completion {
    fn from(r: Result<(), StreamError>) -> Self {
        Completion::Ready(r)
    }
}

impl From<()> for Completion {
    fn from(_: ()) -> Self {
        Completion::ok()
    }
}

impl fmt::Debug for Completion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Completion::Ready(r) => f.debug_tuple("Ready").field(r).finish(),
            Completion::Pending(_) => f.write_str("Pending(..)"),
            Completion::Deferred(_) => f.write_str("Deferred(..)"),
        }
    }
}

/// "Upon settlement of `completion`, run `steps`": the single place where the core waits.
///
/// An already settled completion still reacts in a microtask, as a resolved promise's reactions do,
/// so the order of steps matches the standard's. A future is driven by the host; a panic inside it
/// becomes a rejection.
///
/// The steps run inside `domain`: pass the stream's [`step_domain`](StepDomain), which is `None`
/// when the host runs every step inside that domain already (a [`Driver`] does).
pub(crate) fn upon_settlement(
    host: &HostRef,
    domain: Option<&StepDomain>,
    completion: Completion,
    steps: impl FnOnce(Result<(), StreamError>) + Send + 'static,
) {
    // A settlement the embedding makes from its own reaction job runs the steps inline, on the
    // embedding's thread and outside any run of the host: they enter the domain themselves.
    let Some(StepDomain { domain, enter }) = domain else {
        return react_on_host(host, None, completion, steps);
    };
    match enter {
        false => {
            // Only a settlement from an embedding's reaction job needs the domain (to enter it
            // inline); the host runs every other reaction inside it already. Cloning it for those
            // would cost two reference counts per reaction.
            let inline = match &completion {
                Completion::Deferred(Deferred(Settles::Cell(_) | Settles::Adopt(_))) => Some(domain.clone()),
                _ => None,
            };
            react_on_host(host, inline, completion, steps)
        }
        true => {
            let (inline, domain) = (domain.clone(), domain.clone());
            react_on_host(host, Some(inline), completion, move |result| {
                let _entered = domain.enter();
                steps(result);
            });
        }
    }
}

/// Queues `step` as a microtask that runs inside `domain` (see [`upon_settlement`]).
pub(crate) fn queue_step(host: &HostRef, domain: Option<Arc<Domain>>, step: impl FnOnce() + Send + 'static) {
    match domain {
        None => host.queue_microtask(Box::new(step)),
        Some(domain) => {
            host.queue_microtask(Box::new(move || {
                let _entered = domain.enter();
                step();
            }));
        }
    }
}

/// Which domain a stream's deferred steps must enter themselves: `None` when the stream's host
/// runs its steps inside the stream's domain already (a [`Driver`] made with the stream, or one
/// whose domain was merged with it), the stream's domain otherwise (an embedding's host).
pub(crate) struct StepDomain {
    domain: Arc<Domain>,
    enter: bool,
}

impl StepDomain {
    /// For a stream in `domain` on `host`.
    pub(crate) fn new(host: &HostRef, domain: &Arc<Domain>) -> Self {
        let enter = !host.domain().is_some_and(|own| Arc::ptr_eq(&own, domain));
        StepDomain {
            domain: domain.clone(),
            enter,
        }
    }

    /// The domain a deferred step must enter itself, if any.
    pub(crate) fn for_steps(&self) -> Option<&Arc<Domain>> {
        self.enter.then_some(&self.domain)
    }
}

impl std::ops::Deref for StepDomain {
    type Target = Arc<Domain>;
    fn deref(&self) -> &Arc<Domain> {
        &self.domain
    }
}

/// [`upon_settlement`] without a domain of its own.
fn react_on_host(
    host: &HostRef,
    inline: Option<Arc<Domain>>,
    completion: Completion,
    steps: impl FnOnce(Result<(), StreamError>) + Send + 'static,
) {
    match completion {
        Completion::Ready(result) => host.queue_microtask(Box::new(move || steps(result))),
        Completion::Pending(future) => host.spawn(Box::pin(async move {
            let result = CatchUnwind(future).await;
            steps(result);
        })),
        Completion::Deferred(Deferred(Settles::AfterTick(result))) => {
            // The promise settles in a microtask; the reaction to it runs in the next one.
            let next = host.clone();
            host.queue_microtask(Box::new(move || {
                next.queue_microtask(Box::new(move || steps(result)));
            }));
        }
        Completion::Deferred(Deferred(Settles::Adopt(cell))) => {
            // The adopting promise settles in the job `adopt` queues; its reaction runs a job later.
            let settle = move |host: &HostRef, result| host.queue_microtask(Box::new(move || steps(result)));
            adopt(host, inline, cell, Box::new(settle));
        }
        Completion::Deferred(Deferred(Settles::Cell(cell))) => {
            let host = host.clone();
            cell.on_settle(move |result| {
                // Settled from the embedding's own reaction job: that job is this reaction.
                if IN_REACTION.with(|flag| flag.replace(false)) {
                    let _entered = inline.as_ref().map(|d| d.enter());
                    steps(result);
                    IN_REACTION.with(|flag| flag.set(true));
                } else {
                    host.queue_microtask(Box::new(move || steps(result)));
                }
            });
        }
    }
}

/// How [`adopt`] settles the adopting promise, given the host.
pub(crate) type Settle = Box<dyn FnOnce(&HostRef, Result<(), StreamError>) + Send>;

/// A promise resolved with `cell`'s promise adopts it: this queues the NewPromiseResolveThenableJob,
/// which reacts to `cell` (the reaction of [`Settles::Cell`]), and that reaction settles the
/// adopting promise by calling `settle` (with the host, upgraded). [`Settles::Adopt`] reacts to
/// the adopting promise a job later; a promise of the core's own that the standard resolves with
/// another (a tee's `cancelPromise`) is settled by `settle` itself. The job holds its host
/// weakly: it waits in that host's own queue, and a host dropped without ever running must not
/// keep itself alive through it (`settle` gets the host as an argument for the same reason). Not
/// generic (`settle` is boxed) so that it can go back through [`react_on_host`].
pub(crate) fn adopt(host: &HostRef, inline: Option<Arc<Domain>>, cell: Arc<PromiseCell<()>>, settle: Settle) {
    let weak = Arc::downgrade(host);
    host.queue_microtask(Box::new(move || {
        let Some(host) = weak.upgrade() else { return };
        let (next, then) = (host.clone(), Completion::Deferred(Deferred(Settles::Cell(cell))));
        react_on_host(&host, inline, then, move |result| settle(&next, result));
    }));
}

/// Polls a user future, turning a panic into a rejection.
struct CatchUnwind(BoxFuture<Result<(), StreamError>>);

impl Future for CatchUnwind {
    type Output = Result<(), StreamError>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match catch_user(|| self.0.as_mut().poll(cx)) {
            Ok(poll) => poll,
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}
