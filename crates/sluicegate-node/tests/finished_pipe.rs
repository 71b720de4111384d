//! finished() rules and clean-up, pipe()/unpipe() bookkeeping, duplex sides.
mod common;
use common::*;

// ports test/parallel/test-stream-finished.js (premature close)
#[test]
fn finished_reports_premature_close() {
    let (lp, _g) = setup();
    let r = idle_readable::<u8>();
    let cb = MustCall::new(1);
    let _c = finished_with(
        &r,
        FinishedOptions::default(),
        cb.once(|res: Result<()>| assert_eq!(res.unwrap_err().code(), ErrorCode::PrematureClose)),
    );
    r.destroy(None);
    lp.run_until_idle();
}

// ports test/parallel/test-stream-finished.js (error wins)
#[test]
fn finished_reports_the_error() {
    let (lp, _g) = setup();
    let r = idle_readable::<u8>();
    let cb = MustCall::new(1);
    let _c = finished_with(
        &r,
        FinishedOptions::default(),
        cb.once(|res: Result<()>| assert_eq!(res.unwrap_err().message(), "kaboom")),
    );
    r.destroy(Some(user("kaboom")));
    lp.run_until_idle();
}

// ports test/parallel/test-stream-finished.js (cleanup removes listeners)
#[test]
fn finished_cleanup_leaves_no_listener_behind() {
    let (lp, _g) = setup();
    let r = idle_readable::<u8>();
    let before = (
        r.listener_count(ev::End),
        r.listener_count(ev::Error),
        r.listener_count(ev::Close),
    );
    let c = finished_with(
        &r,
        FinishedOptions::default(),
        MustCall::never().once(|_: Result<()>| {}),
    );
    assert_ne!(
        before,
        (
            r.listener_count(ev::End),
            r.listener_count(ev::Error),
            r.listener_count(ev::Close)
        )
    );
    c.cleanup();
    assert_eq!(
        before,
        (
            r.listener_count(ev::End),
            r.listener_count(ev::Error),
            r.listener_count(ev::Close)
        )
    );
    // A dropped finished() future removes its listeners too.
    drop(finished(&r));
    assert_eq!(
        before,
        (
            r.listener_count(ev::End),
            r.listener_count(ev::Error),
            r.listener_count(ev::Close)
        )
    );
    lp.run_until_idle();
}

// ports test/parallel/test-stream-finished.js (already finished stream)
#[test]
fn finished_on_an_already_closed_stream_settles_on_the_next_tick() {
    let r = Readable::from_iter([1u8]);
    r.resume();
    futures::executor::block_on(finished(&r)).unwrap();
    assert!(r.is_close_emitted());
    futures::executor::block_on(finished(&r)).unwrap();
}

// ports test/parallel/test-stream-finished.js (writable)
#[test]
fn finished_writable_after_finish() {
    let (w, _) = collecting_writable::<u8>();
    w.write(1);
    w.end();
    futures::executor::block_on(finished(&w)).unwrap();
    assert!(w.writable_finished());
}

// ports test/parallel/test-stream-finished.js (signal)
#[test]
fn finished_with_an_aborted_signal_is_an_abort_error() {
    let (lp, _g) = setup();
    let r = idle_readable::<u8>();
    let ac = sluicegate::AbortController::new();
    let cb = MustCall::new(1);
    let _c = finished_with(
        &r,
        FinishedOptions {
            signal: Some(ac.signal()),
            ..FinishedOptions::default()
        },
        cb.once(|res: Result<()>| assert_eq!(res.unwrap_err().code(), ErrorCode::Abort)),
    );
    ac.abort(None);
    lp.run_until_idle();
    assert!(!r.destroyed(), "finished's signal does not destroy the stream");
}

// ports test/parallel/test-stream-pipe-error-handling.js (a pipe does not forward errors)
#[test]
fn pipe_does_not_forward_source_errors() {
    let (lp, _g) = setup();
    let r = idle_readable::<u8>();
    let (w, _) = collecting_writable::<u8>();
    r.on(ev::Error, |_: &Error| {});
    r.pipe(&w);
    r.destroy(Some(user("source failed")));
    lp.run_until_idle();
    assert!(
        !w.destroyed(),
        "Node's pipe leaves the destination open: pipeline() exists for this"
    );
}

// ports test/parallel/test-stream-pipe-cleanup.js / test-stream-unpipe-event.js
#[test]
fn unpipe_emits_unpipe_and_removes_the_pipe_listeners() {
    let (lp, _g) = setup();
    let r = idle_readable::<u8>();
    let (w, _) = collecting_writable::<u8>();
    let unpipe = MustCall::new(1);
    let rid = r.id();
    w.on(
        ev::Unpipe,
        unpipe.wrap(move |src: &StreamId| assert_eq!(*src, rid)),
    );
    let before = (
        w.listener_count(ev::Close),
        w.listener_count(ev::Finish),
        w.listener_count(ev::Error),
        r.listener_count(ev::Data),
    );
    r.pipe(&w);
    assert_eq!(r.state().pipes, 1);
    r.unpipe(Some(&w));
    assert_eq!(r.state().pipes, 0);
    assert_eq!(
        before,
        (
            w.listener_count(ev::Close),
            w.listener_count(ev::Finish),
            w.listener_count(ev::Error),
            r.listener_count(ev::Data)
        )
    );
    lp.run_until_idle();
}

// ports test/parallel/test-stream-pipe-event.js
#[test]
fn pipe_emits_pipe_on_the_destination() {
    let (lp, _g) = setup();
    let r = idle_readable::<u8>();
    let (w, _) = collecting_writable::<u8>();
    let pipe = MustCall::new(1);
    let rid = r.id();
    w.on(ev::Pipe, pipe.wrap(move |src: &StreamId| assert_eq!(*src, rid)));
    r.pipe(&w);
    lp.run_until_idle();
}

