//! destroy(), _destroy and their events, for readables and writables.
mod common;
use common::*;

use std::sync::{Arc, Mutex};

// ports test/parallel/test-stream-readable-destroy.js (destroy a flowing readable)
#[test]
fn readable_destroy_emits_close() {
    let (lp, _g) = setup();
    let r = idle_readable::<u8>();
    r.resume();
    let close = MustCall::new(1);
    r.on(ev::Close, close.hit());
    r.destroy(None);
    assert!(r.destroyed());
    lp.run_until_idle();
}

// ports test/parallel/test-stream-readable-destroy.js (destroy with an error)
#[test]
fn readable_destroy_with_error_emits_error_and_close_but_no_end() {
    let (lp, _g) = setup();
    let r = idle_readable::<u8>();
    r.resume();
    let expected = user("kaboom");
    let (close, error) = (MustCall::new(1), MustCall::new(1));
    r.on(ev::End, MustCall::never().hit());
    r.on(ev::Close, close.hit());
    let e2 = expected.clone();
    r.on(
        ev::Error,
        error.wrap(move |e: &Error| assert!(Error::same(e, &e2))),
    );
    r.destroy(Some(expected));
    assert!(r.destroyed());
    lp.run_until_idle();
}

// ports test/parallel/test-stream-readable-destroy.js (_destroy gets the error and passes it on)
#[test]
fn readable_destroy_calls_the_implementor_with_the_error() {
    let (lp, _g) = setup();
    let expected = user("kaboom");
    let e2 = expected.clone();
    let destroy = MustCall::new(1);
    let r = ReadFns::<u8>::idle()
        .destroy(destroy.once_mut(move |err: Option<Error>| {
            assert!(Error::same(err.as_ref().unwrap(), &e2));
            Completion::from(Err(err.unwrap()))
        }))
        .build();
    let (close, error) = (MustCall::new(1), MustCall::new(1));
    r.on(ev::End, MustCall::never().hit());
    r.on(ev::Close, close.hit());
    r.on(ev::Error, error.hit());
    r.destroy(Some(expected));
    lp.run_until_idle();
}

// ports test/parallel/test-stream-readable-destroy.js (_destroy swallows the error)
#[test]
fn readable_destroy_swallowed_by_the_implementor_emits_no_error() {
    let (lp, _g) = setup();
    let destroy = MustCall::new(1);
    let r = ReadFns::<u8>::idle()
        .destroy(destroy.once_mut(|err: Option<Error>| {
            assert!(err.is_some());
            Completion::ok()
        }))
        .build();
    let close = MustCall::new(1);
    r.on(ev::Error, MustCall::never().hit());
    r.on(ev::Close, close.hit());
    r.destroy(Some(user("kaboom")));
    assert!(r.destroyed());
    lp.run_until_idle();
    assert!(
        r.errored().is_some(),
        "errored is set even when no 'error' is emitted"
    );
}

// ports test/parallel/test-stream-readable-destroy.js (_destroy without an error)
#[test]
fn readable_destroy_without_error_passes_none() {
    let (lp, _g) = setup();
    let destroy = MustCall::new(1);
    let r = ReadFns::<u8>::idle()
        .destroy(destroy.once_mut(|err: Option<Error>| {
            assert!(err.is_none());
            Completion::ok()
        }))
        .build();
    r.destroy(None);
    assert!(r.destroyed());
    lp.run_until_idle();
}

// ports test/parallel/test-stream-readable-destroy.js (_destroy's own error is emitted a tick later)
#[test]
fn readable_destroy_error_from_the_implementor_is_emitted_after_the_call() {
    let (lp, _g) = setup();
    let r = ReadFns::<u8>::idle()
        .destroy(|_| Completion::err(user("from _destroy")))
        .build();
    let ticked = Arc::new(Mutex::new(false));
    let t = ticked.clone();
    let r2 = r.clone();
    let error = MustCall::new(1);
    r.on(
        ev::Error,
        error.wrap(move |e: &Error| {
            assert!(*t.lock().unwrap(), "not synchronously");
            assert!(r2.state().error_emitted);
            assert_eq!(e.message(), "from _destroy");
        }),
    );
    r.on(ev::End, MustCall::never().hit());
    r.destroy(None);
    assert!(!r.state().error_emitted);
    assert!(
        r.errored().is_some(),
        "errored as soon as _destroy's callback ran"
    );
    *ticked.lock().unwrap() = true;
    lp.run_until_idle();
}

