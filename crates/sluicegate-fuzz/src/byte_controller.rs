//! Fuzz target (a): a readable byte stream driven by a random program.
//!
//! The fuzzer's bytes become a [`Program`] (through [`arbitrary`]): a stream configuration
//! (`autoAllocateChunkSize`, high-water mark, what `pull` does) and a list of [`Op`]s that play
//! both sides of one byte stream: the source (`enqueue`, `respond`, `respondWithNewView`, writes
//! into the BYOB request, `close`, `error`) and the consumer (default and BYOB readers with every
//! view type, offsets, lengths and `min`, releases in the middle of a request, cancels, dropped
//! read futures). Invalid calls are part of the program: each must come back as a typed error.
//!
//! Besides "no panic, no hang", the run checks what a consumer can see:
//! - every byte the source produces is a position in one known pattern, so the bytes the reads
//!   hand out must be that pattern, in order, with nothing repeated or invented;
//! - a BYOB read that is not `done` returns at least `min` elements, in a view of the type, byte
//!   offset and buffer length that was passed in;
//! - a pending read future, once polled after its stream errored, closed or was cancelled or
//!   released, settles (no read is left behind).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use arbitrary::{Arbitrary, Unstructured};
use bytes::Bytes;
use sluicegate::readable::{
    ArrayBuffer, ByobView, ByteSourceFn, ReadFuture, ReadIntoFuture, ReadIntoResult,
    ReadableByteStreamController, ReadableStream, ReadableStreamBYOBReader, ReadableStreamDefaultReader,
    ViewType,
};
use sluicegate::{Completion, StreamError};

/// The most operations one input runs (longer inputs are cut): keeps every execution short.
const MAX_OPS: usize = 256;

/// The stream's configuration.
#[derive(Arbitrary, Debug)]
pub struct Config {
    /// `autoAllocateChunkSize` (0 must be refused with a `TypeError`).
    pub auto_allocate: Option<u8>,
    /// The high-water mark in bytes, when given.
    pub high_water_mark: Option<u8>,
    /// What the source's `pull` does on its own.
    pub pull: PullMode,
}

/// What the source's `pull` does when the stream calls it.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum PullMode {
    /// Nothing: the program's operations answer.
    Idle,
    /// Enqueues a chunk of this many bytes.
    Enqueue(u8),
    /// Fills the BYOB request (if any) with up to this many bytes and responds.
    Respond(u8),
    /// Closes the stream.
    Close,
    /// Fails (the stream errors).
    Fail,
}

/// One step of a program.
#[derive(Arbitrary, Debug)]
pub enum Op {
    /// `controller.enqueue` of `len` pattern bytes (0 is a `TypeError`).
    Enqueue(u8),
    /// `controller.close()`.
    Close,
    /// `controller.error(e)`.
    Error,
    /// Writes pattern bytes into the BYOB request's view (up to `fill`, as far as it fits) and
    /// calls `respond(n)` with the raw `n`, valid or not.
    Respond {
        /// How many bytes to write.
        fill: u8,
        /// The `bytesWritten` to respond with.
        n: u16,
    },
    /// Takes the request's view out, fills `fill` bytes, and answers with
    /// `respondWithNewView` on a view built from `shape`.
    RespondWithNewView {
        /// How many bytes to fill.
        fill: u8,
        /// Which view to answer with.
        shape: NewView,
    },
    /// `byobRequest.write(at, data)` of pattern bytes (may not fit).
    WriteRequest {
        /// Offset in the view.
        at: u8,
        /// Length of the data.
        len: u8,
    },
    /// `getReader()`.
    GetReader,
    /// `getReader({ mode: "byob" })`.
    GetByobReader,
    /// `defaultReader.read()`.
    Read,
    /// `byobReader.read(view, { min })`.
    ByobRead {
        /// The view's type (index into the 13 types).
        view_type: u8,
        /// The buffer's length in bytes.
        buffer: u8,
        /// The view's byte offset.
        offset: u8,
        /// The view's length in elements.
        len: u8,
        /// `min`, in elements.
        min: u8,
        /// Whether the buffer is 8-byte aligned.
        aligned: bool,
    },
    /// `reader.releaseLock()` (rejects pending reads).
    ReleaseLock,
    /// Drops the reader handle.
    DropReader,
    /// `reader.cancel(reason)`.
    CancelReader,
    /// `stream.cancel(reason)` (a `TypeError` when locked).
    CancelStream,
    /// Polls every pending future once.
    Poll,
    /// Drops one pending read future (its bytes are lost to the consumer).
    DropFuture(u8),
}

