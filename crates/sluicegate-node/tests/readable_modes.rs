//! Paused/flowing modes, readableFlowing's three states, unshift, encodings, construct,
//! destroy, autoDestroy, async iteration.
mod common;
use common::*;
use futures::StreamExt;

// ports test/parallel/test-stream-readable-flow-recursion.js (flowing state transitions)
#[test]
fn readable_flowing_has_three_states() {
    let (lp, _g) = setup();
    let r = idle_readable::<u8>();
    assert_eq!(r.readable_flowing(), None);
    r.on(ev::Data, |_: &u8| {});
    assert_eq!(r.readable_flowing(), Some(true));
    r.pause();
    assert_eq!(r.readable_flowing(), Some(false));
    assert!(r.is_paused());
    r.resume();
    assert_eq!(r.readable_flowing(), Some(true));
    lp.run_until_idle();
}

// ports test/parallel/test-stream-readable-pause-and-resume.js
#[test]
fn no_data_while_paused_and_all_after_resume() {
    let (lp, _g) = setup();
    let r = idle_readable::<u32>();
    let got = Collected::new();
    let g = got.clone();
    r.on(ev::Data, move |x: &u32| g.push(*x));
    r.pause();
    r.push(1);
    r.push(2);
    lp.run_until_idle();
    assert!(got.get().is_empty());
    r.resume();
    lp.run_until_idle();
    assert_eq!(got.get(), [1, 2]);
}

// ports test/parallel/test-stream-end-paused.js
#[test]
fn no_end_while_paused_with_data_buffered() {
    let (lp, _g) = setup();
    let r = idle_readable::<u32>();
    let end = MustCall::new(1);
    r.on(ev::End, end.hit());
    r.on(ev::Data, |_: &u32| {});
    r.pause();
    r.push(1);
    r.push_end();
    lp.run_until_idle();
    assert_eq!(
        end.count(),
        0,
        "'end' never fires while paused with data buffered"
    );
    r.resume();
    lp.run_until_idle();
}

// ports test/parallel/test-stream-readable-unshift.js (unshift puts data back in front)
#[test]
fn unshift_puts_data_back_in_front() {
    let (lp, _g) = setup();
    let r = idle_bytes();
    r.push(b("world"));
    lp.run_until_idle();
    let first = r.read_size(2).unwrap();
    assert_eq!(first, "wo");
    r.unshift(first);
    assert_eq!(r.read().unwrap(), "world");
}

// ports test/parallel/test-stream-unshift-empty-chunk.js
#[test]
fn unshift_after_end_event_is_a_typed_error() {
    let (lp, _g) = setup();
    let r = Readable::from_iter([1u8]);
    r.on(ev::Data, |_: &u8| {});
    let err = MustCall::new(1);
    let r2 = r.clone();
    r.on(ev::End, move |_| {
        r2.unshift(9);
    });
    r.on(
        ev::Error,
        err.wrap(|e: &Error| assert_eq!(e.code(), ErrorCode::UnshiftAfterEndEvent)),
    );
    lp.run_until_idle();
}

// ports test/parallel/test-stream2-set-encoding.js (utf8 across chunk boundaries)
#[test]
fn set_encoding_decodes_utf8_across_chunks() {
    let (lp, _g) = setup();
    let r = idle_bytes();
    r.set_encoding(Encoding::Utf8);
    let euro = "€uro".as_bytes();
    r.push(bytes::Bytes::copy_from_slice(&euro[..1]));
    r.push(bytes::Bytes::copy_from_slice(&euro[1..]));
    r.push_end();
    let text = Collected::new();
    let t = text.clone();
    r.on_text(move |s| t.push(s.to_string()));
    lp.run_until_idle();
    assert_eq!(text.get().concat(), "€uro");
    assert_eq!(r.readable_encoding(), Some(Encoding::Utf8));
}

// ports test/parallel/test-stream-readable-setEncoding-existing-buffers.js
#[test]
fn set_encoding_converts_what_is_already_buffered() {
    let (lp, _g) = setup();
    let r = idle_bytes();
    let bytes = "你好".as_bytes();
    r.push(bytes::Bytes::copy_from_slice(&bytes[..4]));
    r.push(bytes::Bytes::copy_from_slice(&bytes[4..]));
    r.set_encoding(Encoding::Utf8);
    lp.run_until_idle();
    assert_eq!(r.read().unwrap(), "你好");
}

