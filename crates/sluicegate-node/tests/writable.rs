//! Writable: _writev batches, callback and event order, drain, _final, errors, properties.
//! Event orders checked against node 20.
mod common;
use common::*;

use std::sync::{Arc, Mutex};

// ports test/parallel/test-stream-writev.js (corked writes reach _writev in one call)
#[test]
fn corked_writes_reach_writev_in_one_call() {
    let (lp, _g) = setup();
    let log = Log::new();
    let (l1, l2) = (log.clone(), log.clone());
    let w = WriteFns::<u32>::new(move |c| {
        l1.push(format!("write {c}"));
        Completion::ok()
    })
    .writev(move |chunks| {
        l2.push(format!(
            "writev {}",
            chunks.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
        ));
        chunks.clear();
        Some(Completion::ok())
    })
    .build_with(WritableOptions::objects().high_water_mark(100));
    w.cork();
    w.write_with(1, {
        let l = log.clone();
        move |_| l.push("cb1")
    });
    w.write_with(2, {
        let l = log.clone();
        move |_| l.push("cb2")
    });
    w.write(3);
    let w2 = w.clone();
    lp.next_tick(move || w2.uncork());
    w.on(ev::Finish, log.rec("finish"));
    lp.run_until_idle();
    w.end();
    lp.run_until_idle();
    assert_eq!(log.get(), ["writev 1,2,3", "cb1", "cb2", "finish"]);
}

// ports test/parallel/test-stream-writev.js (without _writev, corked writes go one by one)
#[test]
fn corked_writes_without_writev_go_one_by_one() {
    let (lp, _g) = setup();
    let (w, got) = collecting_writable::<u32>();
    w.cork();
    for i in 0..5 {
        w.write(i);
    }
    assert!(got.get().is_empty());
    w.uncork();
    lp.run_until_idle();
    assert_eq!(got.get(), [0, 1, 2, 3, 4]);
}

// ports test/parallel/test-stream2-writable.js (write callbacks, _final, end callback order)
#[test]
fn write_callbacks_final_prefinish_end_callback_finish_close() {
    let (lp, _g) = setup();
    let log = Log::new();
    let (l1, l2, lp2) = (log.clone(), log.clone(), lp.clone());
    let w = WriteFns::<u32>::new(move |c| {
        l1.push(format!("write {c}"));
        next_tick_completion(&lp2, Ok(()))
    })
    .finalize(move || {
        l2.push("final");
        Some(Completion::ok())
    })
    .build();
    for e in ["drain", "prefinish", "finish", "close"] {
        match e {
            "drain" => w.on(ev::Drain, log.rec("drain")),
            "prefinish" => w.on(ev::Prefinish, log.rec("prefinish")),
            "finish" => w.on(ev::Finish, log.rec("finish")),
            _ => w.on(ev::Close, log.rec("close")),
        };
    }
    let l = log.clone();
    w.write_with(1, move |_| l.push("cb1"));
    let l = log.clone();
    w.write_with(2, move |_| l.push("cb2"));
    let l = log.clone();
    w.end_with(move |_| l.push("endcb"));
    lp.run_until_idle();
    assert_eq!(
        log.get(),
        [
            "write 1",
            "write 2",
            "cb1",
            "cb2",
            "final",
            "prefinish",
            "endcb",
            "finish",
            "close"
        ]
    );
}

// ports test/parallel/test-stream-writable-needdrain-state.js
#[test]
fn need_drain_is_set_by_a_full_write_and_cleared_before_drain() {
    let (lp, _g) = setup();
    let lp2 = lp.clone();
    let w = WriteFns::<u32>::new(move |_| next_tick_completion(&lp2, Ok(())))
        .build_with(WritableOptions::objects().high_water_mark(1));
    assert!(!w.write(1));
    assert!(w.writable_need_drain());
    let drain = MustCall::new(1);
    let w2 = w.clone();
    w.on(ev::Drain, drain.wrap(move |_| assert!(!w2.writable_need_drain())));
    lp.run_until_idle();
}