/// Which view `respondWithNewView` gets.
#[derive(Arbitrary, Debug)]
pub enum NewView {
    /// The taken view cut to the bytes filled (the valid answer).
    Filled,
    /// The taken view whole.
    Whole,
    /// The taken view starting one byte later (a `RangeError`).
    Shifted,
    /// A view over a fresh buffer of this length, filled with the pattern (a `RangeError` unless
    /// the request's view starts at 0 and its buffer has this length).
    Fresh(u8),
}

/// A fuzzer input: a configuration and the operations.
#[derive(Arbitrary, Debug)]
pub struct Program {
    /// The stream's configuration.
    pub config: Config,
    /// The steps.
    pub ops: Vec<Op>,
}

const VIEW_TYPES: [ViewType; 13] = [
    ViewType::Int8,
    ViewType::Uint8,
    ViewType::Uint8Clamped,
    ViewType::Int16,
    ViewType::Uint16,
    ViewType::Float16,
    ViewType::Int32,
    ViewType::Uint32,
    ViewType::Float32,
    ViewType::Float64,
    ViewType::BigInt64,
    ViewType::BigUint64,
    ViewType::DataView,
];

/// The source's side: the next pattern position. Positions are reserved before a call into the
/// controller (which may run `pull`, and so produce more, before it returns) and given back if
/// the call fails (a failing call changes nothing, so `pull` did not run).
struct Source {
    produced: AtomicU64,
    /// The request's view after an answer was refused (its buffer is out of the stream).
    held: Mutex<Option<ByobView>>,
}

/// The pattern byte at `position`: 251 is prime, so a repeat or a skip shows within one chunk.
fn pattern(position: u64) -> u8 {
    (position % 251) as u8
}

fn pattern_bytes(from: u64, len: usize) -> Vec<u8> {
    (0..len as u64).map(|i| pattern(from + i)).collect()
}

impl Source {
    fn reserve(&self, len: usize) -> u64 {
        self.produced.fetch_add(len as u64, Ordering::SeqCst)
    }

    fn give_back(&self, len: usize) {
        self.produced.fetch_sub(len as u64, Ordering::SeqCst);
    }

    fn enqueue(&self, c: &ReadableByteStreamController, len: usize) {
        let from = self.reserve(len);
        if c.enqueue(Bytes::from(pattern_bytes(from, len))).is_err() {
            self.give_back(len);
        }
    }

    /// Fills up to `fill` bytes of the BYOB request and responds with `n`.
    fn respond(&self, c: &ReadableByteStreamController, fill: usize, n: usize) {
        let Some(request) = c.byob_request() else {
            return;
        };
        let room = request.view().map_or(0, |v| v.byte_length);
        if n > room {
            assert!(
                request.respond(n).is_err(),
                "respond({n}) beyond a view of {room}"
            );
            return;
        }
        // Bytes past those written are not the pattern: only answers within them are tried.
        let written = fill.min(room);
        if n > written {
            return;
        }
        let from = self.produced.load(Ordering::SeqCst);
        if request.write(0, &pattern_bytes(from, n)).is_err() {
            return;
        }
        self.reserve(n);
        if request.respond(n).is_err() {
            self.give_back(n);
        }
    }