// ports test/parallel/test-stream-readable-destroy.js (destroy(err, cb))
#[test]
fn readable_destroy_callback_gets_the_error_before_error_and_close() {
    let (lp, _g) = setup();
    let r = idle_readable::<u8>();
    r.resume();
    let log = Log::new();
    r.on(ev::Close, log.rec("close"));
    r.on(ev::Error, log.rec("error"));
    let l = log.clone();
    let expected = user("kaboom");
    let e2 = expected.clone();
    r.destroy_with(Some(expected), move |err| {
        assert!(Error::same(err.as_ref().unwrap(), &e2));
        l.push("cb");
    });
    assert!(r.errored().is_some());
    log.push("sync");
    lp.run_until_idle();
    // Node 20 emits 'error' even with a callback.
    assert_eq!(log.get(), ["cb", "sync", "error", "close"]);
}

// ports test/parallel/test-stream-readable-destroy.js (destroy again before _destroy completes)
#[test]
fn readable_second_destroy_while_the_first_runs_is_ignored() {
    let (lp, _g) = setup();
    let lp2 = lp.clone();
    let destroy = MustCall::new(1);
    let r = ReadFns::<u8>::idle()
        .destroy(destroy.once_mut(move |_| next_tick_completion(&lp2, Err(user("kaboom 1")))))
        .build();
    let error = MustCall::new(1);
    r.on(
        ev::Error,
        error.wrap(|e: &Error| assert_eq!(e.message(), "kaboom 1")),
    );
    let close = MustCall::new(1);
    let r2 = r.clone();
    r.on(ev::Close, close.wrap(move |_| assert!(r2.state().error_emitted)));
    r.destroy(None);
    assert!(r.destroyed());
    r.destroy(Some(user("kaboom 2")));
    assert!(!r.state().error_emitted);
    lp.run_until_idle();
}

// ports test/parallel/test-stream-readable-destroy.js (push after destroy)
#[test]
fn readable_push_after_destroy_emits_no_data() {
    let (lp, _g) = setup();
    let r = idle_readable::<&str>();
    r.destroy(None);
    assert!(!r.push("hi"));
    r.on(ev::Data, MustCall::never().hit());
    lp.run_until_idle();
}

// ports test/parallel/test-stream-readable-destroy.js (read after destroy)
#[test]
fn readable_read_after_destroy_never_calls_read() {
    let (lp, _g) = setup();
    let reads = MustCall::never();
    let c = reads.counter();
    let r = Readable::<u8>::from_fn(move |_, _| {
        c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    });
    r.destroy(None);
    assert!(r.destroyed());
    assert_eq!(r.read(), None);
    lp.run_until_idle();
}

// ports test/parallel/test-stream-readable-destroy.js (destroy callback on a destroyed stream)
#[test]
fn destroy_callback_on_an_already_destroyed_stream_runs_at_once() {
    let (lp, _g) = setup();
    let r = idle_readable::<u8>();
    r.destroy(None);
    let cb = MustCall::new(1);
    r.destroy_with(
        Some(user("late")),
        cb.once(|err: Option<Error>| assert!(err.is_none())),
    );
    assert_eq!(cb.count(), 1);
    lp.run_until_idle();
    assert!(r.errored().is_none(), "a second destroy's error is ignored");
}

// ports test/parallel/test-stream-writable-destroy.js (destroy: close, no finish)
#[test]
fn writable_destroy_emits_close_and_no_finish() {
    let (lp, _g) = setup();
    let w = WriteFns::<u8>::ok().build();
    w.on(ev::Finish, MustCall::never().hit());
    let close = MustCall::new(1);
    w.on(ev::Close, close.hit());
    w.destroy(None);
    assert!(w.destroyed());
    lp.run_until_idle();
}

