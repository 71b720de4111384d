//! Random interleavings of enqueue, respond and BYOB reads of every element size against the
//! simple model "the bytes read, in order, are the bytes produced, in order": each read's view
//! holds whole elements, at least its minimum, and nothing is lost or duplicated.

use crate::bytes_common;
use crate::common;

use bytes::Bytes;
use sluicegate::readable::{ArrayBuffer, ByobView, ReadIntoFuture, ViewType};

use bytes_common::{controlled, u8v};
use common::{flush, poll_once};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn byte_at(i: usize) -> u8 {
    (i.wrapping_mul(31).wrapping_add(7) % 251) as u8
}

struct Pending {
    read: ReadIntoFuture,
    min_bytes: usize,
    element_size: usize,
    offset: usize,
}

fn check(result: sluicegate::readable::ReadIntoResult, p: &Pending, out: &mut Vec<u8>) {
    assert!(!result.done);
    let v = result.view.expect("a view");
    assert_eq!(
        v.byte_offset(),
        p.offset,
        "the view starts where the caller's did"
    );
    assert_eq!(v.byte_length() % p.element_size, 0, "whole elements only");
    assert!(v.byte_length() >= p.min_bytes, "at least the minimum");
    out.extend_from_slice(v.as_slice());
}

fn run_seed(seed: u64) {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let (rs, c) = controlled(None);
    let reader = rs.get_byob_reader().unwrap();
    let mut produced = 0usize;
    let mut out = Vec::new();
    let mut pending: Vec<Pending> = Vec::new();
    let types = [
        ViewType::Uint8,
        ViewType::Uint16,
        ViewType::Uint32,
        ViewType::Float64,
        ViewType::DataView,
    ];
    for _ in 0..60 {
        match rng.below(3) {
            0 => {
                let n = 1 + rng.below(20) as usize;
                c.enqueue(Bytes::from(
                    (produced..produced + n).map(byte_at).collect::<Vec<_>>(),
                ))
                .unwrap();
                produced += n;
            }
            1 => {
                let t = types[rng.below(types.len() as u64) as usize];
                let es = t.element_size();
                let len = 1 + rng.below(6) as usize;
                let min = 1 + rng.below(len as u64) as usize;
                let offset = es * rng.below(3) as usize;
                let v =
                    ByobView::with_type(ArrayBuffer::new(offset + len * es + es), t, offset, len).unwrap();
                pending.push(Pending {
                    read: reader.read_min(v, min),
                    min_bytes: min * es,
                    element_size: es,
                    offset,
                });
            }
            _ => {
                if let Some(request) = c.byob_request() {
                    let room = request.view().unwrap().byte_length;
                    let n = 1 + rng.below(room as u64) as usize;
                    let data: Vec<u8> = (produced..produced + n).map(byte_at).collect();
                    request.write(0, &data).unwrap();
                    request.respond(n).unwrap();
                    produced += n;
                }
            }
        }
        flush(rs.host());
        // Reads settle in order: collect every settled one at the front.
        while let Some(p) = pending.first_mut() {
            match poll_once(&mut p.read) {
                Some(result) => {
                    let p = pending.remove(0);
                    check(result.unwrap(), &p, &mut out);
                }
                None => break,
            }
        }
    }
    // Feed the remaining reads.
    while !pending.is_empty() {
        c.enqueue(Bytes::from(
            (produced..produced + 8).map(byte_at).collect::<Vec<_>>(),
        ))
        .unwrap();
        produced += 8;
        flush(rs.host());
        while let Some(p) = pending.first_mut() {
            match poll_once(&mut p.read) {
                Some(result) => {
                    let p = pending.remove(0);
                    check(result.unwrap(), &p, &mut out);
                }
                None => break,
            }
        }
    }
    // Drain what is left in the queue.
    while c.desired_size().unwrap() < 0.0 {
        let mut read = reader.read(u8v(64));
        let v = poll_once(&mut read)
            .expect("queued bytes are read at once")
            .unwrap()
            .view
            .unwrap();
        out.extend_from_slice(v.as_slice());
    }
    assert_eq!(c.desired_size(), Some(0.0));
    let expected: Vec<u8> = (0..produced).map(byte_at).collect();
    assert_eq!(
        out.len(),
        expected.len(),
        "seed {seed}: every byte produced is read once"
    );
    assert!(out == expected, "seed {seed}: bytes arrive in order");
}

#[test]
fn random_interleavings_of_enqueue_respond_and_byob_reads_keep_every_byte_in_order() {
    for seed in 0..300 {
        run_seed(seed);
    }
}
