//! The JavaScript runtime: one QuickJS runtime and context, and the [`JsHost`] that runs the core's
//! microtasks as QuickJS jobs.
//!
//! # Ordering
//!
//! The standard's "upon fulfillment of P" and "queue a microtask" steps must interleave with
//! JavaScript promise reactions exactly as in a browser: both are jobs on one FIFO. So
//! [`JsHost::queue_microtask`] pushes the core's step onto the host's queue *and* enqueues one
//! QuickJS job (`JS_EnqueueJob`) whose only work is to pop and run the oldest queued step. Because
//! every push enqueues exactly one job and QuickJS runs its jobs in order, the core's steps run in
//! the same FIFO as promise reactions, at the position where they were queued.
//!
//! One shortcut keeps that order while saving jobs: a step queued while a step's job is running,
//! with QuickJS's job list empty and no step queued before it waiting for a job, would run right
//! after the steps ahead of it, before anything queued later. So it is not given a job of its own:
//! the running job runs it, after its own step and the steps ahead of it, before control goes
//! back to QuickJS (see `Steps::inline`). Script cannot tell the difference.
//!
//! Futures the core hands to [`Host::spawn`] (a pipe's state machine) are polled by
//! [`Runtime::run_jobs`] whenever they were woken, after the job queue is empty.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::task::{Context as TaskContext, Poll, Wake, Waker};
use std::thread::{self, ThreadId};

use parking_lot::Mutex;
use rquickjs::{qjs, Coerced, Context, Ctx, Value};
use sluicegate::host::{Abandon, BoxFuture, Host, HostRef, Microtask};

use crate::value::Slot;

/// A map keyed by `JSContext` addresses, hashed with foldhash: the job trampoline looks its host
/// up once per step, where SipHash cost about 2% of a JS pipe's instructions.
type ByContext<V> = HashMap<usize, V, foldhash::fast::RandomState>;

thread_local! {
    /// The hosts of the runtimes living on this thread, by the address of their `JSContext`. The
    /// job trampoline finds its host here.
    static HOSTS: RefCell<ByContext<Arc<JsHost>>> = RefCell::new(ByContext::default());
    /// This thread's id, read once: `thread::current()` counts a reference up and down on every
    /// call, and the binding compares thread ids on every step and every value it touches.
    static THIS_THREAD: ThreadId = thread::current().id();
    /// The context address [`host_of`] last found a host for (0: none), cleared when that runtime
    /// is dropped: [`is_runtime_ctx`] answers from it without the map.
    static LAST_FOUND: Cell<usize> = const { Cell::new(0) };
}

/// The calling thread's id, without the reference count `thread::current()` takes (falls back to
/// it while the thread's locals are being torn down).
pub(crate) fn this_thread() -> ThreadId {
    THIS_THREAD
        .try_with(|id| *id)
        .unwrap_or_else(|_| thread::current().id())
}

/// Finds the host of the runtime `ctx` belongs to, if it is a [`Runtime`]'s context.
pub fn host_of(ctx: &Ctx<'_>) -> Option<Arc<JsHost>> {
    let key = ctx.as_raw().as_ptr() as usize;
    let host = HOSTS.with(|hosts| hosts.borrow().get(&key).cloned());
    if host.is_some() {
        LAST_FOUND.with(|last| last.set(key));
    }
    host
}

/// Whether `ctx` is the context of a live [`Runtime`] (what [`host_of`] answers, without the map
/// lookup and the reference count when it is the context last found: a plain value asks on
/// every chunk).
pub(crate) fn is_runtime_ctx(ctx: &Ctx<'_>) -> bool {
    let key = ctx.as_raw().as_ptr() as usize;
    LAST_FOUND.with(|last| last.get()) == key || host_of(ctx).is_some()
}

