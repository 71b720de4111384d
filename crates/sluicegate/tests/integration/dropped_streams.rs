//! An operation that has started runs to its end even when every handle to its stream is gone:
//! the reactions that finish it hold the stream strongly, so a write future awaited after its
//! writer and stream were dropped still reaches the sink and settles.
//!
//! The price (recorded in DESIGN.md): a stream dropped while such a reaction still waits in a host
//! that nobody drives again is never freed, since the host belongs to the stream (a cycle, like the
//! unreachable promise graph JavaScript leaves to its collector). A hang of a future someone still
//! awaits would be worse than that leak.

use std::sync::Arc;

use sluicegate::transform::TransformStream;
use sluicegate::writable::{SinkFn, WritableStream};

use crate::common::poll_once;

#[test]
fn a_transform_still_held_keeps_its_pending_write_and_delivers_it() {
    futures::executor::block_on(async {
        let transform = TransformStream::map(|x: u32| x + 1);
        let writer = transform.writable().get_writer().unwrap();
        let reader = transform.readable().get_reader().unwrap();
        let mut write = writer.write(1);
        assert!(poll_once(&mut write).is_none());
        drop(writer);
        assert_eq!(reader.read().await.unwrap(), Some(2));
        write.await.unwrap();
    });
}

#[test]
fn a_write_awaited_after_every_handle_is_dropped_still_completes() {
    futures::executor::block_on(async {
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let s = seen.clone();
        let stream = WritableStream::new(SinkFn::new().write(move |x: u32, _| {
            s.lock().unwrap().push(x);
        }))
        .unwrap();
        let writer = stream.get_writer().unwrap();
        let write = writer.write(5);
        drop(writer);
        drop(stream);
        write.await.unwrap();
        assert_eq!(*seen.lock().unwrap(), [5]);
    });
}
