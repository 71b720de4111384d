//! finished(): when it settles, with what, and what it leaves behind.
mod common;
use common::*;

use std::sync::{Arc, Mutex};

fn fin<S: NodeStream + ?Sized>(s: &S, cb: impl FnOnce(Result<()>) + Send + 'static) -> Cleanup {
    finished_with(s, FinishedOptions::default(), cb)
}

// ports test/parallel/test-stream-finished.js (readable ends)
#[test]
fn finished_readable_after_end() {
    let (lp, _g) = setup();
    let rs = idle_readable::<u8>();
    let cb = MustCall::new(1);
    let _c = fin(&rs, cb.once(|r: Result<()>| r.unwrap()));
    rs.push_end();
    rs.resume();
    lp.run_until_idle();
}

// ports test/parallel/test-stream-finished.js (writable finishes)
#[test]
fn finished_writable_after_finish() {
    let (lp, _g) = setup();
    let ws = WriteFns::<u8>::ok().build();
    let cb = MustCall::new(1);
    let _c = fin(&ws, cb.once(|r: Result<()>| r.unwrap()));
    ws.end();
    lp.run_until_idle();
}

// ports test/parallel/test-stream-finished.js (transform: both sides)
#[test]
fn finished_transform_waits_for_finish_and_end() {
    let (lp, _g) = setup();
    let tr = Transform::map_fn(|_: u8| None::<u8>);
    let flags = Arc::new(Mutex::new((false, false)));
    let f = flags.clone();
    tr.on(ev::End, move |_| f.lock().unwrap().1 = true);
    let f = flags.clone();
    tr.on(ev::Finish, move |_| f.lock().unwrap().0 = true);
    let cb = MustCall::new(1);
    let f = flags.clone();
    let _c = fin(
        &tr,
        cb.once(move |r: Result<()>| {
            r.unwrap();
            assert_eq!(*f.lock().unwrap(), (true, true));
        }),
    );
    tr.end();
    tr.resume();
    lp.run_until_idle();
}

// ports test/parallel/test-stream-finished.js (promisified)
#[test]
fn finished_as_a_future_after_the_end_event() {
    let rs = Readable::from_iter([1, 2, 3]);
    let ended = Arc::new(Mutex::new(false));
    let e = ended.clone();
    rs.on(ev::End, move |_| *e.lock().unwrap() = true);
    rs.resume();
    futures::executor::block_on(finished(&rs)).unwrap();
    assert!(*ended.lock().unwrap());
}

// ports test/parallel/test-stream-finished.js (calling the returned function removes listeners)
#[test]
fn finished_cleanup_means_no_callback() {
    let (lp, _g) = setup();
    let ws = WriteFns::<u8>::ok().build();
    let c = fin(&ws, MustCall::never().once(|_: Result<()>| {}));
    c.cleanup();
    ws.end();
    lp.run_until_idle();
}

// ports test/parallel/test-stream-finished.js (destroyed readable/writable: premature close)
#[test]
fn finished_on_a_destroyed_stream_is_premature_close() {
    let (lp, _g) = setup();
    let w = WriteFns::<u8>::ok().build();
    w.destroy(None);
    let cb = MustCall::named("writable", 1);
    let _c = fin(
        &w,
        cb.once(|r: Result<()>| assert_eq!(r.unwrap_err().code(), ErrorCode::PrematureClose)),
    );
    let r = idle_readable::<u8>();
    r.destroy(None);
    let cb2 = MustCall::named("readable", 1);
    let _c2 = fin(
        &r,
        cb2.once(|r: Result<()>| assert_eq!(r.unwrap_err().code(), ErrorCode::PrematureClose)),
    );
    lp.run_until_idle();
}