/// The core's [`Host`] for streams made from JavaScript.
///
/// It belongs to one [`Runtime`] and one thread. Steps queued from that thread become QuickJS jobs
/// (see the module docs). Steps queued from another thread (only possible if a native handle to a
/// JS-made stream was sent away) wait in a separate queue that [`Runtime::run_jobs`] moves onto
/// the job queue; once the runtime is dropped, queued steps are dropped without running.
pub struct JsHost {
    thread: ThreadId,
    /// The `JSContext` address while the runtime lives; 0 after it is dropped. Read and cleared
    /// only on `thread` (so no lock: a lock here was two atomic operations on every step queued
    /// and every call into script).
    ctx: AtomicUsize,
    /// Steps queued on the owning thread, one QuickJS job each (or run by the running job, see
    /// [`Steps::inline`]), popped in FIFO order.
    queue: Mutex<Steps>,
    /// Steps queued from other threads.
    foreign: Mutex<VecDeque<Microtask>>,
    /// Futures handed to [`Host::spawn`], polled by [`Runtime::run_jobs`].
    spawned: Mutex<Vec<BoxFuture<()>>>,
    woken: Arc<Flag>,
    /// The first panic raised by a step inside a job; re-raised by [`Runtime::run_jobs`] (a panic
    /// must not unwind through QuickJS's C frames).
    panic: Mutex<Option<Box<dyn Any + Send>>>,
    /// Every JS value the core holds (see [`crate::value::JsValue`]), released before the runtime
    /// is freed.
    pub(crate) values: Mutex<Vec<Weak<Slot>>>,
    /// The reaction helper captured at start-up (see [`crate::convert`]).
    pub(crate) react: Mutex<Option<crate::value::JsValue>>,
    /// Core handles kept alive until the job queue next runs dry (see [`JsHost::hold_until_idle`]).
    held: Mutex<Vec<Box<dyn Any + Send>>>,
    /// JS functions of the binding's glue, captured at start-up, by name (see [`JsHost::glue`]).
    glue: Mutex<HashMap<&'static str, crate::value::JsValue>>,
    /// Streams kept alive until they settle (see [`JsHost::keep_until_settled`]); each entry owns
    /// its handle and answers whether it has settled.
    kept: Mutex<Kept>,
    /// The core's work that waits on this runtime's streams (pipes; see [`Host::track`]),
    /// abandoned when the runtime is dropped.
    tracked: Mutex<Vec<Weak<dyn Abandon>>>,
}

/// The steps queued on the runtime's thread.
#[derive(Default)]
struct Steps {
    queued: VecDeque<Microtask>,
    /// A step's job is running ([`run_core_microtask`]).
    in_job: bool,
    /// How many steps at the head of `queued` have no job: each was queued while a step's job
    /// ran, with QuickJS's job list empty and every step ahead of it also without a job, so they
    /// are the next steps in FIFO order; the running job runs them after its own step.
    inline: usize,
}

/// The streams [`JsHost::keep_until_settled`] keeps, pruned at idle once they have doubled.
#[derive(Default)]
struct Kept {
    entries: Vec<Box<dyn Fn() -> bool + Send>>,
    /// How many entries were left by the last pruning.
    after_last_prune: usize,
}

/// Set when a spawned future is woken (or a step is queued from another thread); an event loop
/// with nothing to run sleeps on it ([`JsHost::wait_for_wake`]).
#[derive(Default)]
struct Flag(AtomicBool, Bell);

/// A condition variable an idle event loop sleeps on until a wake-up rings it.
#[derive(Default)]
struct Bell {
    lock: std::sync::Mutex<()>,
    rung: std::sync::Condvar,
}

impl Bell {
    fn ring(&self) {
        // Taken so that a sleeper between its check and its wait cannot miss the ring.
        let _held = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        self.rung.notify_all();
    }
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::Release);
        self.1.ring();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.store(true, Ordering::Release);
        self.1.ring();
    }
}

impl fmt::Debug for JsHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsHost")
            .field("thread", &self.thread)
            .field("queued", &self.queue.lock().queued.len())
            .finish_non_exhaustive()
    }
}

