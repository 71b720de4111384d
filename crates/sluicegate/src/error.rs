//! Stream errors: cheap to clone, typed, and able to carry any user reason.
//!
//! The standard lets a stream be errored, cancelled or aborted with *any* value, and hands the same
//! value to every pending and future read, write and `closed` waiter. [`StreamError`] models that:
//! it is an `Arc` around a [`ErrorKind`], a message and an optional user reason, so cloning it is
//! one atomic increment and [`StreamError::same`] tells whether two errors are the very same value
//! (what a JS test checks with `assert_equals(e, theError)`).

use std::any::Any;
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// What kind of error a [`StreamError`] is, in the standard's terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The standard's `TypeError`: misuse such as reading from a released reader, enqueueing into a
    /// closed stream or piping a locked stream.
    Type,
    /// The standard's `RangeError`: a NaN or negative high-water mark, or a chunk size that is NaN,
    /// negative or infinite.
    Range,
    /// A `DOMException` named `AbortError`, as an abort signal produces by default.
    Abort,
    /// A reason supplied by user code (`controller.error(e)`, `cancel(reason)`, `abort(reason)`).
    User,
    /// The standard's `undefined` reason: `cancel()` or `abort()` called without one.
    Undefined,
    /// User code (a source, sink, transformer or size function) panicked; the stream is errored
    /// with this instead of unwinding through the caller.
    Panic,
}

struct Inner {
    kind: ErrorKind,
    message: Cow<'static, str>,
    reason: Option<Box<dyn Any + Send + Sync>>,
    /// What a binding made to stand for this error (see [`StreamError::binding_value`]).
    binding: std::sync::OnceLock<Box<dyn Any + Send + Sync>>,
}

/// An error stored in a stream and handed to every waiter.
///
/// ```
/// use sluicegate::{ErrorKind, StreamError};
///
/// let e = StreamError::user("disk full");
/// let copy = e.clone();
/// assert!(StreamError::same(&e, &copy));
/// assert_eq!(e.kind(), ErrorKind::User);
/// assert_eq!(e.reason::<&str>(), Some(&"disk full"));
/// assert!(!StreamError::same(&e, &StreamError::user("disk full")));
/// ```
#[derive(Clone)]
pub struct StreamError(Arc<Inner>);

impl StreamError {
    fn new(kind: ErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        StreamError(Arc::new(Inner {
            kind,
            message: message.into(),
            reason: None,
            binding: std::sync::OnceLock::new(),
        }))
    }

    /// A `TypeError` with a message.
    pub fn type_error(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Type, message)
    }

    /// A `RangeError` with a message.
    pub fn range_error(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Range, message)
    }

    /// An `AbortError` `DOMException`, what an abort signal aborted without a reason carries.
    pub fn abort_error(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Abort, message)
    }

    /// The standard's `undefined` reason.
    pub fn undefined() -> Self {
        Self::new(ErrorKind::Undefined, "undefined")
    }

    /// An error carrying any user value as its reason; read it back with [`StreamError::reason`].
    pub fn user<R: Any + Send + Sync + fmt::Debug>(reason: R) -> Self {
        let message = format!("{reason:?}");
        StreamError(Arc::new(Inner {
            kind: ErrorKind::User,
            message: message.into(),
            reason: Some(Box::new(reason)),
            binding: std::sync::OnceLock::new(),
        }))
    }

    /// An error for a panic caught in user code, with the panic message when it was a string.
    pub fn from_panic(payload: Box<dyn Any + Send>) -> Self {
        let message = if let Some(s) = payload.downcast_ref::<&'static str>() {
            Cow::Borrowed(*s)
        } else if let Some(s) = payload.downcast_ref::<String>() {
            Cow::Owned(s.clone())
        } else {
            Cow::Borrowed("panic in user code")
        };
        Self::new(ErrorKind::Panic, message)
    }

    /// The value a binding made to stand for this error the first time it converted it, if it is
    /// a `V`. The standard's errors are objects with identity: a `TypeError` that rejects both a
    /// read and `closed` is one object, so a binding converts an error once, stores the result
    /// with [`set_binding_value`](Self::set_binding_value) and hands out that value from then on.
    ///
    /// ```
    /// use sluicegate::StreamError;
    ///
    /// let e = StreamError::type_error("released");
    /// assert_eq!(e.binding_value::<u32>(), None);
    /// e.set_binding_value(7u32);
    /// e.set_binding_value(8u32); // the first value stays
    /// assert_eq!(e.clone().binding_value::<u32>(), Some(&7));
    /// ```
    pub fn binding_value<V: Any>(&self) -> Option<&V> {
        self.0.binding.get()?.downcast_ref()
    }

    /// Stores what a binding made to stand for this error; a value already stored stays. See
    /// [`binding_value`](Self::binding_value).
    pub fn set_binding_value<V: Any + Send + Sync>(&self, value: V) {
        let _ = self.0.binding.set(Box::new(value));
    }

    /// The error's kind.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// The error's message (for user errors, the reason's `Debug` form).
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// The user reason, if this error carries one of type `R`.
    pub fn reason<R: Any>(&self) -> Option<&R> {
        self.0.reason.as_ref()?.downcast_ref::<R>()
    }

    /// Whether two errors are the very same value (the same stored error handed on), not merely
    /// equal-looking ones.
    pub fn same(a: &StreamError, b: &StreamError) -> bool {
        Arc::ptr_eq(&a.0, &b.0)
    }
}

