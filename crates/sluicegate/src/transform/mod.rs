//! Transform streams: a writable side whose chunks a [`Transformer`] turns into chunks on a
//! readable side, with backpressure carried from the readable side back to the writable side.
//!
//! Files follow the standard: `stream.rs` is the `TransformStream` class and its operations,
//! `default_controller.rs` the `TransformStreamDefaultController`, `default_sink.rs` and
//! `default_source.rs` the algorithms of the two sides, `transformer.rs` the transformer API.

mod default_controller;
mod default_sink;
mod default_source;
pub(crate) mod stream;
mod transformer;

use std::fmt;
use std::sync::{Arc, OnceLock, Weak};

use crate::host::DomainCell;

use crate::algorithm::{checkin, AlgorithmSlot, Checkout};
use crate::error::{catch_user, StreamError};
use crate::host::{domain_for, upon_settlement, Abandon, Completion, Driver, HostRef, StepDomain};
use crate::promise::PromiseCell;
use crate::readable::ReadableStream;
use crate::strategy::QueuingStrategy;
use crate::writable::WritableStream;

pub use default_controller::TransformStreamDefaultController;
pub use transformer::{IdentityTransformer, Transformer, TransformerFn};

use default_sink::TransformSink;
use default_source::TransformSource;
use stream::{transform_stream_set_backpressure, Inner, Slots};

/// A transform stream from `I` to `O`: the standard's `TransformStream`.
///
/// Write into [`writable`](Self::writable), read from [`readable`](Self::readable). By default
/// the writable side buffers one chunk and the readable side none (high-water marks 1 and 0), so a
/// chunk is transformed only when a reader wants it.
///
/// ```
/// use sluicegate::transform::{TransformStream, TransformerFn};
///
/// # futures::executor::block_on(async {
/// let upper = TransformStream::new(TransformerFn::new(|s: String, c| c.enqueue(s.to_uppercase()))).unwrap();
/// let writer = upper.writable().get_writer().unwrap();
/// let reader = upper.readable().get_reader().unwrap();
/// let write = writer.write("hello".to_string());
/// assert_eq!(reader.read().await.unwrap().as_deref(), Some("HELLO"));
/// write.await.unwrap();
/// # });
/// ```
pub struct TransformStream<I: Send + 'static, O: Send + 'static> {
    readable: ReadableStream<O>,
    writable: WritableStream<I>,
}

impl<I: Send + 'static, O: Send + 'static> Clone for TransformStream<I, O> {
    fn clone(&self) -> Self {
        TransformStream {
            readable: self.readable.clone(),
            writable: self.writable.clone(),
        }
    }
}

impl<I: Send + 'static, O: Send + 'static> fmt::Debug for TransformStream<I, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransformStream")
            .field("readable", &self.readable)
            .field("writable", &self.writable)
            .finish()
    }
}

impl<T: Send + 'static> TransformStream<T, T> {
    /// An identity transform stream: chunks pass through unchanged.
    pub fn identity() -> Self {
        Self::new(IdentityTransformer).expect("the identity transformer has valid defaults")
    }
}

impl<I: Send + 'static, O: Send + 'static> TransformStream<I, O> {
    /// A transform stream running `transformer`, with the default strategies (writable side: high-
    /// water mark 1; readable side: 0; both counting chunks).
    pub fn new(transformer: impl Transformer<I, O>) -> Result<Self, StreamError> {
        Self::with_strategies(transformer, QueuingStrategy::new(), QueuingStrategy::new())
    }

    /// A transform stream that maps each chunk through `f`.
    ///
    /// ```
    /// use sluicegate::transform::TransformStream;
    ///
    /// let lengths = TransformStream::map(|s: String| s.len());
    /// # let _ = lengths;
    /// ```
    pub fn map(mut f: impl FnMut(I) -> O + Send + 'static) -> Self {
        Self::new(TransformerFn::new(
            move |chunk, c: &TransformStreamDefaultController<O>| c.enqueue(f(chunk)),
        ))
        .expect("a mapping transformer has valid defaults")
    }