impl JsHost {
    /// The thread that owns the runtime; JS values are only touched on it.
    pub fn thread(&self) -> ThreadId {
        self.thread
    }

    /// Runs `f` with the runtime's context, if called on the runtime's thread while it lives.
    ///
    /// This is how a core step running as a job (a read request's chunk steps, a reaction to a
    /// source's promise) reaches JavaScript. Call it only from code that runs inside the runtime
    /// (a job, a JS call, or [`Runtime::with`]), never from a thread's idle time.
    pub fn with_ctx<R>(&self, f: impl FnOnce(&Ctx<'_>) -> R) -> Option<R> {
        if this_thread() != self.thread {
            return None;
        }
        let raw = self.live_ctx()?;
        // SAFETY: `raw` is the `JSContext` of the live runtime (it is cleared before the context
        // is freed), we are on the runtime's only thread, and callers run inside the runtime, so
        // no other borrow of QuickJS state is active across this call.
        let ctx = unsafe { Ctx::from_raw(NonNull::new(raw as *mut qjs::JSContext)?) };
        Some(f(&ctx))
    }

    /// The live `JSContext`'s address, `None` once the runtime is dropped; for the owning thread.
    fn live_ctx(&self) -> Option<usize> {
        match self.ctx.load(Ordering::Acquire) {
            0 => None,
            raw => Some(raw),
        }
    }

    fn enqueue_job(&self, raw: usize) -> bool {
        // SAFETY: `raw` is the live context (checked by the caller, on the owning thread) and we
        // are on its thread; `JS_EnqueueJob` copies zero arguments and only appends to the
        // runtime's job list.
        let rc = unsafe {
            qjs::JS_EnqueueJob(
                raw as *mut qjs::JSContext,
                Some(run_core_microtask),
                0,
                std::ptr::null_mut(),
            )
        };
        rc >= 0
    }

    /// Keeps `handle` (a core stream, usually) alive until [`Runtime::run_jobs`] next finds the
    /// job queue empty.
    ///
    /// The core's queued steps hold their stream weakly, so that a native stream dies with its
    /// last handle; in JavaScript, a queued reaction keeps everything it refers to alive. A stream
    /// made or resumed from script is therefore held here until the steps queued for it have run;
    /// after that, what keeps it alive is what script can still reach: its JS objects, and the
    /// callbacks of a pending JS promise it waits on (see [`crate::convert::completion_from_js`]).
    pub fn hold_until_idle(&self, handle: Box<dyn Any + Send>) {
        self.held.lock().push(handle);
    }

    /// Keeps a stream alive, through `settled` (which owns the stream's handle), until
    /// `settled()` answers true (the stream closed or errored) and the job queue has run dry.
    ///
    /// In JavaScript a stream is alive while anything reaches it, including reactions and the
    /// algorithms of other streams (a tee's branches, a pipe); the core holds many of those links
    /// weakly, so that native streams die with their last handle. The binding cannot trace the
    /// links JavaScript would, so a stream made from script lives until it settles, or until the
    /// runtime is dropped: a stream left open and unreachable is freed with its runtime, not
    /// before.
    pub fn keep_until_settled(&self, settled: Box<dyn Fn() -> bool + Send>) {
        self.kept.lock().entries.push(settled);
    }

    /// Drops the kept streams that have settled, when their number has doubled since the last
    /// pruning (amortised O(1) per stream). Called at idle, with no step queued.
    fn prune_kept(&self) -> bool {
        let entries = {
            let mut kept = self.kept.lock();
            if kept.entries.len() < 2 * kept.after_last_prune.max(16) {
                return false;
            }
            std::mem::take(&mut kept.entries)
        };
        // `settled()` reads stream state and must not run under the `kept` lock; dropping a
        // stream may queue steps, so the caller looks at the queue again.
        let (done, live): (Vec<_>, Vec<_>) = entries.into_iter().partition(|settled| settled());
        let mut kept = self.kept.lock();
        kept.entries.extend(live);
        kept.after_last_prune = kept.entries.len();
        drop(kept);
        let pruned = !done.is_empty();
        drop(done);
        pruned
    }

    /// Keeps a function of the binding's JS glue under `name`, for native code to call later.
    pub(crate) fn set_glue(&self, name: &'static str, function: crate::value::JsValue) {
        self.glue.lock().insert(name, function);
    }

    /// The glue function kept under `name`.
    pub(crate) fn glue<'js>(&self, ctx: &Ctx<'js>, name: &str) -> Option<rquickjs::Function<'js>> {
        let held = self.glue.lock().get(name).cloned()?;
        held.get(ctx)?.into_function()
    }

    /// Sleeps until a spawned future is woken or a step is queued from another thread (work for
    /// [`Runtime::run_jobs`]), or until `deadline`. Returns at once if that already happened. An
    /// event loop calls it when it has no job and no timer due, while something outside (I/O on
    /// another thread) may still wake it.
    pub fn wait_for_wake(&self, deadline: Option<std::time::Instant>) {
        let bell = &self.woken.1;
        let mut held = bell.lock.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if self.woken.0.load(Ordering::Acquire) || !self.foreign.lock().is_empty() {
                return;
            }
            match deadline {
                None => held = bell.rung.wait(held).unwrap_or_else(|e| e.into_inner()),
                Some(d) => {
                    let now = std::time::Instant::now();
                    if now >= d {
                        return;
                    }
                    held = bell
                        .rung
                        .wait_timeout(held, d - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            }
        }
    }

    /// The glue value kept under `name`, whatever it is.
    pub(crate) fn glue_value<'js>(&self, ctx: &Ctx<'js>, name: &str) -> Option<Value<'js>> {
        let held = self.glue.lock().get(name).cloned()?;
        held.get(ctx)
    }

    /// Keeps `panic` (unless one is kept already) for [`Runtime::run_jobs`] to re-raise: for a
    /// panic caught in a native function that script called, which must not unwind into QuickJS.
    pub(crate) fn stash_panic(&self, panic: Box<dyn Any + Send>) {
        self.panic.lock().get_or_insert(panic);
    }

    fn take_panic(&self) -> Option<Box<dyn Any + Send>> {
        self.panic.lock().take()
    }

    /// Polls the spawned futures once if any was woken; reports whether any was.
    fn poll_spawned(&self) -> bool {
        if !self.woken.0.swap(false, Ordering::AcqRel) {
            return false;
        }
        let waker = Waker::from(self.woken.clone());
        let mut cx = TaskContext::from_waker(&waker);
        let mut futures = std::mem::take(&mut *self.spawned.lock());
        futures.retain_mut(|f| f.as_mut().poll(&mut cx) == Poll::Pending);
        let mut spawned = self.spawned.lock();
        futures.append(&mut spawned);
        *spawned = futures;
        true
    }

    fn shut_down(&self) {
        self.ctx.store(0, Ordering::Release);
        // Pipes still pending would keep their streams alive through the streams' own pending
        // read requests and promise reactions, which nothing will ever run now: they let go of
        // the streams first, so that dropping the kept handles below frees them.
        let tracked = std::mem::take(&mut *self.tracked.lock());
        for work in tracked.iter().filter_map(Weak::upgrade) {
            work.abandon();
        }
        drop(tracked);
        let queued = std::mem::take(&mut self.queue.lock().queued);
        let foreign = std::mem::take(&mut *self.foreign.lock());
        let spawned = std::mem::take(&mut *self.spawned.lock());
        let held = std::mem::take(&mut *self.held.lock());
        let kept = std::mem::take(&mut self.kept.lock().entries);
        let glue = std::mem::take(&mut *self.glue.lock());
        drop((queued, foreign, spawned, held, kept, glue));
        let react = self.react.lock().take();
        drop(react);
        let values = std::mem::take(&mut *self.values.lock());
        for slot in values.iter().filter_map(Weak::upgrade) {
            slot.release();
        }
    }
}

