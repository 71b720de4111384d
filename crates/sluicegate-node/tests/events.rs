//! Typed events: prepend, once, removal during an emit, removeAllListeners, 'readable' versus
//! 'data', listener panics. Checked against node 20.
mod common;
use common::*;

// ports test/parallel/test-stream-events-prepend.js (prepend and once order)
#[test]
fn prepended_listeners_run_first_and_once_listeners_once() {
    let (lp, _g) = setup();
    let r = idle_readable::<u32>();
    let log = Log::new();
    let l = log.clone();
    r.on(ev::Data, move |x: &u32| l.push(format!("a {x}")));
    let l = log.clone();
    r.prepend_listener(ev::Data, move |x: &u32| l.push(format!("first {x}")));
    let l = log.clone();
    r.once(ev::Data, move |x: &u32| l.push(format!("once {x}")));
    r.push(1);
    r.push(2);
    lp.run_until_idle();
    assert_eq!(log.get(), ["first 1", "a 1", "once 1", "first 2", "a 2"]);
}

// ports test/parallel/test-event-emitter-remove-listeners.js (removal during an emit)
#[test]
fn a_listener_removed_during_an_emit_still_gets_that_emit() {
    let (lp, _g) = setup();
    let r = idle_readable::<u32>();
    let log = Log::new();
    let id_b = std::sync::Arc::new(std::sync::Mutex::new(None));
    let (l, r2, idb) = (log.clone(), r.clone(), id_b.clone());
    r.on(ev::Data, move |x: &u32| {
        l.push(format!("a {x}"));
        if let Some(id) = idb.lock().unwrap().take() {
            r2.off(id);
        }
    });
    let l = log.clone();
    *id_b.lock().unwrap() = Some(r.on(ev::Data, move |x: &u32| l.push(format!("b {x}"))));
    r.push(1);
    r.push(2);
    lp.run_until_idle();
    assert_eq!(log.get(), ["a 1", "b 1", "a 2"]);
}

// ports test/parallel/test-stream-readable-data.js (removeAllListeners('data') keeps flowing)
#[test]
fn remove_all_data_listeners_leaves_the_stream_flowing() {
    let (_lp, _g) = setup();
    let r = idle_readable::<u32>();
    r.on(ev::Data, |_: &u32| {});
    r.remove_all_listeners(ev::Data);
    assert_eq!(r.readable_flowing(), Some(true));
    assert_eq!(r.listener_count(ev::Data), 0);
}

// ports test/parallel/test-stream-readable-readable-then-resume.js ('readable' wins over 'data')
#[test]
fn a_readable_listener_keeps_the_stream_paused_even_with_data_listeners() {
    let (_lp, _g) = setup();
    let r = idle_readable::<u32>();
    r.on(ev::Readable, |_| {});
    assert_eq!(r.readable_flowing(), Some(false));
    r.on(ev::Data, |_: &u32| {});
    assert_eq!(r.readable_flowing(), Some(false));
}

// ports test/parallel/test-stream-events-prepend.js (close listeners)
#[test]
fn prepended_close_listener_runs_first() {
    let (lp, _g) = setup();
    let w = WriteFns::<u8>::ok().build();
    let log = Log::new();
    w.on(ev::Close, log.rec("close1"));
    w.prepend_listener(ev::Close, log.rec("close0"));
    w.end();
    lp.run_until_idle();
    assert_eq!(log.get(), ["close0", "close1"]);
}

// ports test/parallel/test-stream-readable-event.js (a panicking listener destroys the stream)
#[test]
fn a_panicking_listener_destroys_the_stream_with_a_panic_error() {
    let (lp, _g) = setup();
    let r = idle_readable::<u32>();
    r.on(ev::Data, |_: &u32| panic!("listener bug"));
    let error = MustCall::new(1);
    r.on(
        ev::Error,
        error.wrap(|e: &Error| {
            assert_eq!(e.code(), ErrorCode::Panic);
            assert_eq!(e.message(), "listener bug");
        }),
    );
    r.push(1);
    lp.run_until_idle();
    assert!(r.destroyed());
}

// ports test/parallel/test-stream-readable-data.js (listener counts per event)
#[test]
fn listener_counts_follow_on_once_and_off() {
    let (_lp, _g) = setup();
    let w = WriteFns::<u8>::ok().build();
    let a = w.on(ev::Drain, |_| {});
    let _b = w.once(ev::Drain, |_| {});
    assert_eq!(w.listener_count(ev::Drain), 2);
    assert!(w.off(a));
    assert!(!w.off(a), "a listener is removed once");
    assert_eq!(w.listener_count(ev::Drain), 1);
    w.remove_all_listeners(ev::Drain);
    assert_eq!(w.listener_count(ev::Drain), 0);
}

// ports test/parallel/test-stream-duplex.js (a duplex's events from both sides)
#[test]
fn a_duplex_emits_the_events_of_both_sides() {
    let (lp, _g) = setup();
    let d = PassThrough::<u8>::passthrough();
    let log = Log::new();
    d.on(ev::Finish, log.rec("finish"));
    d.on(ev::End, log.rec("end"));
    let l = log.clone();
    d.on(ev::Data, move |x: &u8| l.push(format!("data {x}")));
    d.on(ev::Close, log.rec("close"));
    d.write(1);
    d.end();
    lp.run_until_idle();
    // As node 20: the flush pushes the end before 'finish' is emitted.
    assert_eq!(log.get(), ["data 1", "end", "finish", "close"]);
}
