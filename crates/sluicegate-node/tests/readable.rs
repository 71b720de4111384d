//! Readable: 'readable' and read(), needReadable, pause/resume state and events, high-water
//! mark 0, unshift, end and close order. Orders checked against node 20.
mod common;
use common::*;

use std::sync::{Arc, Mutex};

use bytes::Bytes;

fn text(b: &Bytes) -> String {
    String::from_utf8(b.to_vec()).unwrap()
}

// ports test/parallel/test-stream-readable-event.js (read everything in 'readable')
#[test]
fn readable_listener_reads_everything_each_time() {
    let (lp, _g) = setup();
    let r = idle_readable::<u32>();
    let log = Log::new();
    let (l, r2) = (log.clone(), r.clone());
    r.on(ev::Readable, move |_| {
        l.push("readable");
        while let Some(c) = r2.read() {
            l.push(format!("read {c}"));
        }
    });
    r.on(ev::End, log.rec("end"));
    r.push(1);
    r.push(2);
    log.push("pushed");
    let r3 = r.clone();
    lp.next_tick(move || {
        r3.push(3);
        r3.push_end();
    });
    lp.run_until_idle();
    assert_eq!(
        log.get(),
        ["pushed", "readable", "read 1", "read 2", "readable", "read 3", "readable", "end"]
    );
}

// ports test/parallel/test-stream-big-push.js
#[test]
fn a_push_over_the_mark_is_read_whole() {
    let (lp, _g) = setup();
    let reads = Arc::new(Mutex::new(0));
    let rd = reads.clone();
    let r = Readable::from_fn_with(
        move |_, s: &Readable<Bytes>| {
            let mut n = rd.lock().unwrap();
            *n += 1;
            match *n {
                1 => {
                    s.push(b("asdf"));
                    s.push(b("asdf"));
                }
                2 => s.push_end(),
                _ => {}
            }
        },
        ReadableOptions::bytes()
            .high_water_mark(5)
            .encoding(Encoding::Utf8),
    );
    let log = Log::new();
    let (l, r2) = (log.clone(), r.clone());
    r.on(ev::Readable, move |_| {
        l.push(format!(
            "readable {}",
            r2.read().map_or("null".into(), |b| text(&b))
        ))
    });
    let (l, rd) = (log.clone(), reads.clone());
    r.on(ev::End, move |_| {
        l.push(format!("end reads {}", rd.lock().unwrap()))
    });
    lp.run_until_idle();
    assert_eq!(log.get(), ["readable asdfasdf", "readable null", "end reads 2"]);
}

// ports test/parallel/test-stream-readable-needReadable.js
#[test]
fn need_readable_follows_listening_and_pushing() {
    let (lp, _g) = setup();
    let r = idle_bytes();
    assert!(!r.state().need_readable);
    let log = Log::new();
    let (l, r2) = (log.clone(), r.clone());
    r.on(ev::Readable, move |_| {
        l.push(format!("readable nr {}", r2.state().need_readable));
        r2.read();
    });
    assert!(r.state().need_readable);
    r.push(b("x"));
    assert!(!r.state().need_readable);
    lp.run_until_idle();
    assert_eq!(log.get(), ["readable nr true"]);
}

// ports test/parallel/test-stream-readable-pause-and-resume.js (state and events)
#[test]
fn pause_is_emitted_at_once_and_resume_on_the_next_tick() {
    let (lp, _g) = setup();
    let r = idle_readable::<u8>();
    assert_eq!((r.readable_flowing(), r.is_paused()), (None, false));
    r.pause();
    assert_eq!((r.readable_flowing(), r.is_paused()), (Some(false), true));
    r.resume();
    assert_eq!((r.readable_flowing(), r.is_paused()), (Some(true), false));
    let log = Log::new();
    r.on(ev::Resume, log.rec("resume event"));
    r.on(ev::Pause, log.rec("pause event"));
    r.pause();
    log.push("paused sync");
    lp.run_until_idle();
    assert_eq!(log.get(), ["pause event", "paused sync", "resume event"]);
}

// ports test/parallel/test-stream-readable-hwm-0.js (flowing with highWaterMark 0)
#[test]
fn high_water_mark_zero_still_flows() {
    let (lp, _g) = setup();
    let n = Arc::new(Mutex::new(0));
    let r = Readable::from_fn_with(
        move |_, s: &Readable<u32>| {
            let mut n = n.lock().unwrap();
            *n += 1;
            if *n <= 3 {
                s.push(*n);
            } else {
                s.push_end();
            }
        },
        ReadableOptions::objects().high_water_mark(0),
    );
    let log = Log::new();
    let l = log.clone();
    r.on(ev::Data, move |x: &u32| l.push(format!("data {x}")));
    r.on(ev::End, log.rec("end"));
    lp.run_until_idle();
    assert_eq!(log.get(), ["data 1", "data 2", "data 3", "end"]);
}