/// Whether QuickJS's job list holds a job; `raw` is the live context (checked by the caller, on
/// the owning thread), used on its thread.
fn job_pending(raw: usize) -> bool {
    // SAFETY: `raw` is the live `JSContext` and we are on its thread; both calls only read the
    // runtime's fields (its address, then whether its job list is empty).
    unsafe { qjs::JS_IsJobPending(qjs::JS_GetRuntime(raw as *mut qjs::JSContext)) }
}

/// The QuickJS job that runs the oldest step the core queued.
// SAFETY: `unsafe` only because QuickJS calls it through a C function pointer with raw arguments;
// the body never dereferences them (`ctx` is only a key into `HOSTS`) and catches every panic
// before it could unwind into C. Exercised by every script test that uses a stream (their steps
// run as these jobs), under valgrind too (RELIABILITY.md).
unsafe extern "C" fn run_core_microtask(
    ctx: *mut qjs::JSContext,
    _argc: std::ffi::c_int,
    _argv: *mut qjs::JSValue,
) -> qjs::JSValue {
    let host = HOSTS.with(|hosts| hosts.borrow().get(&(ctx as usize)).cloned());
    if let Some(host) = host {
        let mut task = {
            let mut steps = host.queue.lock();
            steps.in_job = true;
            steps.queued.pop_front()
        };
        let mut panicked = false;
        loop {
            if let Some(task) = task {
                if let Err(panic) = catch_unwind(AssertUnwindSafe(task)) {
                    host.panic.lock().get_or_insert(panic);
                    panicked = true;
                }
            }
            let mut steps = host.queue.lock();
            if steps.inline == 0 {
                steps.in_job = false;
                break;
            }
            if panicked {
                // `run_jobs` re-raises the panic after this job: the steps queued without a job
                // get one each, to run (or be dropped) as they would have.
                let inline = std::mem::take(&mut steps.inline);
                steps.in_job = false;
                drop(steps);
                for _ in 0..inline {
                    if !host.enqueue_job(ctx as usize) {
                        let task = host.queue.lock().queued.pop_front();
                        host.foreign.lock().extend(task);
                    }
                }
                break;
            }
            // The head: steps without a job are always the first ones queued.
            steps.inline -= 1;
            task = steps.queued.pop_front();
        }
    }
    qjs::JS_UNDEFINED
}

