//! Errors with Node's codes.
//!
//! An [`Error`] is an `Arc`, so the one error a stream stores is handed cheaply to every
//! listener, callback and future that asks, and two handles can be compared for identity with
//! [`Error::same`] (Node tests compare with `===`). Its [`ErrorCode`] is Node's `err.code`; an
//! error made by user code has code [`ErrorCode::User`] and keeps its value for
//! [`Error::downcast_ref`].

use std::any::Any;
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use sluicegate::{ErrorKind, StreamError};

/// Node's error codes for streams (`err.code`), plus the few the Rust surface adds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// An error from user code (an implementor, a closure) or from I/O.
    User,
    /// `ERR_STREAM_PUSH_AFTER_EOF`: `push` after the end of the stream was pushed.
    PushAfterEof,
    /// `ERR_STREAM_UNSHIFT_AFTER_END_EVENT`: `unshift` after `'end'`.
    UnshiftAfterEndEvent,
    /// `ERR_STREAM_WRITE_AFTER_END`: `write` after `end`.
    WriteAfterEnd,
    /// `ERR_STREAM_ALREADY_FINISHED`: `end` after `'finish'`.
    AlreadyFinished,
    /// `ERR_STREAM_DESTROYED`: an operation on a destroyed stream.
    Destroyed,
    /// `ERR_STREAM_PREMATURE_CLOSE`: closed before ending or finishing.
    PrematureClose,
    /// `ERR_STREAM_CANNOT_PIPE`: piping from a stream that is not readable.
    CannotPipe,
    /// `ERR_MULTIPLE_CALLBACK`: a callback completed twice. The Rust callbacks are consumed by
    /// their call, so user code cannot cause it; the code exists for completeness.
    MultipleCallback,
    /// `ERR_STREAM_NULL_VALUES`: Node's `write(null)`; in Rust a typed "no value" misuse.
    NullValues,
    /// `ERR_METHOD_NOT_IMPLEMENTED`: a stream was used in a direction its implementor lacks.
    MethodNotImplemented,
    /// `ERR_INVALID_ARG_VALUE`: a bad option (a high-water mark out of range, ...).
    InvalidArgValue,
    /// `ERR_OUT_OF_RANGE`: a number out of range (`read(n)` above 1 GiB, ...).
    OutOfRange,
    /// `ERR_MISSING_ARGS`: too few arguments (a pipeline of fewer than two stages, `reduce` of
    /// an empty stream without an initial value).
    MissingArgs,
    /// `ERR_INVALID_RETURN_VALUE`: a stage returned something unusable.
    InvalidReturnValue,
    /// `ABORT_ERR`: Node's `AbortError`, from an [`AbortSignal`](sluicegate::AbortSignal) or
    /// from destroying a stream that had not finished.
    Abort,
    /// A callback handed to an implementor was dropped without being called. Node would wait
    /// forever; here the stream errors instead.
    CallbackDropped,
    /// User code panicked; the stream is destroyed with this error instead of unwinding.
    Panic,
}

impl ErrorCode {
    /// Node's spelling, as in `err.code`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::User => "ERR_USER",
            ErrorCode::PushAfterEof => "ERR_STREAM_PUSH_AFTER_EOF",
            ErrorCode::UnshiftAfterEndEvent => "ERR_STREAM_UNSHIFT_AFTER_END_EVENT",
            ErrorCode::WriteAfterEnd => "ERR_STREAM_WRITE_AFTER_END",
            ErrorCode::AlreadyFinished => "ERR_STREAM_ALREADY_FINISHED",
            ErrorCode::Destroyed => "ERR_STREAM_DESTROYED",
            ErrorCode::PrematureClose => "ERR_STREAM_PREMATURE_CLOSE",
            ErrorCode::CannotPipe => "ERR_STREAM_CANNOT_PIPE",
            ErrorCode::MultipleCallback => "ERR_MULTIPLE_CALLBACK",
            ErrorCode::NullValues => "ERR_STREAM_NULL_VALUES",
            ErrorCode::MethodNotImplemented => "ERR_METHOD_NOT_IMPLEMENTED",
            ErrorCode::InvalidArgValue => "ERR_INVALID_ARG_VALUE",
            ErrorCode::OutOfRange => "ERR_OUT_OF_RANGE",
            ErrorCode::MissingArgs => "ERR_MISSING_ARGS",
            ErrorCode::InvalidReturnValue => "ERR_INVALID_RETURN_VALUE",
            ErrorCode::Abort => "ABORT_ERR",
            ErrorCode::CallbackDropped => "ERR_CALLBACK_DROPPED",
            ErrorCode::Panic => "ERR_PANIC",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

struct Inner {
    code: ErrorCode,
    message: Cow<'static, str>,
    value: Option<Box<dyn Any + Send + Sync>>,
    cause: Option<Error>,
}

/// A stream error: a code, a message, and for user errors the value itself. Cheap to clone.
#[derive(Clone)]
pub struct Error(Arc<Inner>);

impl Error {
    /// An error with one of Node's codes.
    pub fn new(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        Error(Arc::new(Inner {
            code,
            message: message.into(),
            value: None,
            cause: None,
        }))
    }