// ports test/parallel/test-stream-write-drain.js (a synchronous write below the mark)
#[test]
fn a_synchronous_write_returns_true_and_emits_no_drain() {
    let (lp, _g) = setup();
    let w = WriteFns::<u32>::ok().build_with(WritableOptions::objects().high_water_mark(1));
    w.on(ev::Drain, MustCall::never().hit());
    assert!(w.write(1), "the synchronous _write already emptied the buffer");
    lp.run_until_idle();
}

// ports test/parallel/test-stream-writable-final-async.js
#[test]
fn an_asynchronous_final_delays_prefinish_and_finish() {
    let (lp, _g) = setup();
    let log = Log::new();
    let (l, lp2) = (log.clone(), lp.clone());
    let w = WriteFns::<&str>::ok()
        .finalize(move || {
            l.push("final");
            let (c, cb) = Completion::callback();
            let l2 = l.clone();
            lp2.next_tick(move || {
                l2.push("final done");
                cb.ok();
            });
            Some(c)
        })
        .build();
    w.on(ev::Prefinish, log.rec("prefinish"));
    w.on(ev::Finish, log.rec("finish"));
    w.on(ev::Close, log.rec("close"));
    w.end_chunk("x");
    lp.run_until_idle();
    assert_eq!(log.get(), ["final", "final done", "prefinish", "finish", "close"]);
}

// ports test/parallel/test-stream-writable-final-throw.js (a failing _final)
#[test]
fn a_failing_final_errors_instead_of_finishing() {
    let (lp, _g) = setup();
    let log = Log::new();
    let w = WriteFns::<&str>::ok()
        .finalize(|| Some(Completion::err(user("f"))))
        .build();
    w.on(ev::Prefinish, log.rec("prefinish"));
    w.on(ev::Finish, log.rec("finish"));
    w.on(ev::Close, log.rec("close"));
    let l = log.clone();
    w.on(ev::Error, move |e: &Error| {
        l.push(format!("error {}", e.message()))
    });
    w.end_with(|_| {});
    lp.run_until_idle();
    assert_eq!(log.get(), ["error f", "close"]);
}

// ports test/parallel/test-stream-writable-final-throw.js (a panicking _final)
#[test]
fn a_panicking_final_is_an_error_not_an_unwind() {
    let (lp, _g) = setup();
    let w = WriteFns::<&str>::ok()
        .finalize(|| panic!("final blew up"))
        .build();
    let error = MustCall::new(1);
    w.on(
        ev::Error,
        error.wrap(|e: &Error| {
            assert_eq!(e.code(), ErrorCode::Panic);
            assert_eq!(e.message(), "final blew up");
        }),
    );
    w.end();
    lp.run_until_idle();
}

// ports test/parallel/test-stream-writable-write-error.js (synchronous write error order)
#[test]
fn a_synchronous_write_error_calls_back_then_errors_then_closes() {
    let (lp, _g) = setup();
    let log = Log::new();
    let w = WriteFns::<&str>::new(|_| Completion::err(user("w"))).build();
    let l = log.clone();
    w.on(ev::Error, move |e: &Error| {
        l.push(format!("error {}", e.message()))
    });
    w.on(ev::Close, log.rec("close"));
    let l = log.clone();
    let ret = w.write_with("a", move |r| l.push(format!("cb {}", r.unwrap_err().message())));
    log.push(format!("ret {ret}"));
    log.push("sync");
    lp.run_until_idle();
    assert_eq!(log.get(), ["ret false", "sync", "cb w", "error w", "close"]);
}