impl Host for JsHost {
    fn queue_microtask(&self, task: Microtask) {
        if this_thread() == self.thread {
            // On the owning thread, the context cannot go away during this call: only
            // `Runtime::drop`, on this same thread, clears it.
            if let Some(raw) = self.live_ctx() {
                let mut steps = self.queue.lock();
                if steps.in_job && steps.queued.len() == steps.inline && !job_pending(raw) {
                    // Next in FIFO order after the steps ahead of it, which have no job either:
                    // the running job runs it (see `Steps::inline`).
                    steps.queued.push_back(task);
                    steps.inline += 1;
                    return;
                }
                steps.queued.push_back(task);
                drop(steps);
                if !self.enqueue_job(raw) {
                    // Out of memory in QuickJS: keep the step, run it from `run_jobs`.
                    let task = self.queue.lock().queued.pop_back();
                    self.foreign.lock().extend(task);
                }
            }
            // After shutdown the step is dropped: nothing will ever run it.
            return;
        }
        self.foreign.lock().push_back(task);
        self.woken.1.ring();
    }

    fn spawn(&self, future: BoxFuture<()>) {
        self.spawned.lock().push(future);
        self.woken.0.store(true, Ordering::Release);
    }

    fn poll_progress(&self, cx: &mut TaskContext<'_>) {
        // Jobs run only from `Runtime::run_jobs`; a pipe polling this host drives the spawned
        // futures (re-entrant calls see an empty set and return).
        let _ = cx;
        self.poll_spawned();
    }