// ports test/parallel/test-stream-construct.js (construct before read)
#[test]
fn construct_runs_before_the_first_read() {
    struct C(Log);
    impl ReadImpl<u8> for C {
        fn construct(&mut self) -> Option<Completion> {
            self.0.push("construct");
            Some(Completion::ok())
        }
        fn read(&mut self, _: usize, s: &Readable<u8>) {
            self.0.push("read");
            s.push_end();
        }
    }
    let (lp, _g) = setup();
    let log = Log::new();
    let r = Readable::new(C(log.clone()));
    assert!(!r.state().constructed);
    r.resume();
    r.on(ev::End, log.rec("end"));
    lp.run_until_idle();
    assert_eq!(log.get(), ["construct", "read", "end"]);
}

// ports test/parallel/test-stream-construct.js (destroy while constructing waits)
#[test]
fn destroy_during_construct_waits_for_it() {
    struct C(Log, std::sync::Arc<std::sync::Mutex<Option<Callback>>>);
    impl ReadImpl<u8> for C {
        fn construct(&mut self) -> Option<Completion> {
            let (c, cb) = Completion::callback();
            *self.1.lock().unwrap() = Some(cb);
            Some(c)
        }
        fn read(&mut self, _: usize, _s: &Readable<u8>) {}
        fn destroy(&mut self, err: Option<Error>) -> Completion {
            self.0.push("destroy");
            Completion::from(match err {
                Some(e) => Err(e),
                None => Ok(()),
            })
        }
    }
    let (lp, _g) = setup();
    let log = Log::new();
    let slot = std::sync::Arc::new(std::sync::Mutex::new(None));
    let r = Readable::new(C(log.clone(), slot.clone()));
    r.on(ev::Close, log.rec("close"));
    lp.run_until_idle();
    r.destroy(None);
    lp.run_until_idle();
    assert!(log.get().is_empty(), "_destroy waits for construct");
    slot.lock().unwrap().take().unwrap().ok();
    lp.run_until_idle();
    assert_eq!(log.get(), ["destroy", "close"]);
}

// ports test/parallel/test-stream-destroy-event-order.js
#[test]
fn destroy_with_error_emits_error_then_close() {
    let (lp, _g) = setup();
    let log = Log::new();
    let r = idle_readable::<u8>();
    r.on(ev::Error, log.rec("error"));
    r.on(ev::Close, log.rec("close"));
    r.destroy(Some(user("kaboom")));
    assert!(log.get().is_empty());
    lp.run_until_idle();
    assert_eq!(log.get(), ["error", "close"]);
}

// ports test/parallel/test-stream-error-once.js
#[test]
fn error_is_emitted_at_most_once() {
    let (lp, _g) = setup();
    let r = idle_readable::<u8>();
    let err = MustCall::new(1);
    r.on(ev::Error, err.hit());
    r.push_end();
    r.push(1);
    r.push(2);
    lp.run_until_idle();
}

// ports test/parallel/test-stream-readable-emittedReadable.js (emitClose: false)
#[test]
fn emit_close_false_means_no_close() {
    let (lp, _g) = setup();
    let r = Readable::from_fn_with(|_, _| {}, ReadableOptions::<u8>::objects().emit_close(false));
    r.on(ev::Close, MustCall::never().hit());
    r.destroy(None);
    lp.run_until_idle();
    assert!(r.destroyed());
}

// ports test/parallel/test-stream-auto-destroy.js
#[test]
fn auto_destroy_after_end_and_not_without_it() {
    let (lp, _g) = setup();
    let r = Readable::from_iter([1u8, 2]);
    let close = MustCall::new(1);
    r.on(ev::Close, close.hit());
    r.resume();
    lp.run_until_idle();
    assert!(r.destroyed());
    let r2 = Readable::from_iter_with([1u8], ReadableOptions::objects().auto_destroy(false));
    r2.resume();
    lp.run_until_idle();
    assert!(r2.readable_ended());
    assert!(!r2.destroyed());
}

// ports test/parallel/test-stream-readable-async-iterators.js (values, then end)
#[test]
fn async_iteration_yields_every_chunk_then_ends() {
    let r = Readable::from_iter(0..10u32);
    let got: Vec<u32> = futures::executor::block_on(r.iter().map(|c| c.unwrap()).collect());
    assert_eq!(got, (0..10).collect::<Vec<_>>());
}

// ports test/parallel/test-stream-readable-async-iterators.js (error surfaces once)
#[test]
fn async_iteration_yields_the_error() {
    let r = Readable::<u32>::from_fn(|_, s| {
        s.destroy(Some(user("boom")));
    });
    let items: Vec<Result<u32>> = futures::executor::block_on(r.iter().collect());
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].as_ref().unwrap_err().message(), "boom");
}

