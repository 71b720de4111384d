//! A byte stream's chunks within their buffers: the standard's queue entries are (buffer, byte
//! offset, byte length), and a read that is not a BYOB read hands out a view of the whole
//! transferred buffer. Native reads get the bytes as a slice of that buffer, without a copy; a
//! read request that wants the view (a binding's) gets the buffer and the offset through
//! `ReadRequest::chunk_in_buffer_steps`.

use crate::bytes_common;
use crate::common;

use bytes::Bytes;
use sluicegate::readable::{ByteSourceFn, ReadRequest, ReadableStream};
use sluicegate::{ErrorKind, StreamError};

use bytes_common::{b, controlled, u8v, Ctl};
use common::{assert_rejects_kind, Slot};

/// What a read request was given.
#[derive(Debug, PartialEq)]
enum Got {
    /// `chunk_steps(chunk)`.
    Whole(Vec<u8>),
    /// `chunk_in_buffer_steps(chunk, buffer, byte_offset)`: the chunk, the buffer's length and
    /// the offset, and whether the chunk is the buffer's bytes at that offset.
    InBuffer {
        chunk: Vec<u8>,
        buffer_len: usize,
        byte_offset: usize,
        chunk_is_in_buffer: bool,
    },
    Closed,
    Errored(ErrorKind),
}

struct Recorder(Slot<Got>);

impl ReadRequest<Bytes> for Recorder {
    fn chunk_steps(self: Box<Self>, chunk: Bytes) {
        self.0.set(Got::Whole(chunk.to_vec()));
    }
    fn chunk_in_buffer_steps(self: Box<Self>, chunk: Bytes, buffer: Bytes, byte_offset: usize) {
        let chunk_is_in_buffer = buffer[byte_offset..byte_offset + chunk.len()] == chunk[..]
            && chunk.as_ptr() == buffer[byte_offset..].as_ptr();
        self.0.set(Got::InBuffer {
            chunk: chunk.to_vec(),
            buffer_len: buffer.len(),
            byte_offset,
            chunk_is_in_buffer,
        });
    }
    fn close_steps(self: Box<Self>) {
        self.0.set(Got::Closed);
    }
    fn error_steps(self: Box<Self>, e: StreamError) {
        self.0.set(Got::Errored(e.kind()));
    }
}

/// Reads once from `stream`'s default reader with a recording request, and releases the reader.
fn read_recorded(stream: &ReadableStream<Bytes>) -> Got {
    let reader = stream.get_reader().unwrap();
    let slot = Slot::new();
    reader.read_with(Box::new(Recorder(slot.clone()))).unwrap();
    reader.release_lock();
    slot.take()
        .expect("the chunk was queued, so the read is answered at once")
}

fn in_buffer(chunk: &[u8], buffer_len: usize, byte_offset: usize) -> Got {
    Got::InBuffer {
        chunk: chunk.to_vec(),
        buffer_len,
        byte_offset,
        chunk_is_in_buffer: true,
    }
}

#[test]
fn a_chunk_enqueued_within_its_buffer_is_read_with_its_buffer_and_offset() {
    let (rs, c) = controlled(Some(100.0));
    c.enqueue_in_buffer(b(b"headerbody"), 6, 4).unwrap();
    assert_eq!(c.desired_size(), Some(96.0), "only the chunk's bytes are queued");
    assert_eq!(read_recorded(&rs), in_buffer(b"body", 10, 6));
}

#[test]
fn a_native_read_gets_only_the_bytes_and_no_copy() {
    common::run(async {
        let (rs, c) = controlled(Some(100.0));
        let buffer = b(b"headerbody");
        let start = buffer.as_ptr();
        c.enqueue_in_buffer(buffer, 6, 4).unwrap();
        let reader = rs.get_reader().unwrap();
        let chunk = reader.read().await.unwrap().unwrap();
        assert_eq!(&chunk[..], b"body");
        assert_eq!(
            chunk.as_ptr(),
            start.wrapping_add(6),
            "a slice of the enqueued buffer"
        );
    });
}

#[test]
fn a_whole_chunk_is_read_with_chunk_steps() {
    let (rs, c) = controlled(Some(100.0));
    c.enqueue(b(b"abc")).unwrap();
    assert_eq!(read_recorded(&rs), Got::Whole(b"abc".to_vec()));
    c.enqueue_in_buffer(b(b"xyz"), 0, 3).unwrap();
    assert_eq!(
        read_recorded(&rs),
        Got::Whole(b"xyz".to_vec()),
        "all of its buffer"
    );
}

#[test]
fn a_waiting_read_gets_the_enqueued_chunk_with_its_buffer() {
    let (rs, c) = controlled(None);
    let reader = rs.get_reader().unwrap();
    let slot = Slot::new();
    reader.read_with(Box::new(Recorder(slot.clone()))).unwrap();
    assert!(!slot.is_set());
    c.enqueue_in_buffer(b(&[9, 8, 7, 6, 5]), 1, 3).unwrap();
    assert_eq!(slot.take(), Some(in_buffer(&[8, 7, 6], 5, 1)));
}

