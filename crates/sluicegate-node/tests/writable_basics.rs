//! Writable: write/end/drain/finish, cork/writev, misuse errors.
mod common;
use common::*;
use std::sync::{Arc, Mutex};

// ports test/parallel/test-stream-writable-write-writev-finish.js (order of events)
#[test]
fn prefinish_finish_close_in_order() {
    let (lp, _g) = setup();
    let log = Log::new();
    let (w, got) = collecting_writable::<u32>();
    w.on(ev::Prefinish, log.rec("prefinish"));
    w.on(ev::Finish, log.rec("finish"));
    w.on(ev::Close, log.rec("close"));
    w.write(1);
    w.end();
    log.push("sync-done");
    lp.run_until_idle();
    // Without `_final`, Node emits 'prefinish' inside end(); 'finish' comes a tick later.
    assert_eq!(log.get(), ["prefinish", "sync-done", "finish", "close"]);
    assert_eq!(got.get(), [1]);
}

// ports test/parallel/test-stream-write-drain.js
#[test]
fn write_returns_false_at_hwm_and_drain_is_never_synchronous() {
    let (lp, _g) = setup();
    let pending = Arc::new(Mutex::new(Vec::<Callback>::new()));
    let p = pending.clone();
    let w = Writable::from_fn_with(
        move |_c: u32| {
            let (c, cb) = Completion::callback();
            p.lock().unwrap().push(cb);
            c
        },
        WritableOptions::objects().high_water_mark(2),
    );
    let drain = MustCall::new(1);
    w.on(ev::Drain, drain.hit());
    assert!(w.write(1));
    assert!(!w.write(2));
    assert!(w.writable_need_drain());
    assert_eq!(w.writable_length(), 2);
    // Complete the writes one by one: the second is written only after the first.
    let cb = pending.lock().unwrap().remove(0);
    cb.ok();
    assert_eq!(w.writable_length(), 1);
    assert_eq!(pending.lock().unwrap().len(), 1);
    assert_eq!(drain.count(), 0, "not before the buffer is empty");
    let cb = pending.lock().unwrap().remove(0);
    // As in Node, a callback called asynchronously (outside `_write`) runs afterWrite at once:
    // 'drain' is emitted from inside it, never from inside write().
    cb.ok();
    assert_eq!(drain.count(), 1);
    lp.run_until_idle();
    assert!(!w.writable_need_drain());
}

// ports test/parallel/test-stream-writable-write-error.js (write after end)
#[test]
fn write_after_end_is_a_typed_error_on_callback_and_event() {
    let (lp, _g) = setup();
    let (w, _) = collecting_writable::<u32>();
    let cb = MustCall::new(1);
    let err = MustCall::new(1);
    w.on(
        ev::Error,
        err.wrap(|e: &Error| assert_eq!(e.code(), ErrorCode::WriteAfterEnd)),
    );
    w.end();
    assert!(!w.write_with(
        1,
        cb.once(|r: Result<()>| assert_eq!(r.unwrap_err().code(), ErrorCode::WriteAfterEnd))
    ));
    lp.run_until_idle();
}

// ports test/parallel/test-stream-writev.js
#[test]
fn corked_writes_reach_writev_in_one_call() {
    struct V(Arc<Mutex<Vec<Vec<u32>>>>);
    impl WriteImpl<u32> for V {
        fn write(&mut self, c: u32) -> Completion {
            self.0.lock().unwrap().push(vec![c]);
            Completion::ok()
        }
        fn writev(&mut self, chunks: &mut Vec<u32>) -> Option<Completion> {
            self.0.lock().unwrap().push(std::mem::take(chunks));
            Some(Completion::ok())
        }
    }
    let (lp, _g) = setup();
    let calls = Arc::new(Mutex::new(Vec::new()));
    let w = Writable::new(V(calls.clone()));
    let cbs = MustCall::new(3);
    w.cork();
    for i in 0..3 {
        w.write_with(i, cbs.once(|r: Result<()>| r.unwrap()));
    }
    assert!(calls.lock().unwrap().is_empty());
    w.uncork();
    lp.run_until_idle();
    assert_eq!(*calls.lock().unwrap(), vec![vec![0, 1, 2]]);
}

// ports test/parallel/test-stream-writable-final-async.js
#[test]
fn final_runs_before_finish() {
    struct F(Log);
    impl WriteImpl<u32> for F {
        fn write(&mut self, _c: u32) -> Completion {
            Completion::ok()
        }
        fn finalize(&mut self) -> Option<Completion> {
            self.0.push("final");
            Some(Completion::future(async { Ok(()) }))
        }
    }
    let (lp, _g) = setup();
    let log = Log::new();
    let w = Writable::new(F(log.clone()));
    w.on(ev::Prefinish, log.rec("prefinish"));
    w.on(ev::Finish, log.rec("finish"));
    w.end();
    lp.run_until_idle();
    assert_eq!(log.get(), ["final", "prefinish", "finish"]);
}

// ports test/parallel/test-stream-writable-destroy.js (destroy with error)
#[test]
fn destroy_with_error_emits_error_then_close_once() {
    let (lp, _g) = setup();
    let log = Log::new();
    let (w, _) = collecting_writable::<u32>();
    let l = log.clone();
    w.on(ev::Error, move |e: &Error| {
        l.push(format!("error {}", e.message()))
    });
    w.on(ev::Close, log.rec("close"));
    w.destroy(Some(user("kaboom")));
    w.destroy(Some(user("again")));
    lp.run_until_idle();
    assert_eq!(log.get(), ["error kaboom", "close"]);
    assert!(w.destroyed());
}

// ports test/parallel/test-stream-writable-write-cb-error.js (write after destroy)
#[test]
fn write_after_destroy_fails_with_destroyed() {
    let (lp, _g) = setup();
    let (w, _) = collecting_writable::<u32>();
    w.destroy(None);
    let cb = MustCall::new(1);
    w.write_with(
        1,
        cb.once(|r: Result<()>| assert_eq!(r.unwrap_err().code(), ErrorCode::Destroyed)),
    );
    lp.run_until_idle();
}