// ports test/parallel/test-stream-writable-destroy.js (destroy from inside _write)
#[test]
fn writable_destroy_inside_write_errors_and_never_finishes() {
    let (lp, _g) = setup();
    let slot: Arc<Mutex<Option<Writable<&str>>>> = Arc::default();
    let s = slot.clone();
    let w = WriteFns::<&str>::new(move |_| {
        if let Some(w) = s.lock().unwrap().as_ref() {
            w.destroy(Some(user("asd")));
        }
        Completion::ok()
    })
    .build();
    *slot.lock().unwrap() = Some(w.clone());
    let error = MustCall::new(1);
    w.on(ev::Error, error.hit());
    w.on(ev::Finish, MustCall::never().hit());
    w.end_chunk("asd");
    assert!(w.destroyed());
    lp.run_until_idle();
    slot.lock().unwrap().take();
}

// ports test/parallel/test-stream-writable-destroy.js (destroy with an error)
#[test]
fn writable_destroy_with_error() {
    let (lp, _g) = setup();
    let w = WriteFns::<u8>::ok().build();
    let expected = user("kaboom");
    let e2 = expected.clone();
    let (close, error) = (MustCall::new(1), MustCall::new(1));
    w.on(ev::Finish, MustCall::never().hit());
    w.on(ev::Close, close.hit());
    w.on(
        ev::Error,
        error.wrap(move |e: &Error| assert!(Error::same(e, &e2))),
    );
    w.destroy(Some(expected));
    lp.run_until_idle();
}

// ports test/parallel/test-stream-writable-destroy.js (_destroy swallows the error)
#[test]
fn writable_destroy_swallowed_by_the_implementor() {
    let (lp, _g) = setup();
    let destroy = MustCall::new(1);
    let w = WriteFns::<u8>::ok()
        .destroy(destroy.once_mut(|err: Option<Error>| {
            assert!(err.is_some());
            Completion::ok()
        }))
        .build();
    let close = MustCall::new(1);
    w.on(ev::Finish, MustCall::never().hit());
    w.on(ev::Close, close.hit());
    w.on(ev::Error, MustCall::never().hit());
    w.destroy(Some(user("kaboom")));
    lp.run_until_idle();
}

// ports test/parallel/test-stream-writable-destroy.js (_destroy ends the stream a tick later)
#[test]
fn writable_end_after_destroy_still_finishes_nothing() {
    let (lp, _g) = setup();
    let w = WriteFns::<u8>::ok().build();
    let close = MustCall::new(1);
    w.on(ev::Close, close.hit());
    w.on(ev::Finish, MustCall::never().hit());
    w.destroy(None);
    w.end();
    lp.run_until_idle();
}

// ports test/parallel/test-stream-writable-destroy.js (_destroy reports an error)
#[test]
fn writable_destroy_error_from_the_implementor() {
    let (lp, _g) = setup();
    let w = WriteFns::<u8>::ok()
        .destroy(|err| {
            assert!(err.is_none());
            Completion::err(user("kaboom"))
        })
        .build();
    let (close, error) = (MustCall::new(1), MustCall::new(1));
    w.on(ev::Close, close.hit());
    w.on(ev::Finish, MustCall::never().hit());
    w.on(
        ev::Error,
        error.wrap(|e: &Error| assert_eq!(e.message(), "kaboom")),
    );
    w.destroy(None);
    lp.run_until_idle();
}

// ports test/parallel/test-stream-writable-destroy.js (double error)
#[test]
fn writable_double_destroy_emits_one_error() {
    let (lp, _g) = setup();
    let w = WriteFns::<u8>::ok().build();
    let (close, error) = (MustCall::new(1), MustCall::new(1));
    w.on(ev::Close, close.hit());
    w.on(
        ev::Error,
        error.wrap(|e: &Error| assert_eq!(e.message(), "kaboom 1")),
    );
    w.destroy(Some(user("kaboom 1")));
    w.destroy(Some(user("kaboom 2")));
    assert!(w.destroyed());
    lp.run_until_idle();
    assert!(w.state().error_emitted);
}

