//! The behaviour of WPT `streams/readable-streams/from.any.js` (`ReadableStream.from`), ported to
//! the native constructors: `from_iter` over any `IntoIterator`, `from_stream` and
//! `from_try_stream` over a `futures::Stream`. A Rust iterator has no `return()`: cancelling the
//! stream drops it, so the tests on `return()` check the drop.

use crate::common;

use std::collections::{BTreeSet, VecDeque};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::stream::{self, StreamExt};
use sluicegate::readable::ReadableStream;
use sluicegate::{ErrorKind, ReadableStreamDefaultReader, StreamError};

use common::{assert_rejects_with, flush, poll_once, Calls, Controller, Slot};

/// Reads "a", "b", then the end, then checks `closed`.
async fn expect_a_b(rs: ReadableStream<&'static str>) {
    let reader = rs.get_reader().unwrap();
    assert_eq!(reader.read().await.unwrap(), Some("a"), "first read");
    assert_eq!(reader.read().await.unwrap(), Some("b"), "second read");
    assert_eq!(reader.read().await.unwrap(), None, "third read is done");
    reader.closed().await.unwrap();
}

#[test]
fn accepts_a_vec_of_values() {
    common::run(expect_a_b(ReadableStream::from_iter(vec!["a", "b"])));
}

#[test]
fn accepts_an_array_iterator() {
    let iterator: std::array::IntoIter<&str, 2> = ["a", "b"].into_iter();
    common::run(expect_a_b(ReadableStream::from_iter(iterator)));
}

#[test]
fn accepts_the_characters_of_a_string() {
    common::run(async {
        let rs = ReadableStream::from_iter("ab".chars().collect::<Vec<_>>());
        let reader = rs.get_reader().unwrap();
        assert_eq!(reader.read().await.unwrap(), Some('a'));
        assert_eq!(reader.read().await.unwrap(), Some('b'));
        assert_eq!(reader.read().await.unwrap(), None);
        reader.closed().await.unwrap();
    });
}

#[test]
fn accepts_a_set() {
    common::run(expect_a_b(ReadableStream::from_iter(BTreeSet::from(["a", "b"]))));
}

#[test]
fn accepts_a_set_iterator() {
    let iterator: std::collections::btree_set::IntoIter<&str> = BTreeSet::from(["a", "b"]).into_iter();
    common::run(expect_a_b(ReadableStream::from_iter(iterator)));
}

#[test]
fn accepts_a_generator_like_iterator() {
    let mut chunks = VecDeque::from(["a", "b"]);
    common::run(expect_a_b(ReadableStream::from_iter(std::iter::from_fn(
        move || chunks.pop_front(),
    ))));
}

#[test]
fn accepts_an_async_generator_like_stream() {
    let s = stream::unfold(0, |i| async move {
        common::sleep(1).await;
        (i < 2).then(|| (["a", "b"][i], i + 1))
    });
    common::run(expect_a_b(ReadableStream::from_stream(s)));
}

#[test]
fn accepts_a_stream_of_ready_values() {
    common::run(expect_a_b(ReadableStream::from_stream(stream::iter(["a", "b"]))));
}

#[test]
fn accepts_a_sequence_of_futures() {
    // "an array of promises" / "a sync iterable of promises": each item is awaited in turn.
    let futures = vec![futures::future::ready("a"), futures::future::ready("b")];
    common::run(expect_a_b(ReadableStream::from_stream(
        stream::iter(futures).then(|f| f),
    )));
}

#[test]
fn accepts_a_readable_stream_async_iterator() {
    common::run(async {
        let inner = ReadableStream::new(sluicegate::readable::SourceFn::new().start(
            |c: &Controller<&str>| {
                c.enqueue("a").unwrap();
                c.enqueue("b").unwrap();
                c.close().unwrap();
            },
        ))
        .unwrap();
        let rs = ReadableStream::from_try_stream(inner.values().unwrap());
        assert!(inner.locked());
        expect_a_b(rs).await;
        assert!(
            !inner.locked(),
            "the iterator released the inner stream at its end"
        );
    });
}