// ports test/parallel/test-stream-writable-end-cb-error.js
#[test]
fn end_callback_gets_the_write_error_before_the_error_event() {
    let (lp, _g) = setup();
    let log = Log::new();
    let w = WriteFns::<&str>::new(|_| Completion::err(user("w"))).build();
    let l = log.clone();
    w.on(ev::Error, move |e: &Error| {
        l.push(format!("error {}", e.message()))
    });
    w.write("a");
    let l = log.clone();
    w.end_with(move |r| l.push(format!("endcb {}", r.unwrap_err().message())));
    lp.run_until_idle();
    assert_eq!(log.get(), ["endcb w", "error w"]);
}

// ports test/parallel/test-stream-writable-properties.js
#[test]
fn writable_properties() {
    let (_lp, _g) = setup();
    // A sink whose writes never complete (their callbacks are kept, not dropped).
    let kept: Arc<Mutex<Vec<Callback>>> = Arc::default();
    let k = kept.clone();
    let w = WriteFns::<bytes::Bytes>::new(move |_| {
        let (c, cb) = Completion::callback();
        k.lock().unwrap().push(cb);
        c
    })
    .build_with(WritableOptions::bytes().high_water_mark(5));
    assert_eq!(w.writable_high_water_mark(), 5);
    assert_eq!(w.writable_length(), 0);
    assert!(!w.writable_object_mode());
    assert_eq!(w.writable_corked(), 0);
    assert!(w.writable());
    w.write(b("ab"));
    w.write(b("cde"));
    assert_eq!(w.writable_length(), 5);
    assert!(w.writable_need_drain());
}

// ports test/parallel/test-stream-writable-clear-buffer.js
#[test]
fn buffered_writes_are_written_in_order_as_each_completes() {
    let (lp, _g) = setup();
    let lp2 = lp.clone();
    let got = Collected::new();
    let g = got.clone();
    let w = WriteFns::<u32>::new(move |c| {
        g.push(c);
        next_tick_completion(&lp2, Ok(()))
    })
    .build_with(WritableOptions::objects().high_water_mark(3));
    let cbs = MustCall::new(10);
    for i in 0..10 {
        w.write_with(i, cbs.once(|r: Result<()>| r.unwrap()));
    }
    assert_eq!(w.writable_buffered(), 9);
    lp.run_until_idle();
    assert_eq!(got.get(), (0..10).collect::<Vec<_>>());
    assert_eq!(w.writable_length(), 0);
}

// ports test/parallel/test-stream-writable-write-writev-finish.js (finish after writev error)
#[test]
fn a_failing_writev_errors_and_fails_every_batched_callback() {
    let (lp, _g) = setup();
    let w = WriteFns::<u32>::ok()
        .writev(|_| Some(Completion::err(user("batch"))))
        .build();
    w.on(ev::Finish, MustCall::never().hit());
    let error = MustCall::new(1);
    w.on(
        ev::Error,
        error.wrap(|e: &Error| assert_eq!(e.message(), "batch")),
    );
    let cbs = MustCall::new(2);
    w.cork();
    w.write_with(1, cbs.once(|r: Result<()>| assert!(r.is_err())));
    w.write_with(2, cbs.once(|r: Result<()>| assert!(r.is_err())));
    w.uncork();
    w.end();
    lp.run_until_idle();
}

// ports test/parallel/test-stream-writable-constructor-set-methods.js (the implementor's methods)
#[test]
fn implementor_write_writev_final_are_all_used() {
    let (lp, _g) = setup();
    let counts = Arc::new(Mutex::new((0, 0, 0)));
    let (c1, c2, c3) = (counts.clone(), counts.clone(), counts.clone());
    let w = WriteFns::<u8>::new(move |_| {
        c1.lock().unwrap().0 += 1;
        Completion::ok()
    })
    .writev(move |chunks| {
        c2.lock().unwrap().1 += 1;
        chunks.clear();
        Some(Completion::ok())
    })
    .finalize(move || {
        c3.lock().unwrap().2 += 1;
        Some(Completion::ok())
    })
    .build();
    w.write(1);
    w.cork();
    w.write(2);
    w.write(3);
    w.uncork();
    w.end();
    lp.run_until_idle();
    assert_eq!(*counts.lock().unwrap(), (1, 1, 1));
}

