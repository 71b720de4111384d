//! State getters and small rules, each from the Node test named.
mod common;
use common::*;

// ports test/parallel/test-stream-writable-end-multiple.js
#[test]
fn end_twice_calls_both_callbacks_and_after_finish_is_already_finished() {
    let (lp, _g) = setup();
    let (w, _) = collecting_writable::<u8>();
    let cbs = MustCall::new(2);
    w.end_with(cbs.once(|r: Result<()>| r.unwrap()));
    w.end_with(cbs.once(|r: Result<()>| r.unwrap()));
    lp.run_until_idle();
    let late = MustCall::new(1);
    w.end_with(late.once(|r: Result<()>| assert_eq!(r.unwrap_err().code(), ErrorCode::AlreadyFinished)));
    lp.run_until_idle();
}

// ports test/parallel/test-stream-writable-ended-state.js
#[test]
fn writable_ended_is_true_right_after_end() {
    let (lp, _g) = setup();
    let (w, _) = collecting_writable::<u8>();
    assert!(!w.writable_ended());
    w.end();
    assert!(w.writable_ended());
    assert!(!w.writable());
    lp.run_until_idle();
}

// ports test/parallel/test-stream-writable-finished-state.js
#[test]
fn writable_finished_only_after_finish() {
    let (lp, _g) = setup();
    let (w, _) = collecting_writable::<u8>();
    let w2 = w.clone();
    w.on(ev::Finish, move |_| assert!(w2.writable_finished()));
    w.end();
    assert!(!w.writable_finished());
    lp.run_until_idle();
    assert!(w.writable_finished());
}

// ports test/parallel/test-stream3-cork-uncork.js
#[test]
fn cork_counts_and_uncork_releases() {
    let (lp, _g) = setup();
    let (w, got) = collecting_writable::<u8>();
    w.cork();
    w.cork();
    assert_eq!(w.writable_corked(), 2);
    w.write(1);
    w.write(2);
    assert!(got.get().is_empty());
    w.uncork();
    assert!(got.get().is_empty(), "still corked once");
    w.uncork();
    lp.run_until_idle();
    assert_eq!(got.get(), [1, 2]);
}

// ports test/parallel/test-stream3-cork-end.js
#[test]
fn end_fully_uncorks() {
    let (lp, _g) = setup();
    let (w, got) = collecting_writable::<u8>();
    w.cork();
    w.cork();
    w.write(1);
    w.end();
    lp.run_until_idle();
    assert_eq!(got.get(), [1]);
    assert!(w.writable_finished());
}

// ports test/parallel/test-stream-writable-aborted.js
#[test]
fn writable_aborted_after_destroy_before_finish() {
    let (lp, _g) = setup();
    let (w, _) = collecting_writable::<u8>();
    assert!(!w.writable_aborted());
    w.destroy(None);
    assert!(w.writable_aborted());
    lp.run_until_idle();
}

// ports test/parallel/test-stream-readable-aborted.js
#[test]
fn readable_aborted_after_destroy_before_end() {
    let (lp, _g) = setup();
    let r = idle_readable::<u8>();
    assert!(!r.readable_aborted());
    r.destroy(None);
    assert!(r.readable_aborted());
    lp.run_until_idle();
    let r = Readable::from_iter([1u8]);
    r.resume();
    lp.run_until_idle();
    assert!(r.readable_ended());
    assert!(!r.readable_aborted());
}

// ports test/parallel/test-stream-readable-didRead.js
#[test]
fn readable_did_read_after_data() {
    let (lp, _g) = setup();
    let r = Readable::from_iter([1u8, 2]);
    assert!(!r.readable_did_read());
    r.resume();
    lp.run_until_idle();
    assert!(r.readable_did_read());
}