// ports test/parallel/test-stream-writable-destroy.js (destroy and destroy callback)
#[test]
fn writable_destroy_callback_after_destroy() {
    let (lp, _g) = setup();
    let w = WriteFns::<u8>::ok().build();
    w.destroy(None);
    let cb = MustCall::new(1);
    w.destroy_with(Some(user("kaboom")), cb.once(|_err: Option<Error>| {}));
    lp.run_until_idle();
}

// ports test/parallel/test-stream-writable-destroy.js (write after destroy)
#[test]
fn writable_write_after_destroy_is_err_stream_destroyed() {
    let (lp, _g) = setup();
    let w = WriteFns::<&str>::ok().build();
    w.destroy(None);
    // Node 20 (checked): the callback gets ERR_STREAM_DESTROYED; no 'error' on a destroyed
    // stream (errorOrDestroy returns early).
    let cb = MustCall::named("cb", 1);
    w.on(ev::Error, MustCall::never().hit());
    w.write_with(
        "asd",
        cb.once(|r: Result<()>| {
            let e = r.unwrap_err();
            assert_eq!(e.code(), ErrorCode::Destroyed);
            assert_eq!(e.message(), "Cannot call write after a stream was destroyed");
        }),
    );
    lp.run_until_idle();
}

// ports test/parallel/test-stream-writable-destroy.js (corked writes and destroy)
#[test]
fn writable_corked_writes_fail_with_destroyed_after_destroy() {
    let (lp, _g) = setup();
    let w = WriteFns::<&str>::ok().build();
    // As in Node 20 (checked): callbacks only, no 'error' on the destroyed stream.
    w.on(ev::Error, MustCall::never().hit());
    let ok = MustCall::named("first write", 1);
    w.cork();
    w.write_with("asd", ok.once(|r: Result<()>| r.unwrap()));
    w.uncork();
    let failed = MustCall::named("failed writes", 2);
    w.cork();
    w.write_with(
        "asd",
        failed.once(|r: Result<()>| assert_eq!(r.unwrap_err().code(), ErrorCode::Destroyed)),
    );
    w.destroy(None);
    w.write_with(
        "asd",
        failed.once(|r: Result<()>| assert_eq!(r.unwrap_err().code(), ErrorCode::Destroyed)),
    );
    w.uncork();
    lp.run_until_idle();
}

// ports test/parallel/test-stream-writable-destroy.js (end(cb) after error and destroy)
#[test]
fn writable_end_callback_after_error_and_destroy_is_destroyed() {
    let (lp, _g) = setup();
    let w = WriteFns::<&str>::new(|_| Completion::err(user("asd"))).build();
    let end_cb = Arc::new(MustCall::named("end cb", 1));
    let w2 = w.clone();
    let e = end_cb.clone();
    let error = MustCall::named("error", 1);
    w.on(
        ev::Error,
        error.wrap(move |_| {
            w2.destroy(None);
            let ticked = Arc::new(Mutex::new(false));
            let t = ticked.clone();
            w2.end_with(e.once(move |r: Result<()>| {
                assert!(*t.lock().unwrap());
                assert_eq!(r.unwrap_err().code(), ErrorCode::Destroyed);
            }));
            *ticked.lock().unwrap() = true;
        }),
    );
    w.write("asd");
    lp.run_until_idle();
    drop(error);
    drop(Arc::try_unwrap(end_cb).ok().unwrap());
}

// ports test/parallel/test-stream-writable-destroy.js (end(cb) after finish and destroy)
#[test]
fn writable_end_callback_after_finish_is_already_finished() {
    let (lp, _g) = setup();
    let w = WriteFns::<u8>::ok().build();
    let end_cb = Arc::new(MustCall::named("end cb", 1));
    let (w2, e) = (w.clone(), end_cb.clone());
    let finish = MustCall::named("finish", 1);
    w.on(
        ev::Finish,
        finish.wrap(move |_| {
            w2.destroy(None);
            w2.end_with(
                e.once(|r: Result<()>| assert_eq!(r.unwrap_err().code(), ErrorCode::AlreadyFinished)),
            );
        }),
    );
    w.end();
    lp.run_until_idle();
    drop(finish);
    drop(Arc::try_unwrap(end_cb).ok().unwrap());
}