    /// An error made by user code from any value (an `io::Error`, a string, your own type).
    pub fn user<V: Any + Send + Sync + fmt::Debug>(value: V) -> Self {
        let message = match (&value as &dyn Any).downcast_ref::<&'static str>() {
            Some(s) => Cow::Borrowed(*s),
            None => match (&value as &dyn Any).downcast_ref::<String>() {
                Some(s) => Cow::Owned(s.clone()),
                None => Cow::Owned(format!("{value:?}")),
            },
        };
        Error(Arc::new(Inner {
            code: ErrorCode::User,
            message,
            value: Some(Box::new(value)),
            cause: None,
        }))
    }

    /// A user error keeping `value`, with its own message.
    fn user_with_message<V: Any + Send + Sync>(value: V, message: Cow<'static, str>) -> Self {
        Error(Arc::new(Inner {
            code: ErrorCode::User,
            message,
            value: Some(Box::new(value)),
            cause: None,
        }))
    }

    /// Node's `AbortError`, with the abort reason as its cause.
    pub fn abort(cause: Option<Error>) -> Self {
        Error(Arc::new(Inner {
            code: ErrorCode::Abort,
            message: Cow::Borrowed("The operation was aborted"),
            value: None,
            cause,
        }))
    }

    pub(crate) fn premature_close() -> Self {
        Error::new(ErrorCode::PrematureClose, "Premature close")
    }

    pub(crate) fn destroyed(op: &str) -> Self {
        Error::new(
            ErrorCode::Destroyed,
            format!("Cannot call {op} after a stream was destroyed"),
        )
    }

    pub(crate) fn from_panic(payload: Box<dyn Any + Send>) -> Self {
        let message = if let Some(s) = payload.downcast_ref::<&'static str>() {
            Cow::Borrowed(*s)
        } else if let Some(s) = payload.downcast_ref::<String>() {
            Cow::Owned(s.clone())
        } else {
            Cow::Borrowed("panic in user code")
        };
        Error::new(ErrorCode::Panic, message)
    }

    /// Node's `err.code`.
    pub fn code(&self) -> ErrorCode {
        self.0.code
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// The cause (an abort's reason).
    pub fn cause(&self) -> Option<&Error> {
        self.0.cause.as_ref()
    }

    /// The user value, if this error was made by [`Error::user`] from a `V`.
    pub fn downcast_ref<V: Any>(&self) -> Option<&V> {
        self.0.value.as_ref()?.downcast_ref::<V>()
    }

    /// Whether `a` and `b` are the same error (Node's `===`).
    pub fn same(a: &Error, b: &Error) -> bool {
        Arc::ptr_eq(&a.0, &b.0)
    }

    /// Whether this is an abort error.
    pub fn is_abort(&self) -> bool {
        self.0.code == ErrorCode::Abort
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.0.code.as_str(), self.0.message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.code {
            ErrorCode::User => f.write_str(&self.0.message),
            code => write!(f, "{}: {}", code.as_str(), self.0.message),
        }
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        if e.get_ref().is_some_and(|inner| inner.is::<Error>()) {
            let inner = e.into_inner().expect("checked above");
            return *inner.downcast::<Error>().expect("checked above");
        }
        Error::user(e)
    }
}

impl From<Error> for std::io::Error {
    fn from(e: Error) -> Self {
        let kind = e
            .downcast_ref::<std::io::Error>()
            .map_or(std::io::ErrorKind::Other, std::io::Error::kind);
        std::io::Error::new(kind, e)
    }
}

impl From<StreamError> for Error {
    fn from(e: StreamError) -> Self {
        if let Some(own) = e.reason::<Error>() {
            return own.clone();
        }
        // A reason given as text is the message itself (the core's message is its `Debug`).
        let message = if let Some(s) = e.reason::<&'static str>() {
            Cow::Borrowed(*s)
        } else if let Some(s) = e.reason::<String>() {
            Cow::Owned(s.clone())
        } else {
            Cow::Owned(e.message().to_string())
        };
        match e.kind() {
            ErrorKind::Abort => Error::abort(Some(Error::user_with_message(e, message))),
            ErrorKind::Panic => Error::new(ErrorCode::Panic, message),
            _ => Error::user_with_message(e, message),
        }
    }
}

impl From<Error> for StreamError {
    fn from(e: Error) -> Self {
        if let Some(inner) = e.downcast_ref::<StreamError>() {
            return inner.clone();
        }
        StreamError::user(e)
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Runs user code, turning a panic into an [`ErrorCode::Panic`] error.
#[inline(always)]
pub(crate) fn catch<R>(f: impl FnOnce() -> R) -> Result<R> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(Error::from_panic)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_identity() {
        let e = Error::new(ErrorCode::WriteAfterEnd, "write after end");
        assert_eq!(e.code().as_str(), "ERR_STREAM_WRITE_AFTER_END");
        assert!(Error::same(&e, &e.clone()));
        let u = Error::user("boom");
        assert_eq!(u.message(), "boom");
        assert_eq!(u.downcast_ref::<&str>(), Some(&"boom"));
        let io = Error::from(std::io::Error::new(std::io::ErrorKind::BrokenPipe, "gone"));
        let back = std::io::Error::from(io.clone());
        assert_eq!(back.kind(), std::io::ErrorKind::BrokenPipe);
        assert!(Error::same(&io, &Error::from(back)));
        let s = StreamError::from(u.clone());
        assert!(Error::same(&Error::from(s), &u));
    }
}
