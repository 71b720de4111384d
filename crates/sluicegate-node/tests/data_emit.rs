//! The per-chunk `'data'` emit to a pipe: the listener list is lent to the emit and handed back
//! (no reference count per chunk) and a pipe's `ondata` is called directly. Nothing of that may
//! show: these run the same scenarios with and without other listeners observing (which sends
//! every emit through the general path) and compare what user code sees, and change the
//! listeners in the middle of a flow.
mod common;
use common::*;

use std::sync::{Arc, Mutex};

const N: u32 = 40;

/// Readable (hwm 4) → Transform (hwm 2 each side) → Writable (hwm 3, every third write
/// completes on the next tick), joined with `pipe`. Records every `_read`, `_transform` and
/// `_write` call with the lengths user code can see there, and every event of the three
/// streams. With `observe`, a borrowing `'data'` listener on the source and on the transform
/// records the chunks it sees (returned second).
fn piped_trace(observe: bool) -> (Vec<String>, Vec<String>) {
    let (lp, _g) = setup();
    let log = Log::new();
    let seen = Log::new();
    let mut next = 0u32;
    let l = log.clone();
    let src = ReadFns::new(move |_, s: &Readable<u32>| {
        l.push(format!("_read len {}", s.readable_length()));
        if next == N {
            s.push_end();
        } else {
            next += 1;
            let ret = s.push(next);
            l.push(format!("push {next} -> {ret}"));
        }
    })
    .build_with(ReadableOptions::objects().high_water_mark(4));

    struct Map(Log);
    impl TransformImpl<u32, u32> for Map {
        fn transform(&mut self, x: u32, out: &Readable<u32>) -> Completion {
            let ret = out.push(x * 10);
            self.0.push(format!(
                "_transform {x} push -> {ret} len {}",
                out.readable_length()
            ));
            Completion::ok()
        }
    }
    let mapper = Transform::transform_with(
        Map(log.clone()),
        DuplexOptions {
            readable: ReadableOptions::objects().high_water_mark(2),
            writable: WritableOptions::objects().high_water_mark(2),
            ..DuplexOptions::default()
        },
    );

    let (l, lp2) = (log.clone(), lp.clone());
    let sink_cell: Arc<Mutex<Option<Writable<u32>>>> = Arc::default();
    let sc = sink_cell.clone();
    let mut writes = 0;
    let sink = WriteFns::new(move |x: u32| {
        writes += 1;
        let len = sc.lock().unwrap().as_ref().map(|w| w.writable_length());
        l.push(format!("_write {x} writable_length {len:?}"));
        if writes % 3 == 0 {
            next_tick_completion(&lp2, Ok(()))
        } else {
            Completion::ok()
        }
    })
    .build_with(WritableOptions::objects().high_water_mark(3));
    *sink_cell.lock().unwrap() = Some(sink.clone());

    for (name, r) in [("src", &src), ("mapper", mapper.readable_side())] {
        let l = log.clone();
        r.on(ev::Pause, move |_| l.push(format!("{name} pause")));
        let l = log.clone();
        r.on(ev::Resume, move |_| l.push(format!("{name} resume")));
        let l = log.clone();
        r.on(ev::End, move |_| l.push(format!("{name} end")));
        let l = log.clone();
        r.on(ev::Close, move |_| l.push(format!("{name} close")));
    }
    for (name, w) in [("mapper", mapper.writable_side()), ("sink", &sink)] {
        let l = log.clone();
        w.on(ev::Drain, move |_| l.push(format!("{name} drain")));
        let l = log.clone();
        w.on(ev::Finish, move |_| l.push(format!("{name} finish")));
    }
    let l = log.clone();
    sink.on(ev::Close, move |_| l.push("sink close".to_string()));

    src.pipe(&mapper);
    mapper.pipe(&sink);
    if observe {
        let s = seen.clone();
        src.on(ev::Data, move |x: &u32| s.push(format!("src {x}")));
        let s = seen.clone();
        mapper.on(ev::Data, move |x: &u32| s.push(format!("mapper {x}")));
    }
    lp.run_until_idle();
    assert!(sink.writable_finished());
    (log.get(), seen.get())
}

#[test]
fn a_pipe_sees_the_same_calls_and_events_with_and_without_other_data_listeners() {
    let (alone, nothing) = piped_trace(false);
    let (observed, seen) = piped_trace(true);
    assert!(nothing.is_empty());
    assert_eq!(alone, observed);
    // The scenario has backpressure in it: pauses and drains, not only straight writes.
    for needle in [
        "src pause",
        "src resume",
        "mapper pause",
        "sink drain",
        "mapper drain",
    ] {
        assert!(
            alone.iter().any(|e| e == needle),
            "no {needle:?} in the trace: {alone:#?}"
        );
    }
    let writes: Vec<_> = alone.iter().filter(|e| e.starts_with("_write")).collect();
    assert_eq!(writes.len(), N as usize);
    // The observers saw every chunk, each before the next one was emitted.
    let src_seen: Vec<_> = seen.iter().filter(|e| e.starts_with("src")).cloned().collect();
    let mapper_seen: Vec<_> = seen.iter().filter(|e| e.starts_with("mapper")).cloned().collect();
    assert_eq!(src_seen, (1..=N).map(|x| format!("src {x}")).collect::<Vec<_>>());
    assert_eq!(
        mapper_seen,
        (1..=N).map(|x| format!("mapper {}", x * 10)).collect::<Vec<_>>()
    );
}