impl fmt::Debug for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}({})", self.0.kind, self.0.message)
    }
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.0.kind {
            ErrorKind::Type => "TypeError",
            ErrorKind::Range => "RangeError",
            ErrorKind::Abort => "AbortError",
            ErrorKind::User => "Error",
            ErrorKind::Undefined => "undefined",
            ErrorKind::Panic => "panic",
        };
        write!(f, "{name}: {}", self.0.message)
    }
}

impl std::error::Error for StreamError {}

/// A stream error as an I/O error. The `io::ErrorKind` is the one of the `io::Error` the stream
/// error carries as its reason (see `From<io::Error> for StreamError`), `Other` otherwise; the
/// stream error itself is the inner error (`get_ref()` downcasts to `StreamError`), so nothing is
/// lost crossing back and forth.
impl From<StreamError> for std::io::Error {
    fn from(e: StreamError) -> Self {
        let kind = e
            .reason::<std::io::Error>()
            .map_or(std::io::ErrorKind::Other, std::io::Error::kind);
        std::io::Error::new(kind, e)
    }
}

/// An I/O error as a stream error: a user error whose reason is the `io::Error` itself
/// (`e.reason::<std::io::Error>()`). An I/O error that already wraps a stream error (one made by
/// `From<StreamError> for io::Error`) gives that very stream error back.
impl From<std::io::Error> for StreamError {
    fn from(e: std::io::Error) -> Self {
        if e.get_ref().is_some_and(|inner| inner.is::<StreamError>()) {
            let inner = e.into_inner().expect("checked above");
            return *inner.downcast::<StreamError>().expect("checked above");
        }
        StreamError::user(e)
    }
}

/// Runs user code, turning a panic into a [`StreamError`] of kind [`ErrorKind::Panic`].
///
/// Core code never holds a lock while user code runs (see the crate docs): the execution domains
/// this thread holds are released around `f` ([`outside_domains`](crate::host::outside_domains)), so user code may call back
/// into its streams from any thread, and catching the panic here leaves no lock poisoned and every
/// waiter is settled with the error.
pub(crate) fn catch_user<R>(f: impl FnOnce() -> R) -> Result<R, StreamError> {
    crate::host::outside_domains(|| std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)))
        .map_err(StreamError::from_panic)
}

/// Shorthand for results in this crate.
pub type Result<T, E = StreamError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_round_trip_with_their_kind_and_identity() {
        let io = std::io::Error::new(std::io::ErrorKind::BrokenPipe, "gone");
        let e = StreamError::from(io);
        assert_eq!(e.kind(), ErrorKind::User);
        assert_eq!(
            e.reason::<std::io::Error>().map(std::io::Error::kind),
            Some(std::io::ErrorKind::BrokenPipe)
        );
        let back = std::io::Error::from(e.clone());
        assert_eq!(back.kind(), std::io::ErrorKind::BrokenPipe);
        let again = StreamError::from(back);
        assert!(StreamError::same(&e, &again));
        let typed = std::io::Error::from(StreamError::type_error("misuse"));
        assert_eq!(typed.kind(), std::io::ErrorKind::Other);
        assert_eq!(StreamError::from(typed).kind(), ErrorKind::Type);
    }
}