// ports test/parallel/test-stream-readable-hwm-0.js
#[test]
fn high_water_mark_zero_reads_only_on_demand() {
    let (lp, _g) = setup();
    let reads = MustCall::new(1);
    let c = reads.counter();
    let r = Readable::from_fn_with(
        move |_, _: &Readable<u8>| {
            c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        },
        ReadableOptions::objects().high_water_mark(0),
    );
    lp.run_until_idle();
    assert_eq!(reads.count(), 0, "nothing is read ahead with hwm 0");
    r.read_size(0);
    lp.run_until_idle();
    assert_eq!(r.readable_high_water_mark(), 0);
}

#[test]
fn push_returns_false_at_the_high_water_mark() {
    let (_lp, _g) = setup();
    let r = Readable::from_fn_with(
        |_, _: &Readable<u8>| {},
        ReadableOptions::objects().high_water_mark(2),
    );
    assert!(r.push(1));
    assert!(!r.push(2));
    assert_eq!(r.readable_length(), 2);
}

#[test]
fn byte_mode_counts_bytes_against_the_default_64_kib() {
    let (_lp, _g) = setup();
    let r = idle_bytes();
    assert_eq!(r.readable_high_water_mark(), 64 * 1024);
    assert!(r.push(bytes::Bytes::from(vec![0u8; 60 * 1024])));
    assert!(!r.push(bytes::Bytes::from(vec![0u8; 8 * 1024])));
    assert_eq!(r.readable_length(), 68 * 1024);
    assert!(!r.readable_object_mode());
}

// ports test/parallel/test-stream-events-prepend.js
#[test]
fn prepend_listener_runs_first() {
    let (lp, _g) = setup();
    let log = Log::new();
    let (w, _) = collecting_writable::<u8>();
    w.on(ev::Finish, log.rec("second"));
    w.prepend_listener(ev::Finish, log.rec("first"));
    w.end();
    lp.run_until_idle();
    assert_eq!(log.get(), ["first", "second"]);
}

#[test]
fn once_listener_runs_once_and_remove_all_listeners_clears() {
    let (lp, _g) = setup();
    let r = idle_readable::<u8>();
    let once = MustCall::new(1);
    r.once(ev::Data, once.hit());
    r.push(1);
    r.push(2);
    lp.run_until_idle();
    r.on(ev::End, MustCall::never().hit());
    r.remove_all_listeners(ev::End);
    assert_eq!(r.listener_count(ev::End), 0);
}

#[test]
fn next_tick_runs_in_fifo_order_with_stream_ticks() {
    let (lp, _g) = setup();
    let log = Log::new();
    let r = idle_readable::<u8>();
    r.on(ev::Resume, log.rec("resume"));
    r.resume();
    let l = log.clone();
    lp.next_tick(move || l.push("tick"));
    lp.run_until_idle();
    assert_eq!(log.get(), ["resume", "tick"]);
}

#[test]
fn nothing_is_emitted_after_close() {
    let (lp, _g) = setup();
    let r = idle_readable::<u8>();
    let log = Log::new();
    r.on(ev::Close, log.rec("close"));
    r.on(ev::Data, log.rec("data"));
    r.destroy(None);
    lp.run_until_idle();
    assert!(!r.push(1), "a destroyed stream refuses data");
    lp.run_until_idle();
    assert_eq!(log.get(), ["close"]);
}

#[test]
fn handles_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Readable<bytes::Bytes>>();
    check::<Writable<String>>();
    check::<Duplex<u8, String>>();
    check::<EventLoop>();
    check::<Error>();
}

#[test]
fn writes_from_another_thread_wake_the_pipeline() {
    let (w, got) = collecting_writable::<u32>();
    let pt = PassThrough::<u32>::passthrough();
    let fut = pipeline(pt.readable_side(), &w);
    let pt2 = pt.clone();
    let producer = std::thread::spawn(move || {
        for i in 0..1000 {
            pt2.write(i);
        }
        pt2.end();
    });
    futures::executor::block_on(fut).unwrap();
    producer.join().unwrap();
    assert_eq!(got.get(), (0..1000).collect::<Vec<_>>());
}