// ports test/parallel/test-stream-writable-ended-state.js (end(chunk))
#[test]
fn end_with_a_chunk_writes_it_first() {
    let (lp, _g) = setup();
    let (w, got) = collecting_writable::<&str>();
    w.write("a");
    w.end_chunk("b");
    assert!(w.writable_ended());
    lp.run_until_idle();
    assert_eq!(got.get(), ["a", "b"]);
    assert!(w.writable_finished());
}

// ports test/parallel/test-stream-writable-finish-destroyed.js
#[test]
fn no_finish_after_destroy_during_the_last_write() {
    let (lp, _g) = setup();
    let (c, held) = held_completion();
    let slot = Arc::new(Mutex::new(Some(c)));
    let w = WriteFns::<u8>::new(move |_| slot.lock().unwrap().take().unwrap_or_else(Completion::ok)).build();
    w.on(ev::Finish, MustCall::never().hit());
    let close = MustCall::new(1);
    w.on(ev::Close, close.hit());
    w.write(1);
    w.end();
    w.destroy(None);
    held.lock().unwrap().take().unwrap().ok();
    lp.run_until_idle();
}

// ports test/parallel/test-stream-writable-write-cb-twice.js (a callback cannot complete twice)
#[test]
fn a_write_completion_is_used_once() {
    let (lp, _g) = setup();
    let (w, got) = collecting_writable::<u8>();
    let cb = MustCall::new(1);
    w.write_with(1, cb.once(|r: Result<()>| r.unwrap()));
    lp.run_until_idle();
    assert_eq!(got.get(), [1]);
}

// ports test/parallel/test-stream2-writable.js (write after end: typed error, callback and event)
#[test]
fn write_after_end_fails_the_callback_and_errors_the_stream() {
    let (lp, _g) = setup();
    let (w, got) = collecting_writable::<u8>();
    w.end();
    let (cb, error) = (MustCall::named("cb", 1), MustCall::named("error", 1));
    w.on(
        ev::Error,
        error.wrap(|e: &Error| assert_eq!(e.code(), ErrorCode::WriteAfterEnd)),
    );
    assert!(!w.write_with(
        1,
        cb.once(|r: Result<()>| assert_eq!(r.unwrap_err().code(), ErrorCode::WriteAfterEnd))
    ));
    lp.run_until_idle();
    assert!(got.get().is_empty());
}

// ports test/parallel/test-stream2-writable.js (writes above the mark buffer and drain once)
#[test]
fn many_writes_above_the_mark_then_one_drain() {
    let (lp, _g) = setup();
    let lp2 = lp.clone();
    let w = WriteFns::<u32>::new(move |_| next_tick_completion(&lp2, Ok(())))
        .build_with(WritableOptions::objects().high_water_mark(4));
    let returns: Vec<bool> = (0..8).map(|i| w.write(i)).collect();
    assert_eq!(returns, [true, true, true, false, false, false, false, false]);
    let drain = MustCall::new(1);
    w.on(ev::Drain, drain.hit());
    lp.run_until_idle();
    assert_eq!(w.writable_length(), 0);
}

// ports test/parallel/test-stream-writable-construct.js (writes wait for construction)
#[test]
fn writes_wait_for_construct() {
    let (lp, _g) = setup();
    let (c, held) = held_completion();
    let slot = Arc::new(Mutex::new(Some(c)));
    let got = Collected::new();
    let g = got.clone();
    let w = WriteFns::<u8>::new(move |x| {
        g.push(x);
        Completion::ok()
    })
    .construct(move || slot.lock().unwrap().take())
    .build();
    w.write(1);
    w.write(2);
    lp.run_until_idle();
    assert!(
        got.get().is_empty(),
        "nothing written before construction completes"
    );
    held.lock().unwrap().take().unwrap().ok();
    lp.run_until_idle();
    assert_eq!(got.get(), [1, 2]);
}

