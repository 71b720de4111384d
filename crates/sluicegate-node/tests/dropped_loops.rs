//! A loop dropped with work queued frees its streams (issue 12: the queued ticks held the
//! streams, the streams held the loop), and work queued for a stream whose handles are gone
//! still runs while anything can run the loop.
mod common;
use common::*;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Counts its drops: moved into an implementor, it tells when the stream was freed.
struct Freed(Arc<AtomicUsize>);

impl Drop for Freed {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn tracker() -> (Freed, Arc<AtomicUsize>) {
    let n = Arc::new(AtomicUsize::new(0));
    (Freed(n.clone()), n)
}

/// A readable whose implementor owns `f`.
fn tracked_readable(f: Freed) -> Readable<u32> {
    Readable::from_fn(move |_, _| {
        let _ = &f;
    })
}

/// A writable whose implementor owns `f` and completes every write at once.
fn tracked_writable(f: Freed) -> Writable<u32> {
    Writable::from_fn(move |_: u32| {
        let _ = &f;
        Completion::ok()
    })
}

#[test]
fn a_loop_dropped_with_readable_ticks_queued_frees_the_stream() {
    let (f, freed) = tracker();
    let (lp, g) = setup();
    let r = tracked_readable(f);
    r.on(ev::Data, |_: &u32| {});
    r.push(1);
    r.push_end();
    assert!(!lp.is_idle(), "the stream's ticks are queued");
    drop((r, g, lp));
    assert_eq!(
        freed.load(Ordering::SeqCst),
        1,
        "the stream was freed with its loop"
    );
}

#[test]
fn a_loop_dropped_with_writable_ticks_queued_frees_the_stream() {
    let (f, freed) = tracker();
    let (lp, g) = setup();
    let w = tracked_writable(f);
    w.on(ev::Finish, |_| {});
    // A write completed synchronously queues its `afterWrite`; `end` queues the finish.
    assert!(w.write(1));
    w.end();
    assert!(!lp.is_idle(), "the stream's ticks are queued");
    drop((w, g, lp));
    assert_eq!(
        freed.load(Ordering::SeqCst),
        1,
        "the stream was freed with its loop"
    );
}

#[test]
fn a_stream_of_its_own_loop_dropped_with_ticks_queued_is_freed() {
    // No entered loop: the stream's handle is the only thing that reaches its loop.
    let (f, freed) = tracker();
    let r = tracked_readable(f);
    r.push(1);
    r.push_end();
    assert!(!r.stream_loop().is_idle());
    drop(r);
    assert_eq!(freed.load(Ordering::SeqCst), 1);
}

#[test]
fn work_queued_for_a_dropped_stream_runs_while_the_loop_lives() {
    let (f, freed) = tracker();
    let (lp, g) = setup();
    let log = Log::new();
    let r = tracked_readable(f);
    let l = log.clone();
    r.on(ev::Data, move |x: &u32| l.push(format!("data {x}")));
    r.on(ev::End, log.rec("end"));
    r.on(ev::Close, log.rec("close"));
    r.push(1);
    r.push_end();
    drop((r, g));
    assert_eq!(freed.load(Ordering::SeqCst), 0, "the loop still holds the stream");
    lp.run_until_idle();
    assert_eq!(log.get(), ["data 1", "end", "close"]);
    assert_eq!(freed.load(Ordering::SeqCst), 1, "freed once its work ran");
}

#[test]
fn a_finished_future_keeps_the_loop_of_a_dropped_stream() {
    let (f, freed) = tracker();
    let (lp, g) = setup();
    let log = Log::new();
    let r = tracked_readable(f);
    r.on(ev::End, log.rec("end"));
    r.push(1);
    r.push_end();
    r.resume();
    let done = finished(&r);
    drop((r, g, lp));
    assert_eq!(
        freed.load(Ordering::SeqCst),
        0,
        "the future still reaches the loop"
    );
    futures::executor::block_on(done).unwrap();
    assert_eq!(log.get(), ["end"]);
}

#[test]
fn a_write_future_keeps_the_loop_of_a_dropped_stream() {
    let (w, got) = collecting_writable::<u32>();
    let written = w.write_async(7);
    let ended = w.end_async();
    drop(w);
    futures::executor::block_on(written).unwrap();
    futures::executor::block_on(ended).unwrap();
    assert_eq!(got.get(), [7]);
}

#[test]
fn merged_loops_keep_their_work_while_a_handle_of_either_lives() {
    // Each stream starts with a loop of its own; the pipe merges them, and the handles counted
    // on the loser count on the survivor.
    let r = Readable::from_iter([1u32, 2, 3]);
    let (w, got) = collecting_writable::<u32>();
    r.pipe(&w);
    let done = finished(&w);
    drop((r, w));
    futures::executor::block_on(done).unwrap();
    assert_eq!(got.get(), [1, 2, 3]);
}