// ports test/parallel/test-stream-writable-destroy.js (end(chunk, cb) then destroy(err))
#[test]
fn writable_end_callback_gets_the_destroy_error() {
    let (lp, _g) = setup();
    let lp2 = lp.clone();
    let w = WriteFns::<&str>::new(move |_| next_tick_completion(&lp2, Ok(()))).build();
    let (error, cb) = (MustCall::named("error", 1), MustCall::named("end cb", 1));
    w.once(ev::Error, error.wrap(|e: &Error| assert_eq!(e.message(), "asd")));
    w.write("asd");
    w.end_with(cb.once(|r: Result<()>| assert_eq!(r.unwrap_err().message(), "asd")));
    w.destroy(Some(user("asd")));
    lp.run_until_idle();
}

// ports test/parallel/test-stream-writable-destroy.js (buffered write callbacks get the error)
#[test]
fn writable_buffered_write_callbacks_fail_after_an_error() {
    let (lp, _g) = setup();
    let lp2 = lp.clone();
    let w = WriteFns::<&str>::new(move |_| next_tick_completion(&lp2, Err(user("asd"))))
        .build_with(WritableOptions::objects().auto_destroy(false));
    let (first, second, error) = (
        MustCall::named("first", 1),
        MustCall::named("second", 1),
        MustCall::named("error", 1),
    );
    w.cork();
    w.write_with(
        "asd",
        first.once(|r: Result<()>| assert_eq!(r.unwrap_err().message(), "asd")),
    );
    // Node 20 (checked): the buffered write fails with the stored error, 'asd'.
    w.write_with(
        "asd",
        second.once(|r: Result<()>| assert_eq!(r.unwrap_err().message(), "asd")),
    );
    w.on(ev::Error, error.wrap(|e: &Error| assert_eq!(e.message(), "asd")));
    w.uncork();
    lp.run_until_idle();
}

// ports test/parallel/test-stream-writable-destroy.js (callback order)
#[test]
fn writable_write_callbacks_in_order_when_destroyed_mid_write() {
    let (lp, _g) = setup();
    let held: Arc<Mutex<Vec<Callback>>> = Arc::default();
    let h = held.clone();
    let w = WriteFns::<&str>::new(move |_| {
        let (c, cb) = Completion::callback();
        h.lock().unwrap().push(cb);
        c
    })
    .build();
    let log = Log::new();
    let (l1, l2) = (log.clone(), log.clone());
    w.write_with("asd", move |r| {
        assert!(r.is_ok());
        l1.push("first");
    });
    w.write_with("asd", move |r| {
        assert_eq!(r.unwrap_err().code(), ErrorCode::Destroyed);
        l2.push("second");
    });
    w.destroy(None);
    lp.run_until_idle();
    // The write in progress completes later (Node's setImmediate).
    let cb = held.lock().unwrap().pop().unwrap();
    cb.ok();
    lp.run_until_idle();
    assert_eq!(log.get(), ["first", "second"]);
}

// ports test/parallel/test-stream-duplex-destroy.js
#[test]
fn duplex_destroy_emits_close_and_neither_end_nor_finish() {
    let (lp, _g) = setup();
    let d = Duplex::<u8, u8>::passthrough();
    d.resume();
    d.on(ev::End, MustCall::never().hit());
    d.on(ev::Finish, MustCall::never().hit());
    let close = MustCall::new(1);
    d.on(ev::Close, close.hit());
    d.destroy(None);
    assert!(d.destroyed());
    lp.run_until_idle();
}

// ports test/parallel/test-stream-duplex-destroy.js (with an error)
#[test]
fn duplex_destroy_with_error_emits_one_error() {
    let (lp, _g) = setup();
    let d = Duplex::<u8, u8>::passthrough();
    d.resume();
    let (close, error) = (MustCall::new(1), MustCall::new(1));
    d.on(ev::End, MustCall::never().hit());
    d.on(ev::Finish, MustCall::never().hit());
    d.on(ev::Close, close.hit());
    d.on(
        ev::Error,
        error.wrap(|e: &Error| assert_eq!(e.message(), "kaboom")),
    );
    d.destroy(Some(user("kaboom")));
    lp.run_until_idle();
}

