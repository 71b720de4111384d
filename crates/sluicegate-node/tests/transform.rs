//! Transform and PassThrough: byte and object mode, synchronous and asynchronous transforms,
//! expanding and compressing ones, flush, callback withholding, event emission.
mod common;
use common::*;

use std::sync::{Arc, Mutex};

use bytes::Bytes;

fn bytes_opts() -> DuplexOptions<Bytes, Bytes> {
    DuplexOptions {
        readable: ReadableOptions::bytes(),
        writable: WritableOptions::bytes(),
        ..DuplexOptions::default()
    }
}

fn bytes_pt() -> PassThrough<Bytes> {
    PassThrough::passthrough_with(bytes_opts())
}

fn read5(t: &Transform<Bytes, Bytes>) -> Option<String> {
    t.readable_side()
        .read_size(5)
        .map(|b| String::from_utf8(b.to_vec()).unwrap())
}

/// A transform from a closure over (chunk, output) returning a completion.
struct Fx<F>(F);

impl<I: Send + 'static, O: Send + 'static, F: FnMut(I, &Readable<O>) -> Completion + Send + 'static>
    TransformImpl<I, O> for Fx<F>
{
    fn transform(&mut self, chunk: I, out: &Readable<O>) -> Completion {
        (self.0)(chunk, out)
    }
}

// ports test/parallel/test-stream2-transform.js (writable side consumption; node 20 figures)
#[test]
fn writable_side_consumption_withholds_at_the_readable_high_water_mark() {
    let (_lp, _g) = setup();
    let transformed = Arc::new(Mutex::new(0usize));
    let t2 = transformed.clone();
    let tx = Transform::transform_with(
        Fx(move |c: Bytes, out: &Readable<Bytes>| {
            *t2.lock().unwrap() += c.len();
            out.push(c);
            Completion::ok()
        }),
        DuplexOptions {
            readable: ReadableOptions::bytes().high_water_mark(10),
            writable: WritableOptions::bytes().high_water_mark(10),
            ..DuplexOptions::default()
        },
    );
    for i in 1..=10 {
        tx.write(Bytes::from(vec![0u8; i]));
    }
    tx.end();
    assert_eq!(tx.readable_side().readable_length(), 10);
    assert_eq!(*transformed.lock().unwrap(), 10);
    // Chunk 4's callback is withheld; 5..=10 wait in the buffer (node 20: 49 bytes in all).
    assert_eq!(tx.writable_side().writable_buffered(), 6);
    assert_eq!(tx.writable_side().writable_length(), 49);
}

// ports test/parallel/test-stream2-transform.js (passthrough behavior)
#[test]
fn passthrough_reads_exact_sizes_across_chunks() {
    let (_lp, _g) = setup();
    let pt = bytes_pt();
    for s in ["foog", "bark", "bazy", "kuel"] {
        pt.write(b(s));
    }
    pt.end();
    assert_eq!(read5(&pt).unwrap(), "foogb");
    assert_eq!(read5(&pt).unwrap(), "arkba");
    assert_eq!(read5(&pt).unwrap(), "zykue");
    assert_eq!(read5(&pt).unwrap(), "l");
}

// ports test/parallel/test-stream2-transform.js (object passthrough behavior)
#[test]
fn object_passthrough_keeps_every_value() {
    let (_lp, _g) = setup();
    let pt = PassThrough::<&str>::passthrough();
    for v in ["1", "true", "false", "0", "foo", "", "{a: b}"] {
        pt.write(v);
    }
    pt.end();
    for v in ["1", "true", "false", "0", "foo", "", "{a: b}"] {
        assert_eq!(pt.read(), Some(v));
    }
}

// ports test/parallel/test-stream2-transform.js (simple transform)
#[test]
fn simple_byte_transform() {
    let (_lp, _g) = setup();
    let pt = Transform::transform_with(
        Fx(|c: Bytes, out: &Readable<Bytes>| {
            out.push(Bytes::from(vec![b'x'; c.len()]));
            Completion::ok()
        }),
        bytes_opts(),
    );
    for s in ["foog", "bark", "bazy", "kuel"] {
        pt.write(b(s));
    }
    pt.end();
    assert_eq!(read5(&pt).unwrap(), "xxxxx");
    assert_eq!(read5(&pt).unwrap(), "xxxxx");
    assert_eq!(read5(&pt).unwrap(), "xxxxx");
    assert_eq!(read5(&pt).unwrap(), "x");
}

