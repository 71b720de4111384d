//! Shared support for the byte-stream tests: controlled and recording byte streams, views.
#![allow(dead_code)]

use bytes::Bytes;
use sluicegate::host::{Driver, HostRef};
use sluicegate::readable::{
    ArrayBuffer, ByobView, ByteSourceFn, ReadableByteStreamController, ReadableStream, ViewType,
};
use sluicegate::Completion;

use crate::common::{describe, Log, Slot};

pub type Ctl = ReadableByteStreamController;

/// `Bytes` from a slice.
pub fn b(data: &[u8]) -> Bytes {
    Bytes::copy_from_slice(data)
}

/// A `Uint8Array` of `n` zero bytes.
pub fn u8v(n: usize) -> ByobView {
    ByobView::new(ArrayBuffer::new(n))
}

/// `new <type>(new ArrayBuffer(buffer_len), byte_offset, len)`.
pub fn view(buffer_len: usize, t: ViewType, byte_offset: usize, len: usize) -> ByobView {
    ByobView::with_type(ArrayBuffer::new(buffer_len), t, byte_offset, len).expect("a valid view")
}

/// A byte stream whose source keeps its controller and does nothing else.
pub fn controlled(hwm: Option<f64>) -> (ReadableStream<Bytes>, Ctl) {
    controlled_on(hwm, Driver::new())
}

/// Like [`controlled`] on a host.
pub fn controlled_on(hwm: Option<f64>, host: HostRef) -> (ReadableStream<Bytes>, Ctl) {
    let slot = Slot::new();
    let s = slot.clone();
    let rs = ReadableStream::with_byte_host(
        ByteSourceFn::new().start(move |c: &Ctl| s.set(c.clone())),
        hwm,
        host,
    )
    .expect("a valid byte stream");
    (rs, slot.get())
}

/// A byte stream whose source logs `pull` and `cancel <reason>`, runs `on_pull`, and keeps its
/// controller.
pub struct Recording {
    pub stream: ReadableStream<Bytes>,
    pub controller: Ctl,
    pub log: Log,
}

pub fn recording(
    hwm: Option<f64>,
    auto_allocate: Option<usize>,
    mut on_pull: impl FnMut(&Ctl, usize) + Send + 'static,
) -> Recording {
    let log = Log::new();
    let slot = Slot::new();
    let (s, l1, l2) = (slot.clone(), log.clone(), log.clone());
    let mut pulls = 0;
    let mut source = ByteSourceFn::new()
        .start(move |c: &Ctl| s.set(c.clone()))
        .pull(move |c: &Ctl| {
            l1.push("pull");
            on_pull(c, pulls);
            pulls += 1;
            Completion::ok()
        })
        .cancel(move |r| {
            l2.push(format!("cancel {}", describe(&r)));
            Completion::ok()
        });
    if let Some(n) = auto_allocate {
        source = source.auto_allocate_chunk_size(n);
    }
    let stream = ReadableStream::with_byte_host(source, hwm, Driver::new()).expect("a valid byte stream");
    Recording {
        stream,
        controller: slot.get(),
        log,
    }
}