#[test]
fn accepts_an_empty_iterable() {
    common::run(async {
        let rs = ReadableStream::from_stream(stream::empty::<u32>());
        let reader = rs.get_reader().unwrap();
        assert_eq!(reader.read().await.unwrap(), None);
        reader.closed().await.unwrap();
        let rs = ReadableStream::from_iter(Vec::<u32>::new());
        let reader = rs.get_reader().unwrap();
        assert_eq!(reader.read().await.unwrap(), None);
        reader.closed().await.unwrap();
    });
}

#[test]
fn stream_errors_when_next_fails() {
    common::run(async {
        let the_error = StreamError::user("a unique string");
        let rs = ReadableStream::<u32>::from_try_stream(stream::iter([Err(the_error.clone())]));
        let reader = rs.get_reader().unwrap();
        let (read, closed) = (reader.read(), reader.closed());
        assert_rejects_with(read.await, &the_error);
        assert_rejects_with(closed.await, &the_error);
    });
}

#[test]
fn stream_errors_after_the_values_before_the_failure() {
    common::run(async {
        let the_error = StreamError::user("late failure");
        let rs = ReadableStream::from_try_stream(stream::iter([
            Ok("a"),
            Ok("b"),
            Err(the_error.clone()),
            Ok("c"),
        ]));
        let reader = rs.get_reader().unwrap();
        assert_eq!(reader.read().await.unwrap(), Some("a"));
        assert_eq!(reader.read().await.unwrap(), Some("b"));
        assert_rejects_with(reader.read().await, &the_error);
        assert_rejects_with(reader.closed().await, &the_error);
    });
}

#[test]
fn stream_stalls_when_next_never_settles() {
    common::run(async {
        let rs = ReadableStream::from_stream(stream::pending::<u32>());
        let reader = rs.get_reader().unwrap();
        let (mut read, mut closed) = (reader.read(), reader.closed());
        flush(rs.host());
        common::sleep(100).await;
        assert!(
            poll_once(&mut read).is_none(),
            "read() neither fulfils nor rejects"
        );
        assert!(
            poll_once(&mut closed).is_none(),
            "closed neither fulfils nor rejects"
        );
    });
}

#[test]
fn next_is_called_only_after_the_first_read() {
    common::run(async {
        let nexts = Calls::new();
        let n = nexts.clone();
        let rs = ReadableStream::from_iter(std::iter::from_fn(move || {
            n.hit();
            Some("a")
        }));
        let reader = rs.get_reader().unwrap();
        flush(rs.host());
        nexts.assert_exactly(0);
        assert_eq!(reader.read().await.unwrap(), Some("a"));
        nexts.assert_exactly(1);
    });
}

#[test]
fn poll_next_is_called_only_after_the_first_read() {
    common::run(async {
        let nexts = Calls::new();
        let n = nexts.clone();
        let rs = ReadableStream::from_stream(stream::repeat_with(move || {
            n.hit();
            "a"
        }));
        let reader = rs.get_reader().unwrap();
        flush(rs.host());
        nexts.assert_exactly(0);
        assert_eq!(reader.read().await.unwrap(), Some("a"));
        nexts.assert_exactly(1);
    });
}

/// Counts how often it is dropped: a Rust iterator's `return()`.
struct DropCounter<I> {
    inner: I,
    drops: Calls,
}

impl<I> Drop for DropCounter<I> {
    fn drop(&mut self) {
        self.drops.hit();
    }
}

impl<I: Iterator> Iterator for DropCounter<I> {
    type Item = I::Item;
    fn next(&mut self) -> Option<I::Item> {
        self.inner.next()
    }
}

impl<S: futures::Stream + Unpin> futures::Stream for DropCounter<S> {
    type Item = S::Item;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        self.inner.poll_next_unpin(cx)
    }
}