// ports test/parallel/test-stream2-transform.js (simple object transform)
#[test]
fn simple_object_transform() {
    let (_lp, _g) = setup();
    let pt = Transform::transform(Fx(|c: i64, out: &Readable<String>| {
        out.push(format!("<{c}>"));
        Completion::ok()
    }));
    for v in [1, 0, -5] {
        pt.write(v);
    }
    pt.end();
    assert_eq!(pt.read().unwrap(), "<1>");
    assert_eq!(pt.read().unwrap(), "<0>");
    assert_eq!(pt.read().unwrap(), "<-5>");
}

// ports test/parallel/test-stream2-transform.js (async passthrough)
#[test]
fn async_passthrough_everything_readable_at_finish() {
    let (lp, _g) = setup();
    let lp2 = lp.clone();
    let pt = Transform::transform_with(
        Fx(move |c: Bytes, out: &Readable<Bytes>| {
            let (comp, cb) = Completion::callback();
            let out = out.clone();
            lp2.next_tick(move || {
                out.push(c);
                cb.ok();
            });
            comp
        }),
        bytes_opts(),
    );
    for s in ["foog", "bark", "bazy", "kuel"] {
        pt.write(b(s));
    }
    pt.end();
    let finish = MustCall::new(1);
    let p = pt.clone();
    pt.on(
        ev::Finish,
        finish.wrap(move |_| {
            assert_eq!(read5(&p).unwrap(), "foogb");
            assert_eq!(read5(&p).unwrap(), "arkba");
            assert_eq!(read5(&p).unwrap(), "zykue");
            assert_eq!(read5(&p).unwrap(), "l");
        }),
    );
    lp.run_until_idle();
}

// ports test/parallel/test-stream2-transform.js (asymmetric transform: expand)
#[test]
fn expanding_transform_emits_each_chunk_twice() {
    let (lp, _g) = setup();
    let lp2 = lp.clone();
    let pt = Transform::transform_with(
        Fx(move |c: Bytes, out: &Readable<Bytes>| {
            let (comp, cb) = Completion::callback();
            let (out, lp3) = (out.clone(), lp2.clone());
            lp2.next_tick(move || {
                out.push(c.clone());
                lp3.next_tick(move || {
                    out.push(c);
                    cb.ok();
                });
            });
            comp
        }),
        bytes_opts(),
    );
    for s in ["foog", "bark", "bazy", "kuel"] {
        pt.write(b(s));
    }
    pt.end();
    let finish = MustCall::new(1);
    let p = pt.clone();
    pt.on(
        ev::Finish,
        finish.wrap(move |_| {
            for want in ["foogf", "oogba", "rkbar", "kbazy", "bazyk", "uelku", "el"] {
                assert_eq!(read5(&p).unwrap(), want);
            }
        }),
    );
    lp.run_until_idle();
}

// ports test/parallel/test-stream2-transform.js (asymmetric transform: compress, with flush)
#[test]
fn compressing_transform_with_flush() {
    struct Firsts(String);
    impl TransformImpl<Bytes, Bytes> for Firsts {
        fn transform(&mut self, c: Bytes, out: &Readable<Bytes>) -> Completion {
            self.0.push(c[0] as char);
            if self.0.len() == 3 {
                out.push(Bytes::from(std::mem::take(&mut self.0)));
            }
            Completion::ok()
        }
        fn flush(&mut self, out: &Readable<Bytes>) -> Completion {
            out.push(Bytes::from(std::mem::take(&mut self.0)));
            Completion::ok()
        }
    }
    let (lp, _g) = setup();
    let pt = Transform::transform_with(Firsts(String::new()), bytes_opts());
    for s in "abcdeabcdeabcd".chars() {
        pt.write(Bytes::from(s.to_string().repeat(4)));
    }
    pt.end();
    let finish = MustCall::new(1);
    let p = pt.clone();
    pt.on(
        ev::Finish,
        finish.wrap(move |_| {
            assert_eq!(read5(&p).unwrap(), "abcde");
            assert_eq!(read5(&p).unwrap(), "abcde");
            assert_eq!(read5(&p).unwrap(), "abcd");
        }),
    );
    lp.run_until_idle();
}