#[test]
fn the_rest_of_a_chunk_after_a_partial_byob_read_keeps_its_buffer() {
    common::run(async {
        let (rs, c) = controlled(Some(100.0));
        c.enqueue(b(&[1, 2, 3, 4, 5, 6, 7, 8])).unwrap();
        let byob = rs.get_byob_reader().unwrap();
        let r = byob.read(u8v(3)).await.unwrap();
        assert_eq!(r.view.unwrap().as_slice(), &[1, 2, 3]);
        byob.release_lock();
        assert_eq!(read_recorded(&rs), in_buffer(&[4, 5, 6, 7, 8], 8, 3));
    });
}

#[test]
fn a_partly_filled_auto_allocated_buffer_is_read_whole() {
    let slot = Slot::new();
    let s = slot.clone();
    let rs = ReadableStream::new_bytes(
        ByteSourceFn::new()
            .start(move |c: &Ctl| s.set(c.clone()))
            .auto_allocate_chunk_size(16),
    )
    .unwrap();
    let c: Ctl = slot.get();
    let reader = rs.get_reader().unwrap();
    let got = Slot::new();
    reader.read_with(Box::new(Recorder(got.clone()))).unwrap();
    let request = c.byob_request().expect("the auto-allocated read's request");
    let mut view = request.take_view().unwrap();
    view.as_mut_slice()[..3].copy_from_slice(b"abc");
    request
        .respond_with_new_view(view.subarray(0, 3).unwrap())
        .unwrap();
    assert_eq!(got.take(), Some(in_buffer(b"abc", 16, 0)));
}

#[test]
fn an_enqueue_outside_its_buffer_is_an_error_and_queues_nothing() {
    let (_rs, c) = controlled(Some(10.0));
    assert_rejects_kind(c.enqueue_in_buffer(b(b"abc"), 2, 2), ErrorKind::Range);
    assert_rejects_kind(c.enqueue_in_buffer(b(b"abc"), usize::MAX, 2), ErrorKind::Range);
    assert_rejects_kind(c.enqueue_in_buffer(b(b"abc"), 1, 0), ErrorKind::Type);
    assert_eq!(c.desired_size(), Some(10.0));
}

#[test]
fn tee_gives_branch1_the_view_and_branch2_a_copy_of_its_bytes() {
    let (rs, c) = controlled(Some(100.0));
    let (branch1, branch2) = rs.tee().unwrap();
    let r1 = branch1.get_reader().unwrap();
    let r2 = branch2.get_reader().unwrap();
    let (got1, got2) = (Slot::new(), Slot::new());
    r1.read_with(Box::new(Recorder(got1.clone()))).unwrap();
    r2.read_with(Box::new(Recorder(got2.clone()))).unwrap();
    c.enqueue_in_buffer(b(b"..tee.."), 2, 3).unwrap();
    common::flush(branch1.host());
    // CloneAsUint8Array makes a buffer of exactly the view's bytes; branch 1 keeps the view.
    assert_eq!(got1.take(), Some(in_buffer(b"tee", 7, 2)));
    assert_eq!(got2.take(), Some(Got::Whole(b"tee".to_vec())));
}

#[test]
fn tee_after_one_branch_is_cancelled_gives_the_other_the_view() {
    let (rs, c) = controlled(Some(100.0));
    let (branch1, branch2) = rs.tee().unwrap();
    drop(branch1.cancel(StreamError::undefined()));
    let r2 = branch2.get_reader().unwrap();
    let got2 = Slot::new();
    r2.read_with(Box::new(Recorder(got2.clone()))).unwrap();
    c.enqueue_in_buffer(b(b"..tee.."), 2, 3).unwrap();
    common::flush(branch2.host());
    assert_eq!(got2.take(), Some(in_buffer(b"tee", 7, 2)));
}

#[test]
fn a_pipe_with_buffers_hands_each_chunk_with_its_buffer_and_a_plain_pipe_only_the_bytes() {
    use sluicegate::writable::{SinkFn, WritableStream};
    use sluicegate::PipeOptions;

    common::run(async {
        let (rs, c) = controlled(Some(100.0));
        c.enqueue_in_buffer(b(b"..ab.."), 2, 2).unwrap();
        c.enqueue(b(b"cd")).unwrap();
        c.close().unwrap();
        let seen = Slot::new();
        let s = seen.clone();
        let mut got = Vec::new();
        let dest = WritableStream::new(SinkFn::new().write(
            move |v: (Vec<u8>, Option<(usize, usize)>), _| {
                got.push(v);
                s.set(got.clone());
            },
        ))
        .unwrap();
        rs.pipe_to_with_buffers(&dest, PipeOptions::default(), |chunk, within| {
            (
                chunk.to_vec(),
                within.map(|(buffer, offset)| (buffer.len(), offset)),
            )
        })
        .await
        .unwrap();
        assert_eq!(
            seen.take(),
            Some(vec![(b"ab".to_vec(), Some((6, 2))), (b"cd".to_vec(), None)])
        );

        let (rs, c) = controlled(Some(100.0));
        c.enqueue_in_buffer(b(b"..ab.."), 2, 2).unwrap();
        c.close().unwrap();
        let plain = Slot::new();
        let p = plain.clone();
        let dest = WritableStream::new(SinkFn::new().write(move |chunk: Bytes, _| p.set(chunk))).unwrap();
        rs.pipe_to(&dest, PipeOptions::default()).await.unwrap();
        assert_eq!(plain.take().as_deref(), Some(&b"ab"[..]));
    });
}