// ports test/parallel/test-stream-writable-construct.js (a failing construct)
#[test]
fn a_failing_construct_destroys_the_writable() {
    let (lp, _g) = setup();
    let w = WriteFns::<u8>::ok()
        .construct(|| Some(Completion::err(user("no fd"))))
        .build();
    let error = MustCall::new(1);
    w.on(
        ev::Error,
        error.wrap(|e: &Error| assert_eq!(e.message(), "no fd")),
    );
    w.write(1);
    lp.run_until_idle();
    assert!(w.destroyed());
}

// Node's clearBuffer keeps the entries it hands to _write in its buffer until its loop is over,
// so an ended stream whose corked writes complete synchronously inside uncork() does not call
// _final there: finishMaybe runs from the writes' afterWrite tick (found by
// tests/differential.rs against Node.js).
#[test]
fn final_waits_for_the_tick_after_an_uncork_that_writes_synchronously() {
    let (lp, _g) = setup();
    let log = Log::new();
    let (l, lf) = (log.clone(), log.clone());
    let held = Arc::new(Mutex::new(Vec::new()));
    let h = held.clone();
    let w = WriteFns::new(move |x: u32| {
        l.push(format!("write {x}"));
        if x == 1 {
            // The first write stays in flight until the test completes it.
            let (done, callback) = Completion::callback();
            h.lock().unwrap().push(callback);
            done
        } else {
            Completion::ok()
        }
    })
    .finalize(move || {
        lf.push("final");
        Some(Completion::ok())
    })
    .build();
    w.cork();
    w.write(1);
    w.write(2);
    w.end_chunk(3);
    w.cork();
    held.lock().unwrap().pop().unwrap().ok();
    lp.run_until_idle();
    assert_eq!(log.take(), ["write 1"]);
    w.uncork();
    assert_eq!(log.take(), ["write 2", "write 3"], "no _final inside uncork()");
    lp.run_until_idle();
    assert_eq!(log.take(), ["final"]);
}

// end(chunk) on a destroyed writable: the write fails at once, and Node's end() then does
// nothing more, so the stream never counts as ended and finished() reports a premature close
// (found by tests/differential.rs against Node.js).
#[test]
fn end_with_a_chunk_on_a_destroyed_writable_does_not_end_it() {
    let (lp, _g) = setup();
    let (w, got) = collecting_writable::<u32>();
    w.destroy(None);
    lp.run_until_idle();
    w.end_chunk(1);
    assert!(!w.writable_ended());
    let log = Log::new();
    let l = log.clone();
    let _listening = finished_with(&w, FinishedOptions::default(), move |r| {
        l.push(r.map_or_else(|e| e.code().as_str().to_string(), |()| "ok".to_string()))
    });
    lp.run_until_idle();
    assert_eq!(log.get(), ["ERR_STREAM_PREMATURE_CLOSE"]);
    assert!(got.get().is_empty());
}

// A writable that errors by itself (autoDestroy) runs Writable.prototype.destroy as Node's
// errorOrDestroy does: a pending end() callback gets the error (found by tests/differential.rs
// against Node.js).
#[test]
fn an_end_callback_gets_the_error_of_a_write_after_end() {
    let (lp, _g) = setup();
    let (w, _) = collecting_writable::<u32>();
    w.on(ev::Error, |_: &Error| {});
    let log = Log::new();
    let l = log.clone();
    w.end_with(move |r| l.push(r.map_or_else(|e| e.code().as_str().to_string(), |()| "ok".into())));
    assert!(!w.write(1));
    lp.run_until_idle();
    assert_eq!(log.get(), ["ERR_STREAM_WRITE_AFTER_END"]);
}
