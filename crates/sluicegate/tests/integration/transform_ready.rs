//! `TransformStreamDefaultController::ready`: a transformer that turns one chunk into many waits
//! for the readable side between pieces, so the readable queue never grows past its high-water
//! mark plus one piece.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use sluicegate::transform::{TransformStream, TransformerFn};
use sluicegate::{Completion, CountQueuingStrategy, ErrorKind, StreamError};

/// A transform that turns `n` into `0..n`, awaiting `ready()` before each piece and counting
/// how many pieces it has enqueued.
fn spread(enqueued: Arc<AtomicUsize>) -> TransformStream<u32, u32> {
    TransformStream::with_strategies(
        TransformerFn::new(move |n: u32, c| {
            let c = c.clone();
            let enqueued = enqueued.clone();
            Completion::future(async move {
                for i in 0..n {
                    c.ready().await?;
                    c.enqueue(i)?;
                    enqueued.fetch_add(1, Ordering::SeqCst);
                }
                Ok(())
            })
        }),
        CountQueuingStrategy::new(1.0),
        CountQueuingStrategy::new(2.0),
    )
    .unwrap()
}

#[test]
fn pieces_are_made_only_as_the_reader_asks() {
    futures::executor::block_on(async {
        let enqueued = Arc::new(AtomicUsize::new(0));
        let t = spread(enqueued.clone());
        let writer = t.writable().get_writer().unwrap();
        let reader = t.readable().get_reader().unwrap();
        let write = writer.write(1000);
        let mut seen = 0;
        while seen < 1000 {
            let v = reader.read().await.unwrap().unwrap();
            assert_eq!(v, seen);
            seen += 1;
            // The queue holds at most the high-water mark (2) plus the piece that filled it.
            let ahead = enqueued.load(Ordering::SeqCst) - seen as usize;
            assert!(ahead <= 3, "{ahead} pieces queued ahead of the reader");
        }
        write.await.unwrap();
        writer.close().await.unwrap();
        assert_eq!(reader.read().await.unwrap(), None);
    });
}

#[test]
fn a_cancel_while_waiting_ends_the_transform_with_the_reason() {
    futures::executor::block_on(async {
        let enqueued = Arc::new(AtomicUsize::new(0));
        let t = spread(enqueued.clone());
        let writer = t.writable().get_writer().unwrap();
        let reader = t.readable().get_reader().unwrap();
        let write = writer.write(u32::MAX);
        assert_eq!(reader.read().await.unwrap(), Some(0));
        reader.cancel(StreamError::user("enough")).await.unwrap();
        // The transform's next enqueue fails (the readable side is closed), which rejects the
        // write; the writable side keeps the cancel's reason.
        assert!(write.await.is_err());
        assert_eq!(writer.closed().await.unwrap_err().kind(), ErrorKind::User);
        assert!(enqueued.load(Ordering::SeqCst) <= 4);
    });
}

#[test]
fn ready_is_settled_without_backpressure() {
    futures::executor::block_on(async {
        let t = TransformStream::<u8, u8>::with_strategies(
            TransformerFn::new(|n: u8, c| {
                // With room in the readable queue, ready() has already settled.
                assert!(c.ready().peek().is_some());
                c.enqueue(n)
            }),
            CountQueuingStrategy::new(1.0),
            CountQueuingStrategy::new(4.0),
        )
        .unwrap();
        let writer = t.writable().get_writer().unwrap();
        writer.write(7).await.unwrap();
        let reader = t.readable().get_reader().unwrap();
        assert_eq!(reader.read().await.unwrap(), Some(7));
    });
}