// ports test/parallel/test-stream-readable-event.js (readable once, end after reads)
#[test]
fn one_readable_for_data_and_end_pushed_together() {
    let (lp, _g) = setup();
    let r = idle_readable::<u32>();
    let log = Log::new();
    let (l, r2) = (log.clone(), r.clone());
    r.on(ev::Readable, move |_| {
        l.push(format!("readable len {}", r2.readable_length()))
    });
    r.push(1);
    r.push(2);
    r.push_end();
    r.on(ev::End, log.rec("end"));
    let (l, r3) = (log.clone(), r.clone());
    lp.next_tick(move || {
        l.push("tick");
        let got: Vec<String> = (0..3)
            .map(|_| r3.read().map_or("null".into(), |x| x.to_string()))
            .collect();
        l.push(format!("r {}", got.join(" ")));
    });
    lp.run_until_idle();
    assert_eq!(log.get(), ["readable len 2", "tick", "r 1 2 null", "end"]);
}

// ports test/parallel/test-stream-readable-unshift.js (order)
#[test]
fn unshift_goes_before_buffered_and_pushed_after() {
    let (_lp, _g) = setup();
    let r = idle_readable::<u32>();
    r.push(2);
    r.unshift(1);
    r.push(3);
    assert_eq!((r.read(), r.read(), r.read()), (Some(1), Some(2), Some(3)));
}

// ports test/parallel/test-stream-readable-end-destroyed.js / test-stream2-basic.js (data, end, close)
#[test]
fn data_then_end_then_close_after_the_current_operation() {
    let (lp, _g) = setup();
    let r = idle_readable::<u32>();
    r.push(1);
    r.push_end();
    let log = Log::new();
    let l = log.clone();
    r.on(ev::Data, move |x: &u32| l.push(format!("data {x}")));
    r.on(ev::End, log.rec("end"));
    r.on(ev::Close, log.rec("close"));
    log.push("sync");
    lp.run_until_idle();
    assert_eq!(log.get(), ["sync", "data 1", "end", "close"]);
}

// ports test/parallel/test-stream-readable-didRead.js
#[test]
fn readable_did_read_after_the_first_read() {
    let (_lp, _g) = setup();
    let r = idle_readable::<u32>();
    assert!(!r.readable_did_read());
    r.push(1);
    r.read();
    assert!(r.readable_did_read());
}

// ports test/parallel/test-stream-readable-end-destroyed.js
#[test]
fn destroyed_while_ending_emits_close_but_no_end() {
    let (lp, _g) = setup();
    let r = idle_readable::<u32>();
    r.push(1);
    r.push_end();
    let log = Log::new();
    r.on(ev::End, log.rec("end"));
    r.on(ev::Close, log.rec("close"));
    r.resume();
    r.destroy(None);
    lp.run_until_idle();
    assert_eq!(log.get(), ["close"]);
}

// ports test/parallel/test-stream2-readable-from-list.js (read(n) over many chunks)
#[test]
fn read_n_joins_and_splits_across_many_chunks() {
    let (_lp, _g) = setup();
    let r = Readable::from_fn_with(
        |_, _: &Readable<Bytes>| {},
        ReadableOptions::bytes().high_water_mark(1024),
    );
    for s in ["foog", "bark", "bazy", "kuel"] {
        r.push(b(s));
    }
    assert_eq!(text(&r.read_size(6).unwrap()), "foogba");
    assert_eq!(text(&r.read_size(2).unwrap()), "rk");
    assert_eq!(text(&r.read_size(5).unwrap()), "bazyk");
    assert_eq!(text(&r.read_size(3).unwrap()), "uel");
    assert_eq!(r.readable_length(), 0);
}

// ports test/parallel/test-stream2-readable-empty-buffer-no-eof.js (empty pushes are not EOF)
#[test]
fn an_empty_push_is_not_the_end() {
    let (lp, _g) = setup();
    let step = Arc::new(Mutex::new(0));
    let r = Readable::from_fn_with(
        move |_, s: &Readable<Bytes>| {
            let mut n = step.lock().unwrap();
            *n += 1;
            match *n {
                1 => {
                    s.push(Bytes::new());
                }
                2 => {
                    s.push(b("x"));
                }
                _ => s.push_end(),
            }
        },
        ReadableOptions::bytes(),
    );
    let got = Collected::new();
    let g = got.clone();
    r.on(ev::Data, move |c: &Bytes| g.push(text(c)));
    let end = MustCall::new(1);
    r.on(ev::End, end.hit());
    lp.run_until_idle();
    assert_eq!(got.get(), ["x"]);
}

// ports test/parallel/test-stream-readable-add-chunk-during-data.js
#[test]
fn a_chunk_added_during_data_is_delivered_next() {
    let (lp, _g) = setup();
    let r = idle_readable::<u32>();
    let got = Collected::new();
    let (g, r2) = (got.clone(), r.clone());
    r.on(ev::Data, move |x: &u32| {
        g.push(*x);
        if *x == 1 {
            r2.unshift(10);
            r2.push(2);
        }
    });
    r.push(1);
    lp.run_until_idle();
    assert_eq!(got.get(), [1, 10, 2]);
}