#[test]
fn cancelling_drops_the_iterator() {
    common::run(async {
        let drops = Calls::new();
        let rs = ReadableStream::from_iter(DropCounter {
            inner: ["a", "b", "c"].into_iter(),
            drops: drops.clone(),
        });
        let reader = rs.get_reader().unwrap();
        assert_eq!(reader.read().await.unwrap(), Some("a"));
        drops.assert_exactly(0);
        let (cancel, closed) = (reader.cancel(StreamError::user("enough")), reader.closed());
        drops.assert_exactly(1);
        cancel.await.unwrap();
        closed.await.unwrap();
        drops.assert_exactly(1);
    });
}

#[test]
fn cancelling_drops_the_async_sequence() {
    common::run(async {
        let drops = Calls::new();
        let rs = ReadableStream::from_stream(DropCounter {
            inner: stream::iter(["a", "b", "c"]),
            drops: drops.clone(),
        });
        let reader = rs.get_reader().unwrap();
        assert_eq!(reader.read().await.unwrap(), Some("a"));
        drops.assert_exactly(0);
        let (cancel, closed) = (reader.cancel(StreamError::user("enough")), reader.closed());
        drops.assert_exactly(1);
        cancel.await.unwrap();
        closed.await.unwrap();
        drops.assert_exactly(1);
    });
}

#[test]
fn the_iterator_is_dropped_once_when_it_completes_normally() {
    common::run(async {
        let drops = Calls::new();
        let nexts = Calls::new();
        let n = nexts.clone();
        let rs = ReadableStream::from_iter(DropCounter {
            inner: std::iter::from_fn(move || {
                n.hit();
                None::<u32>
            }),
            drops: drops.clone(),
        });
        let reader = rs.get_reader().unwrap();
        assert_eq!(reader.read().await.unwrap(), None);
        nexts.assert_exactly(1);
        reader.closed().await.unwrap();
        drops.assert_exactly(1);
        // A cancel after the end reaches nothing.
        reader.cancel(StreamError::undefined()).await.unwrap();
        drops.assert_exactly(1);
    });
}

#[test]
fn reader_read_inside_next() {
    common::run(async {
        let nexts = Calls::new();
        let reader_slot: Slot<ReadableStreamDefaultReader<&str>> = Slot::new();
        let (n, rslot) = (nexts.clone(), reader_slot.clone());
        let mut values = VecDeque::from(["a", "b", "c"]);
        let rs = ReadableStream::from_iter(std::iter::from_fn(move || {
            n.hit();
            if n.count() == 1 {
                // A read whose result nobody looks at: it takes "b".
                drop(rslot.get().read());
            }
            values.pop_front()
        }));
        let reader = rs.get_reader().unwrap();
        reader_slot.set(reader.clone());
        assert_eq!(reader.read().await.unwrap(), Some("a"));
        flush(rs.host());
        nexts.assert_exactly(2);
        assert_eq!(reader.read().await.unwrap(), Some("c"));
        nexts.assert_exactly(3);
        reader_slot.take();
    });
}

/// A `futures::Stream` that runs `on_next` on every poll, then yields its next value.
struct Hooked<F> {
    on_next: F,
    drops: Calls,
}

impl<F> Drop for Hooked<F> {
    fn drop(&mut self) {
        self.drops.hit();
    }
}

impl<F: FnMut() -> Option<&'static str> + Unpin> futures::Stream for Hooked<F> {
    type Item = &'static str;
    fn poll_next(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<&'static str>> {
        Poll::Ready((self.on_next)())
    }
}