// ports test/parallel/test-stream2-transform.js (complex transform: no stall with empty transforms)
#[test]
fn no_stall_when_writing_to_a_full_stream_with_empty_transforms() {
    let (lp, _g) = setup();
    let count = Arc::new(Mutex::new(0));
    let saved: Arc<Mutex<Option<Bytes>>> = Arc::default();
    let (c2, s2) = (count.clone(), saved.clone());
    let pt = Transform::transform_with(
        Fx(move |c: Bytes, out: &Readable<Bytes>| {
            let mut n = c2.lock().unwrap();
            *n += 1;
            if *n == 2 {
                *s2.lock().unwrap() = Some(c);
            } else {
                if let Some(s) = s2.lock().unwrap().take() {
                    out.push(s);
                }
                out.push(c);
            }
            Completion::ok()
        }),
        DuplexOptions {
            readable: ReadableOptions::bytes().high_water_mark(3),
            writable: WritableOptions::bytes().high_water_mark(3),
            ..DuplexOptions::default()
        },
    );
    let done = Arc::new(MustCall::new(1));
    let (p, lp2, d) = (pt.clone(), lp.clone(), done.clone());
    pt.once(ev::Readable, move |_| {
        let (p, d) = (p.clone(), d.clone());
        lp2.next_tick(move || {
            p.write(b("d"));
            let p2 = p.clone();
            p.write_with(
                b("ef"),
                d.once(move |_: Result<()>| {
                    p2.end();
                }),
            );
            assert_eq!(p.read().unwrap(), "abcdef");
            assert_eq!(p.read(), None);
        });
    });
    pt.write(b("abc"));
    lp.run_until_idle();
    drop(pt);
    let _ = Arc::try_unwrap(done).map(drop);
}

// ports test/parallel/test-stream2-transform.js (passthrough event emission; node 20 counts)
#[test]
fn passthrough_readable_events_are_never_synchronous() {
    let (lp, _g) = setup();
    let pt = bytes_pt();
    let emits = Arc::new(Mutex::new(0));
    let e = emits.clone();
    pt.on(ev::Readable, move |_| *e.lock().unwrap() += 1);
    pt.write(b("foog"));
    pt.write(b("bark"));
    assert_eq!(*emits.lock().unwrap(), 0);
    assert_eq!(read5(&pt).unwrap(), "foogb");
    assert_eq!(read5(&pt), None);
    pt.write(b("bazy"));
    pt.write(b("kuel"));
    assert_eq!(*emits.lock().unwrap(), 0);
    assert_eq!(read5(&pt).unwrap(), "arkba");
    assert_eq!(read5(&pt).unwrap(), "zykue");
    assert_eq!(read5(&pt), None);
    pt.end();
    assert_eq!(*emits.lock().unwrap(), 1);
    assert_eq!(read5(&pt).unwrap(), "l");
    assert_eq!(read5(&pt), None);
    lp.run_until_idle();
}

// ports test/parallel/test-stream2-transform.js (passthrough facade: data events)
#[test]
fn passthrough_data_events_then_end() {
    let (lp, _g) = setup();
    let pt = bytes_pt();
    let datas = Collected::new();
    let d = datas.clone();
    pt.on(ev::Data, move |c: &Bytes| {
        d.push(String::from_utf8(c.to_vec()).unwrap())
    });
    let end = MustCall::new(1);
    let d = datas.clone();
    pt.on(
        ev::End,
        end.wrap(move |_| assert_eq!(d.get(), ["foog", "bark", "bazy", "kuel"])),
    );
    for s in ["foog", "bark", "bazy", "kuel"] {
        pt.write(b(s));
        lp.run_until_idle();
    }
    pt.end();
    lp.run_until_idle();
}