// ports test/parallel/test-stream-pipe-multiple-pipes.js
#[test]
fn one_readable_feeds_several_destinations() {
    let (lp, _g) = setup();
    let r = Readable::from_iter(0..20u32);
    let outs: Vec<_> = (0..3).map(|_| collecting_writable::<u32>()).collect();
    for (w, _) in &outs {
        r.pipe(w);
    }
    lp.run_until_idle();
    for (_, got) in &outs {
        assert_eq!(got.get(), (0..20).collect::<Vec<_>>());
    }
}

// ports test/parallel/test-stream-pipe-await-drain.js (backpressure pauses the source)
#[test]
fn pipe_pauses_while_the_destination_needs_drain() {
    let (lp, _g) = setup();
    let pending = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Callback>::new()));
    let p = pending.clone();
    let w = Writable::from_fn_with(
        move |_x: u32| {
            let (c, cb) = Completion::callback();
            p.lock().unwrap().push(cb);
            c
        },
        WritableOptions::objects().high_water_mark(2),
    );
    let r = Readable::from_iter_with(0..100u32, ReadableOptions::objects().high_water_mark(2));
    r.pipe(&w);
    lp.run_until_idle();
    assert!(r.is_paused());
    assert!(w.writable_need_drain());
    assert!(
        r.readable_length() <= 2,
        "the source buffers at most its high-water mark"
    );
    let mut done = 0;
    while let Some(cb) = {
        let x = pending.lock().unwrap().pop();
        x
    } {
        // Complete in order: take the oldest.
        drop(cb);
        done += 1;
        if done > 1 {
            break;
        }
    }
    lp.run_until_idle();
}

// ports test/parallel/test-stream-duplex-end.js (allowHalfOpen: false ends the writable side)
#[test]
fn allow_half_open_false_ends_the_writable_side_after_end() {
    let (lp, _g) = setup();
    let d = Duplex::<u8, u8>::transform_with(
        IdentityHalf,
        DuplexOptions {
            allow_half_open: false,
            ..DuplexOptions::default()
        },
    );
    let finish = MustCall::new(1);
    d.on(ev::Finish, finish.hit());
    d.readable_side().push_end();
    d.resume();
    lp.run_until_idle();
    assert!(d.writable_ended());
}

struct IdentityHalf;
impl TransformImpl<u8, u8> for IdentityHalf {
    fn transform(&mut self, x: u8, out: &Readable<u8>) -> Completion {
        out.push(x);
        Completion::ok()
    }
}

// ports test/parallel/test-stream-duplex-props.js (independent high-water marks)
#[test]
fn duplex_sides_have_independent_high_water_marks() {
    let (_lp, _g) = setup();
    let d = Duplex::<u8, u8>::passthrough_with(DuplexOptions {
        readable: ReadableOptions::objects().high_water_mark(3),
        writable: WritableOptions::objects().high_water_mark(7),
        ..DuplexOptions::default()
    });
    assert_eq!(d.readable_side().readable_high_water_mark(), 3);
    assert_eq!(d.writable_side().writable_high_water_mark(), 7);
    assert!(d.allow_half_open());
}

// ports test/parallel/test-stream-duplex-destroy.js (one close, one error)
#[test]
fn duplex_destroy_emits_one_error_and_one_close() {
    let (lp, _g) = setup();
    let d = Duplex::<u8, u8>::passthrough();
    let err = MustCall::new(1);
    let close = MustCall::new(1);
    d.on(ev::Error, err.hit());
    d.on(ev::Close, close.hit());
    d.destroy(Some(user("x")));
    d.writable_side().destroy(Some(user("y")));
    lp.run_until_idle();
    assert!(d.destroyed());
}

// ports test/parallel/test-stream-transform-split-highwatermark.js / backpressure
#[test]
fn transform_withholds_the_callback_at_the_readable_high_water_mark() {
    let (lp, _g) = setup();
    let t = Duplex::<u32, u32>::passthrough_with(DuplexOptions {
        readable: ReadableOptions::objects().high_water_mark(1),
        writable: WritableOptions::objects().high_water_mark(1),
        ..DuplexOptions::default()
    });
    t.write(1);
    t.write(2);
    t.write(3);
    lp.run_until_idle();
    // Only as much is transformed as the readable side can hold; the rest waits.
    assert!(t.readable_side().readable_length() <= 2);
    assert!(t.writable_side().writable_length() >= 1);
    let mut got = Vec::new();
    while let Some(x) = t.read() {
        got.push(x);
        lp.run_until_idle();
    }
    assert_eq!(got, [1, 2, 3]);
}

// ports test/parallel/test-stream-add-abort-signal.js
#[test]
fn add_abort_signal_destroys_with_abort_error() {
    let (lp, _g) = setup();
    let ac = sluicegate::AbortController::new();
    let (w, _) = collecting_writable::<u8>();
    add_abort_signal(&ac.signal(), &w);
    let err = MustCall::new(1);
    w.on(ev::Error, err.wrap(|e: &Error| assert!(e.is_abort())));
    ac.abort(None);
    lp.run_until_idle();
    assert!(w.destroyed());
}

#[test]
fn dropped_write_callback_errors_the_stream_instead_of_hanging() {
    let (lp, _g) = setup();
    let w = Writable::from_fn(|_x: u8| {
        let (c, cb) = Completion::callback();
        drop(cb);
        c
    });
    let err = MustCall::new(1);
    w.on(
        ev::Error,
        err.wrap(|e: &Error| assert_eq!(e.code(), ErrorCode::CallbackDropped)),
    );
    w.write(1);
    lp.run_until_idle();
}