    /// Takes the request's view out (or the one kept from a refused answer), fills `fill` bytes
    /// and answers with the view `shape` says.
    fn respond_with_new_view(&self, c: &ReadableByteStreamController, fill: usize, shape: &NewView) {
        let Some(request) = c.byob_request() else {
            return;
        };
        let held = self.held.lock().unwrap().take();
        let Some(mut view) = held.or_else(|| request.take_view().ok()) else {
            return;
        };
        let (offset, full) = (view.byte_offset(), view.byte_length());
        // `Whole` answers with every byte of the view, so all of them are filled.
        let written = match shape {
            NewView::Whole => full,
            _ => fill.min(full),
        };
        let from = self.produced.load(Ordering::SeqCst);
        view.as_mut_slice()[..written].copy_from_slice(&pattern_bytes(from, written));
        let (answer, kept) = match shape {
            NewView::Filled => (view.subarray(0, written).expect("within the view"), None),
            NewView::Whole => (view, None),
            NewView::Shifted => {
                let len = view.len();
                (view.subarray(len.min(1), len).expect("within the view"), None)
            }
            // The standard checks the new view's offset and its buffer's length, not which
            // buffer it is: a fresh buffer of the pattern is a valid answer when those match.
            NewView::Fresh(len) => (
                ByobView::new(ArrayBuffer::from(pattern_bytes(from, *len as usize))),
                Some(view),
            ),
        };
        let length = answer.byte_length();
        let shifted = matches!(shape, NewView::Shifted);
        self.reserve(if shifted { 0 } else { length });
        match request.try_respond_with_new_view(answer) {
            Ok(()) => assert!(!shifted || length == 0, "a view at another offset was accepted"),
            Err((_, back)) => {
                self.give_back(if shifted { 0 } else { length });
                // The refused answer hands the buffer back: keep the request's view whole for
                // the next answer (the Rust API's equivalent of script keeping its view).
                let view = kept.unwrap_or_else(|| {
                    let (buffer, ..) = back.into_parts();
                    ByobView::with_type(buffer, ViewType::Uint8, offset, full).expect("the request's view")
                });
                *self.held.lock().unwrap() = Some(view);
            }
        }
    }

    /// Answers the BYOB requests of a closed stream with 0 bytes, as a source must (the
    /// standard's respond-in-closed-state): pending BYOB reads then settle with `done`. At most
    /// `reads` + 1 answers: a request made for a default reader's auto-allocated read stays
    /// after its answer (the standard leaves it queued), so "until none is left" never ends.
    fn drain_closed(&self, c: &ReadableByteStreamController, reads: usize) {
        for _ in 0..=reads {
            let Some(request) = c.byob_request() else {
                return;
            };
            let held = self.held.lock().unwrap().take();
            let answered = held.is_some_and(|view| {
                request
                    .respond_with_new_view(view.subarray(0, 0).expect("an empty view"))
                    .is_ok()
            }) || request.respond(0).is_ok();
            if !answered {
                return;
            }
        }
    }
}

/// The consumer's reader, if any.
enum Reader {
    None,
    Default(ReadableStreamDefaultReader<Bytes>),
    Byob(ReadableStreamBYOBReader),
}

/// A read still pending.
enum Pending {
    Default(ReadFuture<Bytes>),
    Byob {
        future: ReadIntoFuture,
        view_type: ViewType,
        offset: usize,
        buffer: usize,
        min: usize,
    },
}

/// The consumer's view of the pattern: the next position it expects, when it knows.
///
/// Once a pending read future is dropped, the bytes its read request receives later are lost to
/// the consumer, at a point it cannot see; from then on only each chunk's own bytes are checked
/// (`lossy`).
struct Consumer {
    expected: Option<u8>,
    delivered: u64,
    lossy: bool,
}

impl Consumer {
    fn check(&mut self, bytes: &[u8]) {
        self.delivered += bytes.len() as u64;
        if self.lossy {
            self.expected = None;
        }
        for &b in bytes {
            if let Some(e) = self.expected {
                assert_eq!(b, e, "bytes arrive in order, once each");
            }
            self.expected = Some(((b as u64 + 1) % 251) as u8);
        }
    }
}

fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    let mut cx = Context::from_waker(Waker::noop());
    Pin::new(future).poll(&mut cx)
}

fn check_byob(result: &ReadIntoResult, view_type: ViewType, offset: usize, buffer: usize, min: usize) {
    let Some(view) = &result.view else { return };
    assert_eq!(view.view_type(), view_type, "the view keeps its type");
    assert_eq!(view.byte_offset(), offset, "the view keeps its offset");
    assert_eq!(view.buffer().len(), buffer, "the view keeps its buffer");
    if !result.done {
        assert!(view.len() >= min, "a read that is not done fills at least min");
    }
}

/// Runs one fuzzer input. Panics (the fuzzer's crash) on a broken invariant.
pub fn run(data: &[u8]) -> Option<Outcome> {
    program(data).map(|program| execute(&program))
}

/// The program `data` stands for (`None` if too short for a configuration).
pub fn program(data: &[u8]) -> Option<Program> {
    let mut u = Unstructured::new(data);
    let config = Config::arbitrary(&mut u).ok()?;
    let mut ops = Vec::new();
    while ops.len() < MAX_OPS {
        match Op::arbitrary(&mut u) {
            Ok(op) => ops.push(op),
            Err(_) => break,
        }
        if u.is_empty() {
            break;
        }
    }
    Some(Program { config, ops })
}