    fn run_queued(&self) {}

    fn track(&self, work: Weak<dyn Abandon>) {
        let mut tracked = self.tracked.lock();
        if tracked.len() == tracked.capacity() {
            // Amortised pruning of finished work (freed pipes), before the vector grows.
            tracked.retain(|w| w.strong_count() > 0);
        }
        tracked.push(work);
    }
}

/// An error thrown by JavaScript code, as text (message and stack).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsError(pub String);

impl fmt::Display for JsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for JsError {}

/// A QuickJS runtime with one context, the stream classes and host globals installed, and a
/// [`JsHost`] for the core.
///
/// ```
/// use sluicegate_js::Runtime;
///
/// let rt = Runtime::new().unwrap();
/// rt.eval("globalThis.log = []; Promise.resolve().then(() => log.push('later')); log.push('now');")
///     .unwrap();
/// rt.run_jobs().unwrap();
/// let log: String = rt.with(|ctx| ctx.eval("log.join()").unwrap());
/// assert_eq!(log, "now,later");
/// ```
pub struct Runtime {
    host: Arc<JsHost>,
    context: Context,
    runtime: rquickjs::Runtime,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("host", &self.host)
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// Creates the runtime and its context and installs the globals (see [`crate::install`]).
    pub fn new() -> Result<Runtime, JsError> {
        let runtime = rquickjs::Runtime::new().map_err(|e| JsError(e.to_string()))?;
        let context = Context::full(&runtime).map_err(|e| JsError(e.to_string()))?;
        let raw = context.as_raw().as_ptr() as usize;
        let host = Arc::new(JsHost {
            thread: this_thread(),
            ctx: AtomicUsize::new(raw),
            queue: Mutex::new(Steps::default()),
            foreign: Mutex::new(VecDeque::new()),
            spawned: Mutex::new(Vec::new()),
            woken: Arc::new(Flag::default()),
            panic: Mutex::new(None),
            values: Mutex::new(Vec::new()),
            react: Mutex::new(None),
            held: Mutex::new(Vec::new()),
            glue: Mutex::new(HashMap::new()),
            kept: Mutex::new(Kept::default()),
            tracked: Mutex::new(Vec::new()),
        });
        HOSTS.with(|hosts| hosts.borrow_mut().insert(raw, host.clone()));
        let rt = Runtime {
            host,
            context,
            runtime,
        };
        rt.with(|ctx| crate::install(&ctx).map_err(|e| JsError(describe_error(&ctx, e))))?;
        Ok(rt)
    }

    /// The core host of this runtime's streams.
    pub fn host(&self) -> HostRef {
        self.host.clone()
    }

    /// The host as its concrete type.
    pub fn js_host(&self) -> &Arc<JsHost> {
        &self.host
    }

    /// The QuickJS runtime, for what the binding does not wrap (a promise rejection tracker, a
    /// module loader, an interrupt handler).
    pub fn quickjs(&self) -> &rquickjs::Runtime {
        &self.runtime
    }

