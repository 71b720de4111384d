//! The cancel hooks of `from_iter_with_cancel`, `from_stream_with_cancel` and
//! `from_try_stream_with_cancel`: ReadableStreamFromIterable's cancel algorithm closes the
//! iterator with the reason and the cancel waits for that. The hook gets what is left of the
//! iterator or sequence and the reason, once; the cancel settles with the hook's future.

use crate::common;

use std::pin::Pin;
use std::sync::mpsc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::channel::oneshot;
use futures::stream::{self, Stream};
use sluicegate::readable::ReadableStream;
use sluicegate::{ErrorKind, ReadableStreamDefaultReader, StreamError};

use common::{assert_rejects_kind, assert_rejects_with, poll_once, reason_of, Calls, Slot};

#[test]
fn the_iterator_hook_gets_the_rest_and_the_reason_and_cancel_waits_for_it() {
    let (gate_tx, gate_rx) = oneshot::channel::<()>();
    let got = Slot::new();
    let g = got.clone();
    let rs = ReadableStream::from_iter_with_cancel(1..=5, move |rest, reason: StreamError| async move {
        g.set((rest.collect::<Vec<_>>(), reason_of(&reason)));
        gate_rx.await.map_err(|_| StreamError::type_error("gate dropped"))
    });
    let reader = rs.get_reader().unwrap();
    assert_eq!(poll_once(&mut reader.read()).unwrap().unwrap(), Some(1));
    let mut cancel = reader.cancel(StreamError::user("enough"));
    assert!(
        poll_once(&mut cancel).is_none(),
        "the cancel waits for the hook's future"
    );
    assert_eq!(got.take(), Some((vec![2, 3, 4, 5], Some("enough"))));
    gate_tx.send(()).unwrap();
    assert!(matches!(poll_once(&mut cancel), Some(Ok(()))));
}

#[test]
fn a_hook_that_fails_rejects_the_cancel_with_its_error() {
    common::run(async {
        let failure = StreamError::user("could not close");
        let f = failure.clone();
        let rs = ReadableStream::from_iter_with_cancel(vec!["a"], move |_, _| async move { Err(f) });
        assert_rejects_with(rs.cancel(StreamError::undefined()).await, &failure);
    });
}

#[test]
fn a_hook_that_panics_rejects_the_cancel() {
    common::run(async {
        let rs = ReadableStream::from_iter_with_cancel(vec!["a"], |_, _| async move {
            panic!("the hook panicked");
        });
        assert!(rs.cancel(StreamError::undefined()).await.is_err());
    });
}

#[test]
fn no_hook_runs_after_the_iterator_ended() {
    common::run(async {
        let calls = Calls::new();
        let c = calls.clone();
        let rs = ReadableStream::from_iter_with_cancel(vec![1], move |_, _| {
            c.hit();
            async { Ok(()) }
        });
        let reader = rs.get_reader().unwrap();
        assert_eq!(reader.read().await.unwrap(), Some(1));
        assert_eq!(reader.read().await.unwrap(), None);
        reader.cancel(StreamError::undefined()).await.unwrap();
        drop(reader);
        drop(rs);
        calls.assert_exactly(0);
    });
}

#[test]
fn the_sequence_hook_gets_the_sequence_while_a_pull_waits_on_it() {
    let got = Slot::new();
    let g = got.clone();
    let rs = ReadableStream::from_stream_with_cancel(stream::pending::<u8>(), move |seq, reason| {
        g.set((seq.size_hint(), reason_of(&reason)));
        async { Ok(()) }
    });
    let reader = rs.get_reader().unwrap();
    let mut read = reader.read();
    assert!(poll_once(&mut read).is_none(), "the sequence has nothing yet");
    let mut cancel = reader.cancel(StreamError::user("stop"));
    assert!(matches!(poll_once(&mut cancel), Some(Ok(()))));
    assert_eq!(got.take(), Some(((0, Some(0)), Some("stop"))));
    assert!(matches!(poll_once(&mut read), Some(Ok(None))), "the read ends");
}

