//! Found by the byte controller fuzz target (`crates/sluicegate-fuzz`): a default reader's
//! auto-allocated read whose request is then served from the queue leaves its pull-into
//! descriptor behind.
//!
//! The path: a BYOB read with `min` is partly filled and its reader released (the descriptor
//! stays at the head with reader type "none"); a default reader then reads with the queue empty,
//! so `autoAllocateChunkSize` adds a second descriptor for that read; the next `enqueue` moves
//! the first descriptor's bytes to the queue and serves the read from them. The second
//! descriptor no longer belongs to any read, yet the standard's enqueue asserts there is none,
//! and left in place it becomes a `byobRequest` whose answer would fulfil a read that does not
//! exist. Every byte must still reach the reader, once and in order.

use crate::common;

use bytes::Bytes;
use sluicegate::readable::{ArrayBuffer, ByobView, ByteSourceFn, ReadableStream};
use sluicegate::Completion;

use common::{poll_once, Slot};

#[test]
fn a_read_served_from_the_queue_takes_its_auto_allocated_request_along() {
    common::run(async {
        let slot = Slot::new();
        let s = slot.clone();
        let stream = ReadableStream::new_bytes(
            ByteSourceFn::new()
                .start(move |c| {
                    s.set(c.clone());
                    Completion::ok()
                })
                .auto_allocate_chunk_size(8),
        )
        .unwrap();
        let c: sluicegate::readable::ReadableByteStreamController = slot.get();

        // A BYOB read wanting 4 bytes gets 2: it stays pending, partly filled.
        let byob = stream.get_byob_reader().unwrap();
        let mut pending = byob.read_min(ByobView::new(ArrayBuffer::new(8)), 4);
        let request = c.byob_request().unwrap();
        request.write(0, &[1, 2]).unwrap();
        request.respond(2).unwrap();
        assert!(poll_once(&mut pending).is_none(), "2 of 4 bytes: still pending");
        byob.release_lock();
        assert!(pending.await.is_err(), "the release rejects the read");

        // A default read with the queue empty: auto-allocation makes a second request.
        let reader = stream.get_reader().unwrap();
        let first = reader.read();
        c.enqueue(Bytes::from_static(&[3])).unwrap();
        assert_eq!(first.await.unwrap().unwrap(), Bytes::from_static(&[1, 2]));

        // No read waits now, so there is nothing for the source to answer.
        assert!(c.byob_request().is_none(), "a request without a read behind it");
        assert_eq!(reader.read().await.unwrap().unwrap(), Bytes::from_static(&[3]));

        // And the stream goes on as usual: the next read gets a fresh request.
        let next = reader.read();
        let request = c.byob_request().expect("a new read, a new request");
        request.write(0, &[4, 5, 6]).unwrap();
        request.respond(3).unwrap();
        assert_eq!(next.await.unwrap().unwrap(), Bytes::from_static(&[4, 5, 6]));
    });
}

/// Found by the same target: answering the request a released BYOB reader left behind (reader
/// type "none") moves its bytes to the queue, where the standard leaves them while a default
/// reader's reads wait; a later read would then take them first, ahead of the waiting ones.
#[test]
fn waiting_default_reads_take_the_bytes_of_a_released_byob_request_first() {
    common::run(async {
        let slot = Slot::new();
        let s = slot.clone();
        let stream = ReadableStream::new_bytes(ByteSourceFn::new().start(move |c| {
            s.set(c.clone());
            Completion::ok()
        }))
        .unwrap();
        let c: sluicegate::readable::ReadableByteStreamController = slot.get();

        let byob = stream.get_byob_reader().unwrap();
        let mut pending = byob.read_min(ByobView::new(ArrayBuffer::new(8)), 4);
        let request = c.byob_request().unwrap();
        request.write(0, &[1, 2]).unwrap();
        request.respond(2).unwrap();
        assert!(poll_once(&mut pending).is_none(), "2 of 4 bytes: still pending");
        byob.release_lock();
        assert!(pending.await.is_err(), "the release rejects the read");

        // Two default reads wait; the source then finishes the old request with one more byte.
        let reader = stream.get_reader().unwrap();
        let mut first = reader.read();
        let mut second = reader.read();
        assert!(poll_once(&mut first).is_none());
        let request = c
            .byob_request()
            .expect("the released reader's request is still there");
        request.write(0, &[3]).unwrap();
        request.respond(1).unwrap();
        assert_eq!(
            first.await.unwrap().unwrap(),
            Bytes::from_static(&[1, 2, 3]),
            "the first waiting read gets the bytes"
        );
        assert!(poll_once(&mut second).is_none(), "nothing is left for the second");
        c.enqueue(Bytes::from_static(&[4])).unwrap();
        assert_eq!(second.await.unwrap().unwrap(), Bytes::from_static(&[4]));
    });
}