// ports test/parallel/test-stream-finished.js (end then destroy during a write)
#[test]
fn finished_destroy_during_the_last_write_is_premature_close() {
    let (lp, _g) = setup();
    let (c, held) = held_completion();
    let first = Arc::new(Mutex::new(Some(c)));
    let w =
        WriteFns::<&str>::new(move |_| first.lock().unwrap().take().unwrap_or_else(Completion::ok)).build();
    let cb = MustCall::new(1);
    let _c = fin(
        &w,
        cb.once(|r: Result<()>| assert_eq!(r.unwrap_err().code(), ErrorCode::PrematureClose)),
    );
    w.end_chunk("asd");
    w.destroy(None);
    lp.run_until_idle();
    held.lock().unwrap().take().unwrap().ok();
    lp.run_until_idle();
}

// ports test/parallel/test-stream-finished.js (testClosed: cancelled in the same tick)
#[test]
fn finished_on_a_destroyed_stream_cancelled_at_once_never_calls() {
    let (lp, _g) = setup();
    let r = idle_readable::<u8>();
    r.destroy(None);
    let c = fin(&r, MustCall::never().once(|_: Result<()>| {}));
    c.cleanup();
    let w = WriteFns::<u8>::ok().build();
    w.destroy(None);
    let c = fin(&w, MustCall::never().once(|_: Result<()>| {}));
    c.cleanup();
    lp.run_until_idle();
}

// ports test/parallel/test-stream-finished.js (testClosed: already destroyed invokes)
#[test]
fn finished_on_an_already_destroyed_stream_is_called() {
    let (lp, _g) = setup();
    let r = idle_readable::<u8>();
    r.destroy(None);
    let cb = MustCall::new(2);
    let _c = fin(&r, cb.once(|_: Result<()>| {}));
    let w = WriteFns::<u8>::ok().build();
    w.destroy(None);
    let _c2 = fin(&w, cb.once(|_: Result<()>| {}));
    lp.run_until_idle();
}

// ports test/parallel/test-stream-finished.js (testClosed: not before _destroy completes)
#[test]
fn finished_waits_for_destroy_to_complete() {
    let (lp, _g) = setup();
    let (c, held) = held_completion();
    let c = Arc::new(Mutex::new(Some(c)));
    let destroyed = Arc::new(Mutex::new(false));
    let r = ReadFns::<u8>::idle()
        .destroy(move |_| c.lock().unwrap().take().unwrap())
        .build();
    r.destroy(None);
    let cb = MustCall::new(1);
    let d = destroyed.clone();
    let _c = fin(&r, cb.once(move |_: Result<()>| assert!(*d.lock().unwrap())));
    lp.run_until_idle();
    assert_eq!(cb.count(), 0);
    *destroyed.lock().unwrap() = true;
    held.lock().unwrap().take().unwrap().ok();
    lp.run_until_idle();
}

// ports test/parallel/test-stream-finished.js (testClosed: emitClose false)
#[test]
fn finished_is_called_even_when_close_is_not_emitted() {
    let (lp, _g) = setup();
    let slot: Arc<Mutex<Option<Readable<u8>>>> = Arc::default();
    let cb = Arc::new(MustCall::new(1));
    let (s, c2) = (slot.clone(), cb.clone());
    let r = ReadFns::<u8>::idle()
        .destroy(move |_| {
            let r = s.lock().unwrap().clone().unwrap();
            // Registered from inside _destroy, after its callback would have run in Node.
            let (c3, r2) = (c2.clone(), r.clone());
            lp_next(&r, move || {
                let _ = fin(&r2, c3.once(|_: Result<()>| {}));
            });
            Completion::ok()
        })
        .build_with(ReadableOptions::objects().emit_close(false));
    *slot.lock().unwrap() = Some(r.clone());
    r.destroy(None);
    lp.run_until_idle();
    slot.lock().unwrap().take();
    drop(r);
    let _ = Arc::try_unwrap(cb).map(drop);
}

fn lp_next<T: Send + 'static>(r: &Readable<T>, f: impl FnOnce() + Send + 'static) {
    r.event_loop().next_tick(f);
}

