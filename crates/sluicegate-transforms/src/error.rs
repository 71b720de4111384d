//! [`TransformError`]: what a transform reports when its input is bad.

use std::fmt;

use sluicegate::StreamError;

/// Why a transform failed. It reaches the stream as the reason of a [`StreamError`] of kind
/// [`ErrorKind::User`](sluicegate::ErrorKind::User); get it back with [`TransformError::of`].
///
/// ```
/// use sluicegate_transforms::TransformError;
/// use sluicegate::StreamError;
///
/// let e: StreamError = TransformError::Truncated { format: "gzip" }.into();
/// assert_eq!(TransformError::of(&e), Some(&TransformError::Truncated { format: "gzip" }));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransformError {
    /// The compressed input is not valid `format` data.
    Corrupt {
        /// The format being decoded (`"gzip"`, `"deflate"`, `"deflate-raw"`, `"zstd"`, `"br"`).
        format: &'static str,
        /// What the codec said.
        detail: String,
    },
    /// The input ended in the middle of a compressed stream.
    Truncated {
        /// The format being decoded.
        format: &'static str,
    },
    /// Bytes follow the end of the compressed stream.
    TrailingData {
        /// The format being decoded.
        format: &'static str,
    },
    /// An encoder failed (an invalid parameter, or the codec ran out of memory).
    Encoder {
        /// The format being encoded.
        format: &'static str,
        /// What the codec said.
        detail: String,
    },
    /// With `fatal` set, the input is not valid in `encoding`.
    Malformed {
        /// The encoding's WHATWG name (`"UTF-8"`, `"Shift_JIS"`, ...).
        encoding: &'static str,
    },
    /// A line is longer than the splitter allows.
    LineTooLong {
        /// The maximum, in bytes.
        max: usize,
        /// The 1-based number of the offending line.
        line: u64,
    },
    /// A line is not valid UTF-8.
    InvalidUtf8 {
        /// The 1-based number of the offending line.
        line: u64,
    },
    /// A line of newline-delimited JSON does not parse into the expected type.
    Json {
        /// The 1-based number of the offending line.
        line: u64,
        /// What serde_json said.
        detail: String,
    },
    /// A value could not be serialised to JSON.
    Serialize {
        /// What serde_json said.
        detail: String,
    },
    /// A codec consumed no input and produced no output although it had room for both: a bug in
    /// the codec, reported instead of looping forever.
    Stalled {
        /// The codec's name.
        codec: &'static str,
    },
}

impl TransformError {
    /// The transform error a stream error carries, if it carries one.
    pub fn of(e: &StreamError) -> Option<&TransformError> {
        e.reason::<TransformError>()
    }
}

impl fmt::Display for TransformError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransformError::Corrupt { format, detail } => write!(f, "corrupt {format} data: {detail}"),
            TransformError::Truncated { format } => write!(f, "truncated {format} data"),
            TransformError::TrailingData { format } => {
                write!(f, "unexpected data after the end of the {format} stream")
            }
            TransformError::Encoder { format, detail } => write!(f, "{format} encoder failed: {detail}"),
            TransformError::Malformed { encoding } => write!(f, "the input is not valid {encoding}"),
            TransformError::LineTooLong { max, line } => {
                write!(f, "line {line} is longer than the maximum of {max} bytes")
            }
            TransformError::InvalidUtf8 { line } => write!(f, "line {line} is not valid UTF-8"),
            TransformError::Json { line, detail } => write!(f, "line {line}: invalid JSON: {detail}"),
            TransformError::Serialize { detail } => write!(f, "cannot serialise to JSON: {detail}"),
            TransformError::Stalled { codec } => write!(f, "the {codec} codec made no progress"),
        }
    }
}

impl std::error::Error for TransformError {}

impl From<TransformError> for StreamError {
    fn from(e: TransformError) -> Self {
        StreamError::user(e)
    }
}