// ports test/parallel/test-stream-readable-async-iterators.js (break destroys)
#[test]
fn dropping_the_iterator_early_destroys_unless_opted_out() {
    let (lp, _g) = setup();
    let r = Readable::from_iter(0..100u32);
    futures::executor::block_on(async {
        let mut it = r.iter();
        assert_eq!(it.next().await.unwrap().unwrap(), 0);
    });
    lp.run_until_idle();
    assert!(r.destroyed());
    assert_eq!(r.errored().unwrap().code(), ErrorCode::Abort);

    let r = Readable::from_iter(0..100u32);
    futures::executor::block_on(async {
        let mut it = r.iter_with(IterOptions {
            destroy_on_return: false,
        });
        assert_eq!(it.next().await.unwrap().unwrap(), 0);
    });
    assert!(!r.destroyed());
    let rest: Vec<u32> = futures::executor::block_on(r.iter().map(|c| c.unwrap()).collect());
    assert_eq!(rest, (1..100).collect::<Vec<_>>());
}

#[test]
fn next_chunk_reads_one_at_a_time() {
    let r = Readable::from_iter(["a", "b"]);
    futures::executor::block_on(async {
        assert_eq!(r.next_chunk().await.unwrap(), Some("a"));
        assert_eq!(r.next_chunk().await.unwrap(), Some("b"));
        assert_eq!(r.next_chunk().await.unwrap(), None);
    });
}

#[test]
fn from_stream_pulls_a_futures_stream_with_backpressure() {
    let s = futures::stream::iter(0..50u32);
    let r = Readable::from_stream(s);
    let got: Vec<u32> = futures::executor::block_on(r.iter().map(|c| c.unwrap()).collect());
    assert_eq!(got.len(), 50);
    assert_eq!(r.readable_high_water_mark(), 1);
}

#[test]
fn a_panicking_read_destroys_with_a_panic_error() {
    let (lp, _g) = setup();
    let r = Readable::<u8>::from_fn(|_, _| panic!("read blew up"));
    let err = MustCall::new(1);
    r.on(
        ev::Error,
        err.wrap(|e: &Error| assert_eq!(e.code(), ErrorCode::Panic)),
    );
    r.resume();
    lp.run_until_idle();
    assert!(r.destroyed());
}

// ports test/parallel/test-stream-readable-hwm-0.js (read(n) above 1 GiB)
#[test]
fn read_above_one_gib_is_out_of_range() {
    let (lp, _g) = setup();
    let r = idle_bytes();
    let err = MustCall::new(1);
    r.on(
        ev::Error,
        err.wrap(|e: &Error| assert_eq!(e.code(), ErrorCode::OutOfRange)),
    );
    assert!(r.read_size((1 << 30) + 1).is_none());
    lp.run_until_idle();
}

// ports test/parallel/test-stream-readable-infinite-read.js (_read not re-entered)
#[test]
fn read_is_not_reentered_while_pending() {
    let (lp, _g) = setup();
    let calls = MustCall::new(1);
    let c = calls.counter();
    let r = Readable::<u8>::from_fn(move |_, _| {
        c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    });
    r.read();
    r.read();
    r.resume();
    lp.run_until_idle();
}

// With an encoding, Node measures the buffer as it measures strings, in UTF-16 code units, and
// read(n) slices that many: 'é' (two bytes) counts 1 against a high-water mark of 2, and read(1)
// gives one whole character (checked against node 20: push 'é' true, length 1; push '€' false,
// length 2; read(1) 'é', length 1).
#[test]
fn with_an_encoding_lengths_and_read_sizes_count_characters_as_node_does() {
    for via_options in [true, false] {
        let (_lp, _g) = setup();
        let options = ReadableOptions::bytes().high_water_mark(2);
        let r = if via_options {
            Readable::from_fn_with(
                |_, _: &Readable<bytes::Bytes>| {},
                options.encoding(Encoding::Utf8),
            )
        } else {
            let r = Readable::from_fn_with(|_, _: &Readable<bytes::Bytes>| {}, options);
            r.set_encoding(Encoding::Utf8);
            r
        };
        assert!(r.push(b("é")));
        assert_eq!(r.readable_length(), 1);
        assert!(!r.push(b("€")));
        assert_eq!(r.readable_length(), 2);
        assert_eq!(r.read_size(1).unwrap(), "é");
        assert_eq!(r.readable_length(), 1);
        assert_eq!(r.read_size(5), None, "more than is buffered, before the end");
        assert_eq!(r.read().unwrap(), "€");
        assert_eq!(r.readable_length(), 0);
    }
}