/// What a program did: bytes the source produced and bytes the reads handed out.
#[derive(Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Bytes the source enqueued or responded with, successfully.
    pub produced: u64,
    /// Bytes the reads handed out.
    pub delivered: u64,
}

/// Runs a program.
pub fn execute(program: &Program) -> Outcome {
    let source = Arc::new(Source {
        produced: AtomicU64::new(0),
        held: Mutex::new(None),
    });
    let slot = Arc::new(Mutex::new(None));
    let (s, p) = (slot.clone(), source.clone());
    let pull = program.config.pull;
    let mut pulls_left = 64u32;
    let mut fns = ByteSourceFn::new()
        .start(move |c| {
            *s.lock().unwrap() = Some(c.clone());
            Completion::ok()
        })
        .pull(move |c| {
            if pulls_left == 0 {
                return Completion::ok();
            }
            pulls_left -= 1;
            match pull {
                PullMode::Idle => Completion::ok(),
                PullMode::Enqueue(n) => {
                    p.enqueue(c, n as usize);
                    Completion::ok()
                }
                PullMode::Respond(n) => {
                    p.respond(c, n as usize, n as usize);
                    Completion::ok()
                }
                PullMode::Close => {
                    let _ = c.close();
                    Completion::ok()
                }
                PullMode::Fail => Completion::err(StreamError::type_error("pull failed")),
            }
        });
    if let Some(size) = program.config.auto_allocate {
        fns = fns.auto_allocate_chunk_size(size as usize);
    }
    let stream = match program.config.high_water_mark {
        Some(hwm) => ReadableStream::with_byte_strategy(fns, hwm as f64),
        None => ReadableStream::new_bytes(fns),
    };
    let stream = match stream {
        Ok(stream) => stream,
        Err(_) => {
            assert_eq!(
                program.config.auto_allocate,
                Some(0),
                "only a 0 auto-allocation size is refused"
            );
            return Outcome {
                produced: 0,
                delivered: 0,
            };
        }
    };
    let controller = slot.lock().unwrap().clone().expect("start ran");
    let mut reader = Reader::None;
    let mut pending: Vec<Pending> = Vec::new();
    let mut consumer = Consumer {
        expected: Some(0),
        delivered: 0,
        lossy: false,
    };

    let poll_all = |pending: &mut Vec<Pending>, consumer: &mut Consumer| {
        // Reads settle in the order they were made, so polling in that order sees the bytes in
        // order; stop at the first still pending.
        while let Some(first) = pending.first_mut() {
            match first {
                Pending::Default(future) => match poll_once(future) {
                    Poll::Ready(Ok(Some(bytes))) => consumer.check(&bytes),
                    Poll::Ready(_) => {}
                    Poll::Pending => return,
                },
                Pending::Byob {
                    future,
                    view_type,
                    offset,
                    buffer,
                    min,
                } => match poll_once(future) {
                    Poll::Ready(Ok(result)) => {
                        check_byob(&result, *view_type, *offset, *buffer, *min);
                        if let Some(view) = &result.view {
                            consumer.check(view.as_slice());
                        }
                    }
                    Poll::Ready(Err(_)) => {}
                    Poll::Pending => return,
                },
            }
            pending.remove(0);
        }
    };

    for op in &program.ops {
        match op {
            Op::Enqueue(len) => source.enqueue(&controller, *len as usize),
            Op::Close => {
                let _ = controller.close();
            }
            Op::Error => controller.error(StreamError::type_error("fuzz error")),
            Op::Respond { fill, n } => source.respond(&controller, *fill as usize, *n as usize),
            Op::RespondWithNewView { fill, shape } => {
                source.respond_with_new_view(&controller, *fill as usize, shape)
            }
            Op::WriteRequest { at, len } => {
                if let Some(request) = controller.byob_request() {
                    let produced = source.produced.load(Ordering::SeqCst);
                    let _ = request.write(*at as usize, &pattern_bytes(produced, *len as usize));
                }
            }
            Op::GetReader => {
                if let Ok(r) = stream.get_reader() {
                    assert!(
                        matches!(reader, Reader::None),
                        "a locked stream handed out a reader"
                    );
                    reader = Reader::Default(r);
                }
            }
            Op::GetByobReader => {
                if let Ok(r) = stream.get_byob_reader() {
                    assert!(
                        matches!(reader, Reader::None),
                        "a locked stream handed out a reader"
                    );
                    reader = Reader::Byob(r);
                }
            }
            Op::Read => {
                if let Reader::Default(r) = &reader {
                    pending.push(Pending::Default(r.read()));
                }
            }
            Op::ByobRead {
                view_type,
                buffer,
                offset,
                len,
                min,
                aligned,
            } => {
                if let Reader::Byob(r) = &reader {
                    let view_type = VIEW_TYPES[*view_type as usize % VIEW_TYPES.len()];
                    let buffer_len = *buffer as usize;
                    let buf = if *aligned {
                        ArrayBuffer::aligned(buffer_len)
                    } else {
                        ArrayBuffer::new(buffer_len)
                    };
                    let Ok(view) = ByobView::with_type(buf, view_type, *offset as usize, *len as usize)
                    else {
                        continue;
                    };
                    let min = *min as usize;
                    let future = r.read_min(view, min);
                    pending.push(Pending::Byob {
                        future,
                        view_type,
                        offset: *offset as usize,
                        buffer: buffer_len,
                        min,
                    });
                }
            }
            Op::ReleaseLock => {
                match &reader {
                    Reader::None => {}
                    Reader::Default(r) => r.release_lock(),
                    Reader::Byob(r) => r.release_lock(),
                }
                reader = Reader::None;
                // Every pending read was rejected: each must now settle.
                poll_all(&mut pending, &mut consumer);
                assert!(pending.is_empty(), "a read outlived its reader's release");
            }
            Op::DropReader => reader = Reader::None,
            Op::CancelReader => {
                drop(match &reader {
                    Reader::None => continue,
                    Reader::Default(r) => r.cancel(StreamError::type_error("cancel")),
                    Reader::Byob(r) => r.cancel(StreamError::type_error("cancel")),
                });
            }
            Op::CancelStream => drop(stream.cancel(StreamError::type_error("cancel"))),
            Op::Poll => poll_all(&mut pending, &mut consumer),
            Op::DropFuture(i) => {
                if !pending.is_empty() {
                    let i = *i as usize % pending.len();
                    pending.remove(i);
                    consumer.lossy = true;
                }
            }
        }
    }
    // The end: error the stream, then every read must settle.
    controller.error(StreamError::type_error("end of program"));
    source.drain_closed(&controller, pending.len());
    poll_all(&mut pending, &mut consumer);
    assert!(pending.is_empty(), "a read outlived its stream's error");
    let produced = source.produced.load(Ordering::SeqCst);
    assert!(consumer.delivered <= produced, "more bytes read than produced");
    Outcome {
        produced,
        delivered: consumer.delivered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config {
            auto_allocate: None,
            high_water_mark: None,
            pull: PullMode::Idle,
        }
    }

    #[test]
    fn a_byob_read_answered_with_respond_delivers_the_bytes() {
        let ops = vec![
            Op::GetByobReader,
            Op::ByobRead {
                view_type: 4, // Uint16
                buffer: 16,
                offset: 2,
                len: 4,
                min: 2,
                aligned: true,
            },
            Op::Respond { fill: 3, n: 3 }, // 1.5 elements: not enough for min
            Op::Poll,
            Op::Respond { fill: 5, n: 5 },
            Op::Poll,
        ];
        let outcome = execute(&Program {
            config: config(),
            ops,
        });
        assert_eq!(
            outcome,
            Outcome {
                produced: 8,
                delivered: 8
            }
        );
    }

    #[test]
    fn auto_allocation_and_respond_with_new_view_reach_a_default_reader() {
        let ops = vec![
            Op::GetReader,
            Op::Read,
            Op::RespondWithNewView {
                fill: 3,
                shape: NewView::Filled,
            },
            Op::Poll,
            Op::Read,
            Op::Enqueue(4),
            Op::Poll,
        ];
        let config = Config {
            auto_allocate: Some(8),
            ..config()
        };
        let outcome = execute(&Program { config, ops });
        assert_eq!(
            outcome,
            Outcome {
                produced: 7,
                delivered: 7
            }
        );
    }

    #[test]
    #[should_panic(expected = "in order")]
    fn the_oracle_catches_a_repeated_byte() {
        let mut consumer = Consumer {
            expected: Some(0),
            delivered: 0,
            lossy: false,
        };
        consumer.check(&[0, 1, 2]);
        consumer.check(&[2]);
    }
}