#[test]
fn reader_read_inside_poll_next() {
    common::run(async {
        let nexts = Calls::new();
        let reader_slot: Slot<ReadableStreamDefaultReader<&str>> = Slot::new();
        let (n, rslot) = (nexts.clone(), reader_slot.clone());
        let mut values = VecDeque::from(["a", "b", "c"]);
        let rs = ReadableStream::from_stream(Hooked {
            on_next: move || {
                n.hit();
                if n.count() == 1 {
                    drop(rslot.get().read());
                }
                values.pop_front()
            },
            drops: Calls::new(),
        });
        let reader = rs.get_reader().unwrap();
        reader_slot.set(reader.clone());
        assert_eq!(reader.read().await.unwrap(), Some("a"));
        flush(rs.host());
        nexts.assert_exactly(2);
        assert_eq!(reader.read().await.unwrap(), Some("c"));
        nexts.assert_exactly(3);
        reader_slot.take();
    });
}

#[test]
fn reader_cancel_inside_next() {
    common::run(async {
        let nexts = Calls::new();
        let drops = Calls::new();
        let reader_slot: Slot<ReadableStreamDefaultReader<&str>> = Slot::new();
        let (n, rslot) = (nexts.clone(), reader_slot.clone());
        let rs = ReadableStream::from_iter(DropCounter {
            inner: std::iter::from_fn(move || {
                n.hit();
                drop(rslot.get().cancel(StreamError::undefined()));
                Some("something else")
            }),
            drops: drops.clone(),
        });
        let reader = rs.get_reader().unwrap();
        reader_slot.set(reader.clone());
        assert_eq!(reader.read().await.unwrap(), None, "the first read is done");
        nexts.assert_exactly(1);
        // The cancel reached the iterator once `next()` returned: it was dropped exactly once.
        drops.assert_exactly(1);
        reader.closed().await.unwrap();
        reader_slot.take();
    });
}

#[test]
fn reader_cancel_inside_poll_next_does_not_deadlock() {
    common::run(async {
        let nexts = Calls::new();
        let drops = Calls::new();
        let reader_slot: Slot<ReadableStreamDefaultReader<&str>> = Slot::new();
        let (n, rslot) = (nexts.clone(), reader_slot.clone());
        let rs = ReadableStream::from_stream(Hooked {
            on_next: move || {
                n.hit();
                drop(rslot.get().cancel(StreamError::undefined()));
                Some("something else")
            },
            drops: drops.clone(),
        });
        let reader = rs.get_reader().unwrap();
        reader_slot.set(reader.clone());
        assert_eq!(reader.read().await.unwrap(), None, "the first read is done");
        nexts.assert_exactly(1);
        drops.assert_exactly(1);
        reader.closed().await.unwrap();
        reader_slot.take();
    });
}

#[test]
fn panicking_iterator_errors_the_stream() {
    common::run(async {
        let rs = ReadableStream::<u32>::from_iter(std::iter::from_fn(|| -> Option<u32> {
            panic!("next exploded")
        }));
        let reader = rs.get_reader().unwrap();
        let e = reader.read().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Panic);
        assert_eq!(e.message(), "next exploded");
        assert_rejects_with(reader.closed().await, &e);
    });
}

#[test]
fn panicking_async_sequence_errors_the_stream() {
    common::run(async {
        let rs = ReadableStream::from_stream(Hooked {
            on_next: || -> Option<&'static str> { panic!("poll_next exploded") },
            drops: Calls::new(),
        });
        let reader = rs.get_reader().unwrap();
        let e = reader.read().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Panic);
        assert_eq!(e.message(), "poll_next exploded");
    });
}

#[test]
fn from_iter_takes_one_item_per_read() {
    common::run(async {
        let nexts = Calls::new();
        let n = nexts.clone();
        let rs = ReadableStream::from_iter((1..=3).inspect(move |_| n.hit()));
        let reader = rs.get_reader().unwrap();
        for expected in 1..=3 {
            assert_eq!(reader.read().await.unwrap(), Some(expected));
            flush(rs.host());
            nexts.assert_exactly(expected as usize);
        }
        assert_eq!(reader.read().await.unwrap(), None);
    });
}