// ports test/parallel/test-stream-finished.js (autoDestroy false, finished after finish)
#[test]
fn finished_after_finish_without_auto_destroy() {
    let (lp, _g) = setup();
    let w = WriteFns::<&str>::ok().build_with(WritableOptions::objects().auto_destroy(false));
    w.end_chunk("asd");
    let cb = Arc::new(MustCall::new(1));
    let (w2, c) = (w.clone(), cb.clone());
    lp.next_tick(move || {
        let _ = fin(&w2, c.once(|r: Result<()>| r.unwrap()));
    });
    lp.run_until_idle();
    drop(w);
    let _ = Arc::try_unwrap(cb).map(drop);
}

// ports test/parallel/test-stream-finished.js (autoDestroy false, finished after error)
#[test]
fn finished_after_error_without_auto_destroy() {
    let (lp, _g) = setup();
    let w = WriteFns::<&str>::new(|_| Completion::err(user("x")))
        .build_with(WritableOptions::objects().auto_destroy(false));
    let cb = Arc::new(MustCall::new(1));
    let (w2, c) = (w.clone(), cb.clone());
    let error = MustCall::new(1);
    w.on(
        ev::Error,
        error.wrap(move |_| {
            let _ = fin(&w2, c.once(|r: Result<()>| assert!(r.is_err())));
        }),
    );
    w.write("asd");
    lp.run_until_idle();
    drop(w);
    let _ = Arc::try_unwrap(cb).map(drop);
}

// ports test/parallel/test-stream-finished.js (autoDestroy false, finished after end)
#[test]
fn finished_after_end_without_auto_destroy() {
    let (lp, _g) = setup();
    let r = ReadFns::<u8>::idle().build_with(ReadableOptions::objects().auto_destroy(false));
    r.push_end();
    r.resume();
    let cb = Arc::new(MustCall::new(1));
    let (r2, c) = (r.clone(), cb.clone());
    let end = MustCall::new(1);
    r.on(
        ev::End,
        end.wrap(move |_| {
            let _ = fin(&r2, c.once(|r: Result<()>| r.unwrap()));
        }),
    );
    lp.run_until_idle();
    drop(r);
    let _ = Arc::try_unwrap(cb).map(drop);
}

// ports test/parallel/test-stream-finished.js (data still buffered when destroyed)
#[test]
fn finished_destroyed_with_unread_data_is_premature_close() {
    let (lp, _g) = setup();
    let r = idle_readable::<&str>();
    let cb = MustCall::new(1);
    let _c = fin(
        &r,
        cb.once(|r: Result<()>| assert_eq!(r.unwrap_err().code(), ErrorCode::PrematureClose)),
    );
    r.push("asd");
    r.push_end();
    r.destroy(None);
    lp.run_until_idle();
}

/// A duplex whose `_final` never completes and whose `_read` ends at once.
struct NeverFinal(Arc<Mutex<Option<Callback>>>);

impl DuplexImpl<u8, u8> for NeverFinal {
    fn read(&mut self, _: usize, s: &Readable<u8>) {
        s.push_end();
    }
    fn write(&mut self, _: u8) -> Completion {
        Completion::ok()
    }
    fn finalize(&mut self) -> Option<Completion> {
        let (c, cb) = Completion::callback();
        *self.0.lock().unwrap() = Some(cb);
        Some(c)
    }
}

// ports test/parallel/test-stream-finished.js (readable side only of a duplex)
#[test]
fn finished_readable_side_only_of_a_duplex() {
    for end_first in [false, true] {
        let (lp, _g) = setup();
        let keep = Arc::new(Mutex::new(None));
        let d = Duplex::new(NeverFinal(keep.clone()));
        let end = MustCall::named("end", 1);
        d.on(ev::End, end.hit());
        if end_first {
            d.end();
        }
        let cb = MustCall::named("finished", 1);
        let _c = finished_with(
            &d,
            FinishedOptions {
                readable: Some(true),
                writable: Some(false),
                ..FinishedOptions::default()
            },
            cb.once(|r: Result<()>| r.unwrap()),
        );
        if !end_first {
            d.end();
        }
        d.resume();
        lp.run_until_idle();
        assert!(!d.writable_finished(), "the writable side never finishes");
    }
}