// ports test/parallel/test-stream2-transform.js (object transform: parse, with errors)
#[test]
fn object_transform_parsing_with_a_failing_chunk() {
    let (lp, _g) = setup();
    let jp = Transform::transform(Fx(|s: &'static str, out: &Readable<i64>| {
        match s.parse::<i64>() {
            Ok(v) => {
                out.push(v);
                Completion::ok()
            }
            Err(e) => Completion::err(Error::user(e.to_string())),
        }
    }));
    let ended = Arc::new(Mutex::new(false));
    let e = ended.clone();
    jp.on(ev::End, move |_| *e.lock().unwrap() = true);
    for (s, v) in [("100", 100), ("-7", -7)] {
        jp.write(s);
        assert_eq!(jp.read(), Some(v));
    }
    jp.end();
    jp.read();
    lp.run_until_idle();
    assert!(*ended.lock().unwrap());
    let bad = Transform::transform(Fx(|s: &'static str, out: &Readable<i64>| {
        match s.parse::<i64>() {
            Ok(v) => {
                out.push(v);
                Completion::ok()
            }
            Err(e) => Completion::err(Error::user(e.to_string())),
        }
    }));
    let error = MustCall::new(1);
    bad.on(ev::Error, error.hit());
    bad.write("nope");
    lp.run_until_idle();
}

// ports test/parallel/test-stream-transform-callback-twice.js (a callback cannot be called twice)
#[test]
fn a_transform_callback_is_consumed_by_its_call() {
    let (lp, _g) = setup();
    let t = Transform::transform(Fx(|c: u8, out: &Readable<u8>| {
        let (comp, cb) = Completion::callback();
        out.push(c);
        cb.ok(); // consumed: a second call does not compile
        comp
    }));
    t.on(ev::Error, MustCall::never().hit());
    t.write(1);
    t.end();
    assert_eq!(t.read(), Some(1));
    lp.run_until_idle();
}

// ports test/parallel/test-stream-transform-flush-data.js
#[test]
fn flush_pushes_its_data_before_end() {
    struct Flusher;
    impl TransformImpl<u8, &'static str> for Flusher {
        fn transform(&mut self, _: u8, _: &Readable<&'static str>) -> Completion {
            Completion::ok()
        }
        fn flush(&mut self, out: &Readable<&'static str>) -> Completion {
            out.push("flushed");
            Completion::ok()
        }
    }
    let (lp, _g) = setup();
    let t = Transform::transform(Flusher);
    let log = Log::new();
    let l = log.clone();
    t.on(ev::Data, move |s: &&str| l.push(*s));
    t.on(ev::End, log.rec("end"));
    t.end();
    lp.run_until_idle();
    assert_eq!(log.get(), ["flushed", "end"]);
}

// ports test/parallel/test-stream-transform-final.js (order of flush, finish, end)
#[test]
fn flush_prefinish_finish_end_order() {
    struct Slow(EventLoop);
    impl TransformImpl<u8, u8> for Slow {
        fn transform(&mut self, c: u8, out: &Readable<u8>) -> Completion {
            out.push(c);
            Completion::ok()
        }
        fn flush(&mut self, _out: &Readable<u8>) -> Completion {
            next_tick_completion(&self.0, Ok(()))
        }
    }
    let (lp, _g) = setup();
    let t = Transform::transform(Slow(lp.clone()));
    let log = Log::new();
    t.on(ev::Prefinish, log.rec("prefinish"));
    t.on(ev::Finish, log.rec("finish"));
    t.on(ev::End, log.rec("end"));
    t.on(ev::Close, log.rec("close"));
    let l = log.clone();
    t.on(ev::Data, move |_: &u8| l.push("data"));
    t.write(1);
    t.end();
    lp.run_until_idle();
    // Checked against node 20: the flush (as _final) runs before 'prefinish', and its push(null)
    // brings 'end' before 'finish'.
    assert_eq!(log.get(), ["data", "prefinish", "end", "finish", "close"]);
}

// ports test/parallel/test-stream-transform-flush-error.js (hypothetical name: flush that fails)
#[test]
fn a_failing_flush_errors_the_transform() {
    struct Bad;
    impl TransformImpl<u8, u8> for Bad {
        fn transform(&mut self, _: u8, _: &Readable<u8>) -> Completion {
            Completion::ok()
        }
        fn flush(&mut self, _: &Readable<u8>) -> Completion {
            Completion::err(user("flush failed"))
        }
    }
    let (lp, _g) = setup();
    let t = Transform::transform(Bad);
    let error = MustCall::new(1);
    t.on(
        ev::Error,
        error.wrap(|e: &Error| assert_eq!(e.message(), "flush failed")),
    );
    t.on(ev::Finish, MustCall::never().hit());
    t.end();
    lp.run_until_idle();
}
