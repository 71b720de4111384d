//! Shared support: how library errors and promises are compared with the model's, how futures are
//! polled, and the case count.

use proptest::test_runner::Config;
use sluicegate::{ErrorKind, Promised, StreamError};
use std::future::Future;
use std::pin::Pin;
use std::sync::Once;
use std::task::{Context, Poll, Waker};

/// An error as the model names it: the user reason's number, or the standard's kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum E {
    /// `StreamError::user(n)`.
    User(u32),
    /// A `TypeError`.
    Type,
    /// A `RangeError`.
    Range,
    /// A panic caught in user code.
    Panic,
}

impl E {
    /// The library error the model's `E::User(n)` stands for.
    pub fn user(n: u32) -> StreamError {
        StreamError::user(n)
    }

    /// Names a library error.
    pub fn of(e: &StreamError) -> E {
        match e.kind() {
            ErrorKind::User => E::User(*e.reason::<u32>().expect("the model only uses u32 reasons")),
            ErrorKind::Type => E::Type,
            ErrorKind::Range => E::Range,
            ErrorKind::Panic => E::Panic,
            other => panic!("an error kind the model never produces: {other:?} ({e:?})"),
        }
    }
}

/// The state of a promise or future: pending, fulfilled with a value, or rejected.
#[derive(Clone, Debug, PartialEq)]
pub enum P<T> {
    /// Not settled.
    Pending,
    /// Fulfilled.
    Ok(T),
    /// Rejected.
    Err(E),
}

impl<T> P<T> {
    /// From a settled result.
    pub fn of(r: Result<T, StreamError>) -> P<T> {
        match r {
            Ok(v) => P::Ok(v),
            Err(e) => P::Err(E::of(&e)),
        }
    }
}

/// The state of a library promise, without driving anything.
pub fn peek(p: &Promised<()>) -> P<()> {
    match p.peek() {
        None => P::Pending,
        Some(r) => P::of(r),
    }
}

/// A future handed out by the library, and what it resolved to once it has (mapped by `map` to
/// what the model compares).
pub struct Tracked<T, F, U> {
    future: Option<F>,
    map: fn(T) -> U,
    state: P<U>,
}

impl<T, F: Future<Output = Result<T, StreamError>> + Unpin, U: Clone> Tracked<T, F, U> {
    /// Starts tracking `future`.
    pub fn new(future: F, map: fn(T) -> U) -> Self {
        Tracked {
            future: Some(future),
            map,
            state: P::Pending,
        }
    }

    /// Polls once with a no-op waker if not yet complete; returns the state.
    pub fn poll(&mut self) -> P<U> {
        if let Some(f) = self.future.as_mut() {
            let mut cx = Context::from_waker(Waker::noop());
            if let Poll::Ready(r) = Pin::new(f).poll(&mut cx) {
                self.future = None;
                self.state = match r {
                    Ok(v) => P::Ok((self.map)(v)),
                    Err(e) => P::Err(E::of(&e)),
                };
            }
        }
        self.state.clone()
    }
}

/// The message of every panic the tests inject on purpose.
pub const INJECTED: &str = "model-injected panic";

/// Panics on purpose, as user code that fails by panicking does.
pub fn injected_panic() -> ! {
    std::panic::panic_any(INJECTED)
}

/// Keeps injected panics off stderr (a million cases would print a million backtraces); any
/// other panic still reports through the previous hook.
pub fn quiet_injected_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<&str>() == Some(&INJECTED) {
                return;
            }
            previous(info);
        }));
    });
}

/// Cases per property: `PROPTEST_CASES` if set, else 256 (fast enough for a debug `cargo test`).
pub fn config() -> Config {
    quiet_injected_panics();
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(256);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// A chunk's size under the tests' size function: the low four bits choose it. Most are valid
/// (0 to 4); the rest are what the standard rejects (NaN, negative, infinite), a size function
/// that fails, and one that panics.
pub fn chunk_size(chunk: u32) -> Result<f64, StreamError> {
    match chunk & 0xf {
        k @ 0..=4 => Ok(k as f64),
        10 => Ok(f64::NAN),
        11 => Ok(-1.0),
        12 => Ok(f64::INFINITY),
        13 => Err(E::user(999)),
        14 => injected_panic(),
        k => Ok((k % 5) as f64),
    }
}

/// The model's view of [`chunk_size`]: the size, or the error enqueue fails with.
pub fn model_size(chunk: u32) -> Result<f64, E> {
    match chunk & 0xf {
        k @ 0..=4 => Ok(k as f64),
        10..=12 => Err(E::Range),
        13 => Err(E::User(999)),
        14 => Err(E::Panic),
        k => Ok((k % 5) as f64),
    }
}

/// Chunks: a sequence number in the high bits, the size selector in the low four.
pub fn chunk() -> impl proptest::strategy::Strategy<Value = u32> {
    use proptest::prelude::*;
    (
        0u32..1000,
        prop_oneof![12 => 0u32..5, 1 => Just(10u32), 1 => Just(11u32), 1 => Just(12u32), 1 => Just(13u32), 1 => Just(14u32)],
    )
        .prop_map(|(n, k)| (n << 4) | k)
}

/// Settlement of a user algorithm's promise chosen by a test: fulfil, reject, or panic.
#[derive(Clone, Copy, Debug)]
pub enum Outcome {
    /// Fulfilled.
    Ok,
    /// Rejected with `E::User(n)`.
    Err(u32),
}

impl Outcome {
    /// As a library result.
    pub fn result(self) -> Result<(), StreamError> {
        match self {
            Outcome::Ok => Ok(()),
            Outcome::Err(n) => Err(E::user(n)),
        }
    }

    /// As the model's result.
    pub fn model(self) -> Result<(), E> {
        match self {
            Outcome::Ok => Ok(()),
            Outcome::Err(n) => Err(E::User(n)),
        }
    }
}

/// Random outcomes, mostly fulfilments.
pub fn outcome() -> impl proptest::strategy::Strategy<Value = Outcome> {
    use proptest::prelude::*;
    prop_oneof![3 => Just(Outcome::Ok), 1 => (0u32..100).prop_map(Outcome::Err)]
}

/// How a user algorithm answers a call: at once (fulfilled or rejected), later (the test settles
/// it through a resolver), or by panicking.
#[derive(Clone, Copy, Debug)]
pub enum Answer {
    /// `Completion::ok()` (or the outcome's rejection) returned at once.
    Now(Outcome),
    /// `Completion::deferred()`, settled by a later operation.
    Later,
    /// Panics.
    Panic,
}

/// Random answers.
pub fn answer() -> impl proptest::strategy::Strategy<Value = Answer> {
    use proptest::prelude::*;
    prop_oneof![4 => outcome().prop_map(Answer::Now), 3 => Just(Answer::Later), 1 => Just(Answer::Panic)]
}

/// How a test's user algorithms return what is not known at once: a
/// [`Completion::deferred`](sluicegate::Completion::deferred) settled through its resolver, or a
/// [`Completion::future`](sluicegate::Completion::future) the host polls (settled through a
/// channel; answers known at once and panics then also come from inside a future). Chosen per
/// case.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Flavour {
    /// Deferred completions; answers known at once are returned as they are.
    Deferred,
    /// Futures, for every answer of `pull`, `write`, `close`, `abort` and `cancel`.
    Futures,
}