// ports test/parallel/test-stream-finished.js (regression 33130: a duplex reading another)
#[test]
fn finished_async_iteration_of_a_duplex_fed_by_another_stream() {
    let (lp, _g) = setup();
    let response = PassThrough::<bytes::Bytes>::passthrough_with(DuplexOptions {
        readable: ReadableOptions::bytes(),
        writable: WritableOptions::bytes(),
        ..DuplexOptions::default()
    });
    for s in ["chunk 1", "chunk 2", "chunk 3"] {
        response.write(b(s));
    }
    response.end();
    let resp = response.readable_side().clone();
    let instance = Readable::from_fn_with(
        move |_, out: &Readable<bytes::Bytes>| {
            while let Some(data) = resp.read() {
                out.push(data);
            }
        },
        ReadableOptions::bytes(),
    );
    let inst = instance.clone();
    response.once(ev::End, move |_| inst.push_end());
    let inst = instance.clone();
    let r2 = response.readable_side().clone();
    response.on(ev::Readable, move |_| {
        if r2.readable_length() > 0 {
            inst.read_size(0);
        }
    });
    drop(_g);
    drop(lp);
    let chunks = futures::executor::block_on(instance.to_array()).unwrap();
    assert_eq!(chunks.concat(), b"chunk 1chunk 2chunk 3");
}

// ports test/parallel/test-stream-finished.js (an ended passthrough never read)
#[test]
fn finished_passthrough_ended_but_never_read_does_not_settle() {
    let (lp, _g) = setup();
    let p = PassThrough::<u8>::passthrough();
    p.end();
    let _c = fin(&p, MustCall::never().once(|_: Result<()>| {}));
    lp.run_until_idle();
}

// ports test/parallel/test-stream-finished.js (error wins over premature close)
#[test]
fn finished_reports_the_error_not_premature_close() {
    let (lp, _g) = setup();
    let w = WriteFns::<u8>::ok().build();
    let cb = MustCall::new(1);
    let _c = fin(
        &w,
        cb.once(|r: Result<()>| assert_eq!(r.unwrap_err().message(), "disk")),
    );
    w.on(ev::Error, |_: &Error| {});
    w.destroy(Some(user("disk")));
    lp.run_until_idle();
}

// ports test/parallel/test-stream-finished.js (ignore errors: error: false)
#[test]
fn finished_ignoring_errors_waits_for_close() {
    let (lp, _g) = setup();
    let r = idle_readable::<u8>();
    r.on(ev::Error, |_: &Error| {});
    let cb = MustCall::new(1);
    let _c = finished_with(
        &r,
        FinishedOptions {
            ignore_errors: true,
            ..FinishedOptions::default()
        },
        cb.once(|res: Result<()>| {
            // Settled by 'close', which reports the stored error.
            assert_eq!(res.unwrap_err().message(), "bad")
        }),
    );
    r.destroy(Some(user("bad")));
    lp.run_until_idle();
}

// ports test/parallel/test-stream-finished.js (listeners left behind after settling)
#[test]
fn finished_leaves_no_listener_after_settling() {
    let (lp, _g) = setup();
    let w = WriteFns::<u8>::ok().build_with(WritableOptions::objects().auto_destroy(false));
    let before = (
        w.listener_count(ev::Finish),
        w.listener_count(ev::Error),
        w.listener_count(ev::Close),
    );
    let cb = MustCall::new(1);
    let _c = fin(&w, cb.once(|r: Result<()>| r.unwrap()));
    w.end();
    lp.run_until_idle();
    assert_eq!(
        before,
        (
            w.listener_count(ev::Finish),
            w.listener_count(ev::Error),
            w.listener_count(ev::Close)
        )
    );
}