#[test]
fn the_try_stream_hook_sees_the_reason_and_an_error_item_skips_it() {
    common::run(async {
        let calls = Calls::new();
        let c = calls.clone();
        let items = stream::iter(vec![Ok(1), Err(StreamError::user("bad item"))]);
        let rs = ReadableStream::from_try_stream_with_cancel(items, move |_, _| {
            c.hit();
            async { Ok(()) }
        });
        let reader = rs.get_reader().unwrap();
        assert_eq!(reader.read().await.unwrap(), Some(1));
        assert_rejects_kind(reader.read().await, ErrorKind::User);
        assert!(
            reader.cancel(StreamError::undefined()).await.is_err(),
            "the stream is errored"
        );
        calls.assert_exactly(0);
    });
}

/// A sequence whose first poll cancels its own stream (through its reader) from inside
/// `poll_next`.
struct CancelsItself {
    stream: Slot<ReadableStreamDefaultReader<u8>>,
    cancel: Slot<sluicegate::Promised<()>>,
}

impl Stream for CancelsItself {
    type Item = u8;
    fn poll_next(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<u8>> {
        if let Some(rs) = self.stream.take() {
            self.cancel.set(rs.cancel(StreamError::user("from inside")));
        }
        Poll::Pending
    }
}

#[test]
fn a_cancel_from_inside_poll_next_hands_the_sequence_to_the_hook_once_the_poll_returns() {
    let (stream_slot, cancel_slot) = (Slot::new(), Slot::new());
    let calls = Calls::new();
    let c = calls.clone();
    let rs = ReadableStream::from_stream_with_cancel(
        CancelsItself {
            stream: stream_slot.clone(),
            cancel: cancel_slot.clone(),
        },
        move |seq, reason| {
            assert!(seq.stream.take().is_none(), "the hook has the sequence itself");
            assert_eq!(reason_of(&reason), Some("from inside"));
            c.hit();
            async { Ok(()) }
        },
    );
    let reader = rs.get_reader().unwrap();
    stream_slot.set(reader.clone());
    let mut read = reader.read();
    assert!(
        matches!(poll_once(&mut read), Some(Ok(None))),
        "cancelled during the poll"
    );
    let mut cancel = cancel_slot.take().expect("poll_next cancelled the stream");
    assert!(matches!(poll_once(&mut cancel), Some(Ok(()))));
    calls.assert_exactly(1);
}

/// A sequence whose poll blocks its thread until told to go on, after saying it has started.
struct Blocking {
    started: mpsc::Sender<()>,
    go: mpsc::Receiver<()>,
}

impl Stream for Blocking {
    type Item = u8;
    fn poll_next(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<u8>> {
        let _ = self.started.send(());
        let _ = self.go.recv_timeout(Duration::from_secs(20));
        Poll::Ready(Some(7))
    }
}

#[test]
fn a_cancel_from_another_thread_during_a_poll_waits_for_the_poll_then_runs_the_hook() {
    let (started_tx, started_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel();
    let hooked = Slot::new();
    let h = hooked.clone();
    let rs = ReadableStream::from_stream_with_cancel(
        Blocking {
            started: started_tx,
            go: go_rx,
        },
        move |_, reason| {
            h.set(reason_of(&reason));
            async { Ok(()) }
        },
    );
    let reader = rs.get_reader().unwrap();
    let canceller = reader.clone();
    let reading = std::thread::spawn(move || futures::executor::block_on(reader.read()));
    started_rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the poll started");
    let (done_tx, done_rx) = mpsc::channel();
    let cancelling = std::thread::spawn(move || {
        let result = futures::executor::block_on(canceller.cancel(StreamError::user("elsewhere")));
        let _ = done_tx.send(result);
    });
    // The cancel cannot finish while the poll has the sequence out.
    assert!(done_rx.recv_timeout(Duration::from_millis(50)).is_err());
    assert!(!hooked.is_set(), "the hook has not run during the poll");
    go_tx.send(()).unwrap();
    let result = done_rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the cancel settles once the poll returns");
    assert!(result.is_ok());
    assert_eq!(hooked.take(), Some(Some("elsewhere")));
    assert!(
        matches!(reading.join().unwrap(), Ok(None)),
        "the read ends with the cancel"
    );
    cancelling.join().unwrap();
}