thread_local! {
    static FLAVOUR: std::cell::Cell<Flavour> = const { std::cell::Cell::new(Flavour::Deferred) };
}

/// Sets this thread's [`Flavour`] for the case about to run.
pub fn set_flavour(f: Flavour) {
    FLAVOUR.with(|c| c.set(f));
}

/// Random flavours.
pub fn flavour() -> impl proptest::strategy::Strategy<Value = Flavour> {
    use proptest::prelude::*;
    prop_oneof![Just(Flavour::Deferred), Just(Flavour::Futures)]
}

/// Settles a pending answer: a deferred completion's resolver, or a future's channel.
pub enum Settler {
    /// A [`Completion::deferred`](sluicegate::Completion::deferred)'s resolver.
    Resolver(sluicegate::Resolver),
    /// The sending end a [`Completion::future`](sluicegate::Completion::future) waits on.
    Sender(futures::channel::oneshot::Sender<Result<(), StreamError>>),
}

impl Settler {
    /// Settles with `result`.
    pub fn settle(self, result: Result<(), StreamError>) {
        match self {
            Settler::Resolver(r) => {
                r.settle(result);
            }
            Settler::Sender(tx) => {
                let _ = tx.send(result);
            }
        }
    }
}

/// The library side of an [`Answer`] from `pull`, `write`, `close`, `abort` or `cancel`: a
/// completion in this thread's [`Flavour`], storing what settles a pending one in `slot`.
pub fn answer_with(a: Answer, slot: &mut Option<Settler>) -> sluicegate::Completion {
    use sluicegate::Completion;
    let futures = FLAVOUR.with(|c| c.get()) == Flavour::Futures;
    match (a, futures) {
        (Answer::Now(o), false) => o.result().into(),
        (Answer::Panic, false) => injected_panic(),
        (Answer::Later, false) => {
            let (c, r) = Completion::deferred();
            *slot = Some(Settler::Resolver(r));
            c
        }
        (Answer::Now(o), true) => Completion::future(async move { o.result() }),
        (Answer::Panic, true) => Completion::future(async move { injected_panic() }),
        (Answer::Later, true) => {
            let (tx, rx) = futures::channel::oneshot::channel();
            *slot = Some(Settler::Sender(tx));
            Completion::future(async move {
                rx.await
                    .unwrap_or_else(|_| Err(StreamError::type_error("the test dropped its sender")))
            })
        }
    }
}

/// The library side of `start`'s answer: a synchronous failure or panic makes the constructor
/// fail, so only a pending answer follows the flavour.
pub fn start_with(a: Answer, slot: &mut Option<Settler>) -> sluicegate::Completion {
    match a {
        Answer::Later => answer_with(a, slot),
        Answer::Now(o) => o.result().into(),
        Answer::Panic => injected_panic(),
    }
}

/// Locks a test's shared state; a panic injected while it was held does not poison it for the
/// test.
pub fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Promise results as the model resolves and rejects them: only a pending promise changes.
pub fn resolve(p: &mut P<()>) {
    if *p == P::Pending {
        *p = P::Ok(());
    }
}

/// Rejects `p` with `e` if it is pending.
pub fn reject(p: &mut P<()>, e: E) {
    if *p == P::Pending {
        *p = P::Err(e);
    }
}

/// The synchronous results of one operation, the model's and the library's (`None` for
/// operations that return nothing synchronously).
pub type SyncResults = (Option<Result<(), E>>, Option<Result<(), E>>);

/// One observable compared: `Ok` when the model's and the library's renderings agree, else the
/// difference, named, for the property's failure message.
pub fn check(what: &str, model: String, lib: String) -> Result<(), String> {
    if model == lib {
        Ok(())
    } else {
        Err(format!("{what}: model {model}, library {lib}"))
    }
}