    /// A transform stream with explicit strategies for the writable and readable sides.
    pub fn with_strategies(
        transformer: impl Transformer<I, O>,
        writable_strategy: impl Into<QueuingStrategy<I>>,
        readable_strategy: impl Into<QueuingStrategy<O>>,
    ) -> Result<Self, StreamError> {
        Self::with_host(
            transformer,
            writable_strategy,
            readable_strategy,
            Driver::new_implicit(),
        )
    }

    /// Like [`with_strategies`](Self::with_strategies), on an explicit host.
    pub fn with_host(
        transformer: impl Transformer<I, O>,
        writable_strategy: impl Into<QueuingStrategy<I>>,
        readable_strategy: impl Into<QueuingStrategy<O>>,
        host: HostRef,
    ) -> Result<Self, StreamError> {
        let readable_strategy = readable_strategy.into();
        let writable_strategy = writable_strategy.into();
        // Constructor steps 4–7: validate in the standard's order.
        readable_strategy.extract_high_water_mark(0.0)?;
        writable_strategy.extract_high_water_mark(1.0)?;
        let domain = domain_for(&host);
        let _entered = domain.enter();
        let inner: Arc<Inner<I, O>> = Arc::new(Inner {
            host: host.clone(),
            domain: StepDomain::new(&host, &domain),
            readable_side: OnceLock::new(),
            writable_side: OnceLock::new(),
            start_promise: PromiseCell::pending(),
            controller: OnceLock::new(),
            slots: DomainCell::new(
                domain.clone(),
                Slots {
                    backpressure: None,
                    backpressure_change_promise: None,
                    finish_promise: None,
                    transformer: AlgorithmSlot::new(Box::new(transformer)),
                },
            ),
        });
        // InitializeTransformStream.
        let writable = WritableStream::from_boxed_sink(
            Box::new(TransformSink(inner.clone())),
            writable_strategy,
            host.clone(),
            domain.clone(),
            1.0,
        )?;
        let readable = ReadableStream::from_boxed_source(
            Box::new(TransformSource(inner.clone())),
            readable_strategy,
            host.clone(),
            domain.clone(),
            0.0,
        )?;
        let _ = inner.writable_side.set(Arc::downgrade(&writable.inner));
        let _ = inner.readable_side.set(Arc::downgrade(&readable.inner));
        crate::stats::link_transform(&writable.inner, &readable.inner);
        transform_stream_set_backpressure(&inner, true);
        // A host torn down while a write waits for the readable side lets go of it (see
        // `Abandon for Inner`).
        host.track(Arc::downgrade(&inner) as Weak<dyn Abandon>);
        // Constructor step 11: resolve startPromise with the result of invoking start.
        // Bound first: a guard in the `match` scrutinee would be held across the user's `start`.
        let checkout = inner.lock().transformer.checkout();
        let start = match checkout {
            Checkout::Got(mut t) => {
                let result = catch_user(|| t.start(inner.controller()));
                checkin(&inner.slots, |s: &mut Slots<I, O>| &mut s.transformer, t);
                result?
            }
            _ => unreachable!("a new transform stream's transformer is present"),
        };
        match start {
            Completion::Ready(Err(e)) => return Err(e),
            Completion::Ready(Ok(())) => {
                inner.start_promise.resolve(());
            }
            pending => {
                let start_promise = inner.start_promise.clone();
                upon_settlement(&host, Some(&inner.domain), pending, move |r| {
                    start_promise.settle(r);
                });
            }
        }
        Ok(TransformStream { readable, writable })
    }

    /// The readable side, where transformed chunks come out.
    pub fn readable(&self) -> &ReadableStream<O> {
        &self.readable
    }

    /// The writable side, where chunks go in.
    pub fn writable(&self) -> &WritableStream<I> {
        &self.writable
    }

    /// Both sides, writable first.
    pub fn into_parts(self) -> (WritableStream<I>, ReadableStream<O>) {
        (self.writable, self.readable)
    }
}