// ports test/parallel/test-stream-duplex-destroy.js (allowHalfOpen and destroy after end)
#[test]
fn duplex_destroy_after_readable_end_keeps_finish_away() {
    let (lp, _g) = setup();
    let d = Duplex::<u8, u8>::passthrough();
    d.on(ev::Finish, MustCall::never().hit());
    let close = MustCall::new(1);
    d.on(ev::Close, close.hit());
    d.push_end();
    d.resume();
    lp.run_until_idle();
    assert!(d.readable_ended());
    assert!(!d.destroyed(), "allowHalfOpen: the writable side is still open");
    d.destroy(None);
    lp.run_until_idle();
}

// ports test/parallel/test-stream-transform-destroy.js
#[test]
fn transform_destroy_emits_close_only() {
    let (lp, _g) = setup();
    let t = Transform::<u8, u8>::passthrough();
    t.resume();
    t.on(ev::End, MustCall::never().hit());
    t.on(ev::Finish, MustCall::never().hit());
    let close = MustCall::new(1);
    t.on(ev::Close, close.hit());
    t.destroy(None);
    lp.run_until_idle();
}

// ports test/parallel/test-stream-transform-destroy.js (with an error)
#[test]
fn transform_destroy_with_error() {
    let (lp, _g) = setup();
    let t = Transform::<u8, u8>::passthrough();
    t.resume();
    let (close, error) = (MustCall::new(1), MustCall::new(1));
    t.on(ev::End, MustCall::never().hit());
    t.on(ev::Finish, MustCall::never().hit());
    t.on(ev::Close, close.hit());
    t.on(ev::Error, error.hit());
    t.destroy(Some(user("kaboom")));
    lp.run_until_idle();
}

// ports test/parallel/test-stream-transform-destroy.js (_destroy of a transform)
#[test]
fn transform_destroy_calls_its_implementor() {
    struct T(Arc<MustCall>);
    impl TransformImpl<u8, u8> for T {
        fn transform(&mut self, x: u8, out: &Readable<u8>) -> Completion {
            out.push(x);
            Completion::ok()
        }
        fn destroy(&mut self, err: Option<Error>) -> Completion {
            self.0.once(|()| {})(());
            assert_eq!(err.unwrap().message(), "kaboom");
            Completion::ok()
        }
    }
    let (lp, _g) = setup();
    let called = Arc::new(MustCall::new(1));
    let t = Transform::transform(T(called.clone()));
    t.on(ev::Error, MustCall::never().hit());
    let close = MustCall::new(1);
    t.on(ev::Close, close.hit());
    t.destroy(Some(user("kaboom")));
    lp.run_until_idle();
    drop(t);
    let _ = Arc::try_unwrap(called).map(drop);
}

// ports test/parallel/test-stream-destroy.js (destroy from inside _write runs _destroy after it)
#[test]
fn destroy_from_inside_the_implementor_drops_it_after_the_call() {
    struct Tracked(Arc<Mutex<Vec<&'static str>>>, Arc<Mutex<Option<Writable<u8>>>>);
    impl WriteImpl<u8> for Tracked {
        fn write(&mut self, _: u8) -> Completion {
            self.0.lock().unwrap().push("write start");
            let w = self.1.lock().unwrap().clone().unwrap();
            w.destroy(None);
            // Still usable: the implementor is dropped only after this call returns.
            self.0.lock().unwrap().push("write end");
            Completion::ok()
        }
    }
    impl Drop for Tracked {
        fn drop(&mut self) {
            self.0.lock().unwrap().push("dropped");
        }
    }
    let (lp, _g) = setup();
    let log: Arc<Mutex<Vec<&'static str>>> = Arc::default();
    let slot: Arc<Mutex<Option<Writable<u8>>>> = Arc::default();
    let w = Writable::new(Tracked(log.clone(), slot.clone()));
    *slot.lock().unwrap() = Some(w.clone());
    w.write(1);
    assert_eq!(*log.lock().unwrap(), ["write start", "write end", "dropped"]);
    lp.run_until_idle();
    slot.lock().unwrap().take();
}
