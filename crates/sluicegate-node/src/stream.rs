//! [`NodeStream`]: what every stream kind shares (Readable, Writable, Duplex, Transform,
//! PassThrough), for functions that take any of them (`finished`, `add_abort_signal`,
//! `pipeline`'s clean-up).

use std::sync::Arc;

use crate::destroy::{lf, Life};
use crate::error::Error;
use crate::events::StreamId;
use crate::tick::EventLoop;

/// A handle to a stream's shared lifecycle (opaque).
#[doc(hidden)]
#[derive(Clone)]
pub struct StreamRef(pub(crate) Arc<Life>);

/// Any Node stream.
pub trait NodeStream: Send + Sync {
    #[doc(hidden)]
    fn stream_ref(&self) -> StreamRef;

    /// `destroy(err)`.
    fn destroy_stream(&self, err: Option<Error>);

    /// This stream's identity.
    fn stream_id(&self) -> StreamId {
        self.stream_ref().0.id
    }

    /// Whether it was destroyed.
    fn is_destroyed(&self) -> bool {
        self.stream_ref().0.destroyed()
    }

    /// Whether `'close'` was emitted.
    fn is_close_emitted(&self) -> bool {
        self.stream_ref().0.has(lf::CLOSE_EMITTED)
    }

    /// The stream's event loop.
    fn stream_loop(&self) -> EventLoop {
        EventLoop::from_domain(self.stream_ref().0.domain())
    }
}

impl<T: Send + 'static> NodeStream for crate::Readable<T> {
    fn stream_ref(&self) -> StreamRef {
        StreamRef(self.0.life.clone())
    }
    fn destroy_stream(&self, err: Option<Error>) {
        self.destroy(err);
    }
}

impl<T: Send + 'static> NodeStream for crate::Writable<T> {
    fn stream_ref(&self) -> StreamRef {
        StreamRef(self.0.life.clone())
    }
    fn destroy_stream(&self, err: Option<Error>) {
        self.destroy(err);
    }
}
