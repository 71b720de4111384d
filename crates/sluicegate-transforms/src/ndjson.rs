//! Newline-delimited JSON on serde_json: [`parse`] turns lines of JSON into values, [`serialize`]
//! values into lines. Blank lines are skipped; a line that does not parse errors the stream with
//! its number ([`TransformError::Json`]).
//!
//! ```
//! use bytes::Bytes;
//! use futures::StreamExt;
//! use serde::Deserialize;
//! use sluicegate::{PipeOptions, ReadableStream};
//! use sluicegate_transforms::ndjson;
//!
//! #[derive(Deserialize, Debug, PartialEq)]
//! struct Event { id: u32 }
//!
//! # futures::executor::block_on(async {
//! let input = ReadableStream::from_iter([Bytes::from("{\"id\":1}\n{\"i"), Bytes::from("d\":2}\n")]);
//! let events: Vec<Event> = input
//!     .pipe_through(&ndjson::parse(1 << 20), PipeOptions::default())
//!     .unwrap()
//!     .values()
//!     .unwrap()
//!     .map(Result::unwrap)
//!     .collect()
//!     .await;
//! assert_eq!(events, [Event { id: 1 }, Event { id: 2 }]);
//! # });
//! ```

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;
use sluicegate::transform::{TransformStreamDefaultController, Transformer, TransformerFn};
use sluicegate::{ByteLengthQueuingStrategy, Completion, CountQueuingStrategy, TransformStream};

use crate::codec::MAX_CHUNK;
use crate::error::TransformError;
use crate::lines::LineSplitter;

struct Parse<T> {
    splitter: LineSplitter,
    _t: std::marker::PhantomData<fn() -> T>,
}

fn parse_line<T: DeserializeOwned>(line: &[u8], n: u64) -> Result<Option<T>, TransformError> {
    if line.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(line)
        .map(Some)
        .map_err(|e| TransformError::Json {
            line: n,
            detail: e.to_string(),
        })
}

impl<T: DeserializeOwned + Send + 'static> Transformer<Bytes, T> for Parse<T> {
    fn transform(&mut self, chunk: Bytes, c: &TransformStreamDefaultController<T>) -> Completion {
        self.splitter
            .split(chunk, |line, n| match parse_line(&line, n)? {
                Some(v) => c.enqueue(v),
                None => Ok(()),
            })
            .into()
    }

    fn flush(&mut self, c: &TransformStreamDefaultController<T>) -> Completion {
        let last = self.splitter.finish().and_then(|l| match l {
            Some((line, n)) => parse_line(&line, n),
            None => Ok(None),
        });
        match last {
            Ok(Some(v)) => c.enqueue(v).into(),
            Ok(None) => Completion::ok(),
            Err(e) => Completion::err(e.into()),
        }
    }
}

/// Lines of JSON (at most `max_line` bytes each) into `T`s. The readable side counts values
/// (high-water mark 16).
pub fn parse<T: DeserializeOwned + Send + 'static>(max_line: usize) -> TransformStream<Bytes, T> {
    TransformStream::with_strategies(
        Parse {
            splitter: LineSplitter::new(max_line),
            _t: std::marker::PhantomData,
        },
        ByteLengthQueuingStrategy::new(MAX_CHUNK as f64),
        CountQueuingStrategy::new(16.0),
    )
    .expect("valid strategies")
}

/// `T`s into lines of JSON, one chunk per value (with its `\n`). The writable side counts values
/// (high-water mark 16), the readable side bytes.
pub fn serialize<T: Serialize + Send + 'static>() -> TransformStream<T, Bytes> {
    TransformStream::with_strategies(
        TransformerFn::new(|v: T, c: &TransformStreamDefaultController<Bytes>| {
            let mut line = serde_json::to_vec(&v).map_err(|e| TransformError::Serialize {
                detail: e.to_string(),
            })?;
            line.push(b'\n');
            c.enqueue(Bytes::from(line))
        }),
        CountQueuingStrategy::new(16.0),
        ByteLengthQueuingStrategy::new(MAX_CHUNK as f64),
    )
    .expect("valid strategies")
}