/// A source of 1..=n pushed from `_read`, hwm 2, piped into a writable whose `_write` runs
/// `during(x, source, sink)`; returns the source and the chunks written.
fn flow_with(
    n: u32,
    during: impl Fn(u32, &Readable<u32>, &Writable<u32>) + Send + Sync + 'static,
) -> (Readable<u32>, Collected<u32>) {
    let mut next = 0u32;
    let src = Readable::from_fn_with(
        move |_, s: &Readable<u32>| {
            if next == n {
                s.push_end();
            } else {
                next += 1;
                s.push(next);
            }
        },
        ReadableOptions::objects().high_water_mark(2),
    );
    let got = Collected::new();
    let (g, r) = (got.clone(), src.clone());
    let me: Arc<Mutex<Option<Writable<u32>>>> = Arc::default();
    let m = me.clone();
    let sink = Writable::from_fn(move |x: u32| {
        g.push(x);
        let w = m.lock().unwrap().clone().expect("set below");
        during(x, &r, &w);
        Completion::ok()
    });
    *me.lock().unwrap() = Some(sink.clone());
    src.pipe(&sink);
    (src, got)
}

#[test]
fn a_data_listener_added_during_a_piped_emit_sees_the_chunks_after_it() {
    let (lp, _g) = setup();
    let seen = Collected::new();
    let s = seen.clone();
    let (_src, got) = flow_with(10, move |x, r, _| {
        if x == 4 {
            let s = s.clone();
            r.on(ev::Data, move |c: &u32| s.push(*c));
        }
    });
    lp.run_until_idle();
    assert_eq!(got.get(), (1..=10).collect::<Vec<_>>());
    // Added while chunk 4 was being emitted: that emit's listeners were fixed when it began.
    assert_eq!(seen.get(), (5..=10).collect::<Vec<_>>());
}

#[test]
fn a_data_listener_removed_during_a_piped_emit_is_dropped_after_it_and_not_called_again() {
    let (lp, _g) = setup();
    let token = Arc::new(());
    let seen = Collected::new();
    let s = seen.clone();
    let t = token.clone();
    let id: Arc<Mutex<Option<ListenerId>>> = Arc::default();
    let (src, got) = {
        let (id, token) = (id.clone(), Arc::downgrade(&token));
        flow_with(10, move |x, r, _| {
            if x == 3 {
                let id = id.lock().unwrap().take().unwrap();
                assert!(r.off(id));
                // The emit of chunk 3 still holds the listener it is about to call...
                assert_eq!(token.strong_count(), 2);
            }
        })
    };
    *id.lock().unwrap() = Some(src.on(ev::Data, move |c: &u32| {
        let _ = &t;
        s.push(*c);
    }));
    lp.run_until_idle();
    assert_eq!(got.get(), (1..=10).collect::<Vec<_>>());
    // The listener comes after the pipe's: it saw chunk 3 (it was registered when that emit
    // began) and nothing after.
    assert_eq!(seen.get(), [1, 2, 3]);
    // ...and it is gone once that emit is over.
    assert_eq!(Arc::strong_count(&token), 1);
}

#[test]
fn unpipe_during_a_piped_write_stops_the_flow_after_that_chunk() {
    let (lp, _g) = setup();
    let log = Log::new();
    let l = log.clone();
    let (src, got) = flow_with(10, move |x, r, w| {
        if x == 5 {
            r.unpipe(Some(w));
            l.push(format!("unpiped, flowing {:?}", r.readable_flowing()));
        }
    });
    let l = log.clone();
    src.on(ev::Pause, move |_| l.push("pause".to_string()));
    let l = log.clone();
    src.on(ev::Data, move |c: &u32| l.push(format!("data {c}")));
    lp.run_until_idle();
    assert_eq!(got.get(), [1, 2, 3, 4, 5]);
    // Unpiping the last destination pauses the source; the user listener still gets chunk 5
    // (its emit had begun), and nothing is emitted after it.
    assert_eq!(
        log.get(),
        [
            "data 1",
            "data 2",
            "data 3",
            "data 4",
            "pause",
            "unpiped, flowing Some(false)",
            "data 5",
        ]
    );
    assert_eq!(
        src.readable_length(),
        2,
        "the source refilled to its high-water mark"
    );
}

#[test]
fn a_chunk_pushed_from_inside_a_data_emit_is_emitted_inside_it() {
    let (lp, _g) = setup();
    let log = Log::new();
    let r = idle_readable::<u32>();
    let (w, got) = collecting_writable::<u32>();
    r.pipe(&w);
    let (l, r2) = (log.clone(), r.clone());
    r.on(ev::Data, move |c: &u32| {
        l.push(format!("data {c}"));
        if *c % 10 == 1 {
            // Flowing, nothing buffered, not inside `_read`: emitted before this returns.
            r2.push(c + 1);
            l.push(format!("pushed {}", c + 1));
        }
    });
    lp.run_until_idle();
    for x in [1, 11, 21] {
        r.push(x);
    }
    r.push_end();
    lp.run_until_idle();
    assert_eq!(
        log.get(),
        [
            "data 1",
            "data 2",
            "pushed 2",
            "data 11",
            "data 12",
            "pushed 12",
            "data 21",
            "data 22",
            "pushed 22",
        ]
    );
    assert_eq!(got.get(), [1, 2, 11, 12, 21, 22]);
    assert!(w.writable_finished());
}