    /// Runs `f` inside the context.
    pub fn with<R>(&self, f: impl FnOnce(Ctx<'_>) -> R) -> R {
        self.context.with(f)
    }

    /// Evaluates `source` as a global script; a thrown exception becomes a [`JsError`]. Jobs it
    /// queues are not run: call [`Runtime::run_jobs`].
    pub fn eval(&self, source: &str) -> Result<(), JsError> {
        self.with(|ctx| {
            ctx.eval::<(), _>(source)
                .map_err(|e| JsError(describe_error(&ctx, e)))
        })
    }

    /// Runs QuickJS's jobs (promise reactions and the core's steps, in one FIFO) until none is
    /// left and no spawned future was woken. The first exception thrown by a job is returned after
    /// the queue is drained; a panic inside a core step is re-raised here.
    pub fn run_jobs(&self) -> Result<(), JsError> {
        let mut first_error = None;
        loop {
            loop {
                match self.runtime.execute_pending_job() {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(exception) => {
                        let message = exception.0.with(|ctx| describe(&ctx, ctx.catch()));
                        first_error.get_or_insert(JsError(message));
                        // rquickjs 0.11.0 wraps the context JS_ExecutePendingJob lends it as an
                        // owned one, so dropping the exception frees the context once too often
                        // and a later GC trips QuickJS's `gc_decref_child` assertion (upstream
                        // DelSkayn/rquickjs#663, fixed after 0.11 by the same duplication). A job
                        // throws out of itself only with an uncatchable error (the interrupt
                        // handler's), which is how `sluicejs --timeout-ms` met it. The handle is
                        // given the reference it assumes, and its drop (which also lets go of its
                        // runtime handle) gives it back.
                        let raw = exception.0.as_raw().as_ptr();
                        // SAFETY: `raw` is a live context of this runtime (the job ran in it and
                        // the runtime, which owns it, is borrowed here); JS_DupContext only
                        // increments its reference count, which the exception's drop right after
                        // decrements. Tested by the integration test
                        // `runtime::a_job_stopped_by_the_interrupt_handler_…`.
                        unsafe { qjs::JS_DupContext(raw) };
                        drop(exception);
                    }
                }
                if let Some(panic) = self.host.take_panic() {
                    resume_unwind(panic);
                }
            }
            let foreign = std::mem::take(&mut *self.host.foreign.lock());
            let moved = !foreign.is_empty();
            for task in foreign {
                self.host.queue_microtask(task);
            }
            if !self.host.poll_spawned() && !moved && !self.runtime.is_job_pending() {
                // Idle: what was held for queued steps may go now. Dropping it can queue more
                // (a stream's last handle going), so look again.
                let held = std::mem::take(&mut *self.host.held.lock());
                if held.is_empty() && !self.host.prune_kept() {
                    break;
                }
                drop(held);
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        let raw = self.context.as_raw().as_ptr() as usize;
        HOSTS.with(|hosts| hosts.borrow_mut().remove(&raw));
        let _ = LAST_FOUND.try_with(|last| {
            if last.get() == raw {
                last.set(0);
            }
        });
        // Release every JS value the core still holds while the context is alive; then the
        // context and runtime are freed (fields drop after this).
        self.host.shut_down();
    }
}

/// The text of an rquickjs error; a JS exception is taken from the context and described.
pub fn describe_error(ctx: &Ctx<'_>, error: rquickjs::Error) -> String {
    match error {
        rquickjs::Error::Exception => describe(ctx, ctx.catch()),
        other => other.to_string(),
    }
}

/// `String(value)`, followed by the value's `stack` when it has one (`TypeError: msg\n  at …`).
pub fn describe(ctx: &Ctx<'_>, value: Value<'_>) -> String {
    let _ = ctx;
    let mut text = match value.get::<Coerced<String>>() {
        Ok(s) => s.0,
        Err(_) => format!("{value:?}"),
    };
    if let Some(stack) = value
        .as_object()
        .and_then(|o| o.get::<_, Option<String>>("stack").ok().flatten())
    {
        if !stack.is_empty() {
            text.push('\n');
            text.push_str(stack.trim_end());
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_thread_is_the_calling_threads_id() {
        let here = this_thread();
        assert_eq!(here, thread::current().id());
        let there = thread::spawn(|| {
            let id = this_thread();
            assert_eq!(id, thread::current().id());
            id
        })
        .join()
        .unwrap();
        assert_ne!(here, there);
        assert_eq!(this_thread(), here, "still this thread's after another asked");
    }

    #[test]
    fn a_dropped_runtimes_context_is_no_longer_a_runtimes() {
        let rt = Runtime::new().unwrap();
        let address = rt.with(|ctx| {
            assert!(is_runtime_ctx(&ctx));
            ctx.as_raw().as_ptr() as usize
        });
        assert_eq!(LAST_FOUND.with(Cell::get), address);
        drop(rt);
        // A context made later at the freed address must not pass for the runtime's.
        assert_eq!(LAST_FOUND.with(Cell::get), 0);
        let plain = rquickjs::Runtime::new().unwrap();
        let ctx = rquickjs::Context::full(&plain).unwrap();
        ctx.with(|ctx| {
            assert!(!is_runtime_ctx(&ctx));
            assert!(crate::JsValue::new(&ctx, Value::new_int(ctx.clone(), 1)).is_none());
        });
    }

    /// A step that logs `name` through script, then runs `then`.
    fn step(
        host: &Arc<JsHost>,
        name: &'static str,
        then: impl FnOnce(&Arc<JsHost>) + Send + 'static,
    ) -> Microtask {
        let h = host.clone();
        Box::new(move || {
            h.with_ctx(|ctx| ctx.eval::<(), _>(format!("log.push('{name}')")).unwrap());
            then(&h);
        })
    }

    fn log(rt: &Runtime) -> String {
        rt.with(|ctx| ctx.eval::<String, _>("log.join()").unwrap())
    }

    #[test]
    fn steps_queued_by_a_step_keep_their_place_among_promise_reactions() {
        // One job per step would run: A; then B, R, C, E as queued by A; then D, queued by B.
        // B goes without a job (nothing was pending when A queued it) and runs right after A; C
        // and E come after the reaction R, so they need jobs, and so does D, queued behind them.
        let rt = Runtime::new().unwrap();
        rt.eval("globalThis.log = [];").unwrap();
        let host = rt.js_host().clone();
        let a = step(&host, "A", |h| {
            h.queue_microtask(step(h, "B", |h| h.queue_microtask(step(h, "D", |_| ()))));
            h.with_ctx(|ctx| {
                ctx.eval::<(), _>("Promise.resolve().then(() => log.push('R'))")
                    .unwrap()
            });
            h.queue_microtask(step(h, "C", |_| ()));
            h.queue_microtask(step(h, "E", |_| ()));
        });
        rt.with(|_| host.queue_microtask(a));
        rt.run_jobs().unwrap();
        assert_eq!(log(&rt), "A,B,R,C,E,D");
        assert!(host.queue.lock().queued.is_empty());
    }

    #[test]
    fn steps_without_a_job_run_before_a_reaction_queued_after_them() {
        // A queues B and B2 with nothing pending, then a reaction R; B queues F with R pending.
        let rt = Runtime::new().unwrap();
        rt.eval("globalThis.log = [];").unwrap();
        let host = rt.js_host().clone();
        let a = step(&host, "A", |h| {
            h.queue_microtask(step(h, "B", |h| h.queue_microtask(step(h, "F", |_| ()))));
            h.queue_microtask(step(h, "B2", |_| ()));
            h.with_ctx(|ctx| {
                ctx.eval::<(), _>("Promise.resolve().then(() => log.push('R'))")
                    .unwrap()
            });
        });
        rt.with(|_| host.queue_microtask(a));
        rt.run_jobs().unwrap();
        assert_eq!(log(&rt), "A,B,B2,R,F");
    }

    #[test]
    fn a_panicking_step_leaves_the_steps_it_queued_to_their_own_jobs() {
        let rt = Runtime::new().unwrap();
        rt.eval("globalThis.log = [];").unwrap();
        let host = rt.js_host().clone();
        let a = step(&host, "A", |h| {
            h.queue_microtask(step(h, "B", |_| ()));
            panic!("step A fails");
        });
        rt.with(|_| host.queue_microtask(a));
        let panicked = catch_unwind(AssertUnwindSafe(|| rt.run_jobs()));
        assert!(panicked.is_err());
        assert_eq!(log(&rt), "A");
        // B got a job of its own and runs on the next turn.
        rt.run_jobs().unwrap();
        assert_eq!(log(&rt), "A,B");
    }
}