// ports test/parallel/test-stream-readable-object-multi-push-async.js
#[test]
fn object_mode_multiple_pushes_from_async_reads() {
    let (lp, _g) = setup();
    let lp2 = lp.clone();
    let next = Arc::new(Mutex::new(0u32));
    let r = Readable::from_fn_with(
        move |_, s: &Readable<u32>| {
            let (s, n, lp3) = (s.clone(), next.clone(), lp2.clone());
            lp2.next_tick(move || {
                let mut i = n.lock().unwrap();
                if *i >= 20 {
                    s.push_end();
                    return;
                }
                for _ in 0..5 {
                    *i += 1;
                    s.push(*i);
                }
                let _ = lp3;
            });
        },
        ReadableOptions::objects().high_water_mark(8),
    );
    let got = Collected::new();
    let g = got.clone();
    r.on(ev::Data, move |x: &u32| g.push(*x));
    let end = MustCall::new(1);
    r.on(ev::End, end.hit());
    lp.run_until_idle();
    assert_eq!(got.get(), (1..=20).collect::<Vec<_>>());
}

// ports test/parallel/test-stream-readable-reading-readingMore.js (flags while flowing)
#[test]
fn reading_flags_settle_after_the_end() {
    let (lp, _g) = setup();
    let r = Readable::from_iter(0..5u32);
    let data = MustCall::new(5);
    r.on(ev::Data, data.hit());
    lp.run_until_idle();
    let s = r.state();
    assert!(s.ended && s.end_emitted && !s.reading);
    assert!(s.destroyed && s.close_emitted);
}

// ports test/parallel/test-stream-readable-resume-hwm.js (resume does not read past the mark)
#[test]
fn paused_reading_fills_to_the_mark_and_no_further() {
    let (lp, _g) = setup();
    let reads = Arc::new(Mutex::new(0));
    let rd = reads.clone();
    let r = Readable::from_fn_with(
        move |_, s: &Readable<u32>| {
            *rd.lock().unwrap() += 1;
            s.push(1);
        },
        ReadableOptions::objects().high_water_mark(4),
    );
    r.on(ev::Readable, |_| {});
    lp.run_until_idle();
    assert_eq!(r.readable_length(), 4);
    assert_eq!(*reads.lock().unwrap(), 4);
}

// ports test/parallel/test-stream-readable-setEncoding-null.js / test-stream2-set-encoding.js
#[test]
fn encoding_is_reported_and_decodes_split_characters() {
    let (lp, _g) = setup();
    let r = idle_bytes();
    assert_eq!(r.readable_encoding(), None);
    r.set_encoding(Encoding::Utf8);
    assert_eq!(r.readable_encoding(), Some(Encoding::Utf8));
    let euro = "€".as_bytes();
    r.push(Bytes::copy_from_slice(&euro[..2]));
    r.push(Bytes::copy_from_slice(&euro[2..]));
    r.push_end();
    let got = Arc::new(Mutex::new(String::new()));
    let g = got.clone();
    r.on_text(move |s| g.lock().unwrap().push_str(s));
    lp.run_until_idle();
    assert_eq!(*got.lock().unwrap(), "€");
}

// ports test/parallel/test-stream-readable-constructor-set-methods.js (construct, read, destroy)
#[test]
fn construct_then_read_then_destroy_in_order() {
    let (lp, _g) = setup();
    let log = Log::new();
    let (l1, l2, l3) = (log.clone(), log.clone(), log.clone());
    let r = ReadFns::<u8>::new(move |_, s| {
        l1.push("read");
        s.push_end();
    })
    .construct(move || {
        l2.push("construct");
        Some(Completion::ok())
    })
    .destroy(move |_| {
        l3.push("destroy");
        Completion::ok()
    })
    .build();
    r.resume();
    r.on(ev::End, log.rec("end"));
    r.on(ev::Close, log.rec("close"));
    lp.run_until_idle();
    assert_eq!(log.get(), ["construct", "read", "end", "destroy", "close"]);
}

// ports test/parallel/test-stream-readable-no-unneeded-readable.js
#[test]
fn no_readable_event_for_a_stream_that_only_ends() {
    let (lp, _g) = setup();
    let r = idle_readable::<u8>();
    let readable = MustCall::new(1);
    let r2 = r.clone();
    r.on(
        ev::Readable,
        readable.wrap(move |_| {
            assert_eq!(r2.read(), None);
        }),
    );
    r.push_end();
    let end = MustCall::new(1);
    r.on(ev::End, end.hit());
    lp.run_until_idle();
}

// ports test/parallel/test-stream-readable-error-end.js (no 'end' after an error)
#[test]
fn no_end_after_an_error_even_with_the_end_pushed() {
    let (lp, _g) = setup();
    let r = idle_readable::<u8>();
    r.on(ev::End, MustCall::never().hit());
    let error = MustCall::new(1);
    r.on(ev::Error, error.hit());
    r.push(1);
    r.push_end();
    r.destroy(Some(user("broken")));
    r.resume();
    lp.run_until_idle();
}
