//! Readable basics: push/read, flowing and paused modes, events and their order.
mod common;
use common::*;

// ports test/parallel/test-stream-readable-data.js
#[test]
fn data_listener_added_late_still_gets_data() {
    let (lp, _g) = setup();
    let r = idle_readable::<&str>();
    let data = MustCall::new(1);
    r.push("hello");
    lp.run_until_idle();
    r.on(ev::Data, data.hit());
    lp.run_until_idle();
}

// ports test/parallel/test-stream-readable-event.js (first case)
#[test]
fn readable_event_for_data_buffered_before_listening() {
    let (lp, _g) = setup();
    let r = Readable::from_fn_with(|_, _| {}, ReadableOptions::bytes().high_water_mark(3));
    let readable = MustCall::new(1);
    r.push(b("blerg"));
    lp.run_until_idle();
    assert!(!r.state().reading);
    r.on(ev::Readable, readable.hit());
    lp.run_until_idle();
}

// ports test/parallel/test-stream-push-order.js
#[test]
fn push_order_is_kept() {
    let (lp, _g) = setup();
    let list = std::sync::Arc::new(std::sync::Mutex::new(vec!["1", "2", "3", "4", "5", "6"]));
    let l = list.clone();
    let s = Readable::from_fn_with(
        move |_, s: &Readable<bytes::Bytes>| {
            let next = l.lock().unwrap().first().copied();
            match next {
                Some(x) => {
                    l.lock().unwrap().remove(0);
                    s.push(b(x));
                }
                None => s.push_end(),
            }
        },
        ReadableOptions::bytes().high_water_mark(10),
    );
    let got = Collected::new();
    let g = got.clone();
    s.on(ev::Data, move |c: &bytes::Bytes| {
        g.push(String::from_utf8(c.to_vec()).unwrap())
    });
    lp.run_until_idle();
    assert_eq!(got.get().concat(), "123456");
}

#[test]
fn from_iter_flows_data_then_end_then_close() {
    let (lp, _g) = setup();
    let log = Log::new();
    let r = Readable::from_iter([1u32, 2, 3]);
    let l = log.clone();
    r.on(ev::Data, move |x: &u32| l.push(format!("data {x}")));
    r.on(ev::End, log.rec("end"));
    r.on(ev::Close, log.rec("close"));
    lp.run_until_idle();
    assert_eq!(log.get(), ["data 1", "data 2", "data 3", "end", "close"]);
    assert!(r.destroyed());
    assert!(r.readable_ended());
}

#[test]
fn byte_mode_read_n_splits_and_joins() {
    let (lp, _g) = setup();
    let r = idle_bytes();
    r.push(b("abc"));
    r.push(b("def"));
    lp.run_until_idle();
    assert_eq!(r.readable_length(), 6);
    assert_eq!(r.read_size(2).unwrap(), "ab");
    assert_eq!(r.read_size(3).unwrap(), "cde");
    assert_eq!(r.read_size(2), None, "only 1 byte buffered and not ended");
    r.push_end();
    assert_eq!(r.read_size(2).unwrap(), "f", "at the end, the rest");
}

#[test]
fn push_after_eof_is_a_typed_error() {
    let (lp, _g) = setup();
    let r = idle_readable::<u8>();
    let err = MustCall::new(1);
    r.on(
        ev::Error,
        err.wrap(|e: &Error| assert_eq!(e.code(), ErrorCode::PushAfterEof)),
    );
    r.push_end();
    assert!(!r.push(1));
    lp.run_until_idle();
}
