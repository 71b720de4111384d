//! Byte streams across threads: handles are `Send + Sync`, a chunk `enqueue` accepts is never
//! lost to a `close` racing it, and a reader released by another thread fails reads cleanly.

use crate::bytes_common;
use crate::common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use sluicegate::ErrorKind;

use bytes_common::{controlled, u8v};

#[test]
fn every_accepted_enqueue_is_read_even_when_close_races_it() {
    for round in 0..50 {
        let (rs, c) = controlled(Some(1e9));
        let accepted = Arc::new(AtomicUsize::new(0));
        let producers: Vec<_> = (0..2)
            .map(|t| {
                let (c, accepted) = (c.clone(), accepted.clone());
                std::thread::spawn(move || {
                    for i in 0..200u32 {
                        let chunk = Bytes::from(vec![t as u8; 1 + (i % 7) as usize]);
                        let len = chunk.len();
                        match c.enqueue(chunk) {
                            Ok(()) => {
                                accepted.fetch_add(len, Ordering::SeqCst);
                            }
                            Err(e) => {
                                assert_eq!(e.kind(), ErrorKind::Type);
                                return;
                            }
                        }
                    }
                })
            })
            .collect();
        let closer = {
            let c = c.clone();
            std::thread::spawn(move || {
                std::thread::yield_now();
                let _ = c.close();
            })
        };
        for p in producers {
            p.join().unwrap();
        }
        closer.join().unwrap();
        let _ = c.close();
        let total: usize = futures::executor::block_on(common::read_all(&rs))
            .unwrap()
            .iter()
            .map(|b| b.len())
            .sum();
        assert_eq!(
            total,
            accepted.load(Ordering::SeqCst),
            "round {round}: accepted bytes are all read"
        );
    }
}

#[test]
fn a_release_from_another_thread_fails_pending_and_later_reads_without_panicking() {
    for _ in 0..50 {
        let (rs, c) = controlled(None);
        let reader = rs.get_byob_reader().unwrap();
        let r2 = reader.clone();
        let releaser = std::thread::spawn(move || r2.release_lock());
        let reads: Vec<_> = (0..20).map(|_| reader.read(u8v(4))).collect();
        releaser.join().unwrap();
        for read in reads {
            match futures::executor::block_on(read) {
                Ok(_) => panic!("nothing was enqueued"),
                Err(e) => assert_eq!(e.kind(), ErrorKind::Type),
            }
        }
        assert!(!rs.locked());
        // The stream still works for the next reader: a descriptor the released reader left at
        // the head (reader type "none") is dropped by the enqueue.
        let reader = rs.get_reader().unwrap();
        c.enqueue(Bytes::from_static(b"ok")).unwrap();
        let got = futures::executor::block_on(reader.read()).unwrap().unwrap();
        assert_eq!(&got[..], b"ok");
    }
}
