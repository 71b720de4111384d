//! Ported from WPT `streams/transform-streams/properties.any.js`: transformer methods are called
//! with what they need (`start` and `flush` with the controller, `transform` with the chunk and
//! the controller), and methods a transformer does not define behave as the standard's defaults.
//! (Argument counts and prototype-chain lookup are JavaScript-only; here they are the trait's
//! signatures and default methods.)

use crate::common;
use crate::transform_support;

use common::{run, Log};
use sluicegate::transform::{TransformStream, Transformer, TransformerFn};
use sluicegate::{Completion, StreamError};
use transform_support::*;

/// Logs which method ran and what its controller reports, and proves each controller is live by
/// enqueueing through it.
struct Probe(Log);

impl Transformer<u32, String> for Probe {
    fn start(&mut self, c: &Controller<String>) -> Completion {
        self.0.push(format!("start desired {:?}", c.desired_size()));
        c.enqueue("from start".into()).into()
    }
    fn transform(&mut self, chunk: u32, c: &Controller<String>) -> Completion {
        self.0
            .push(format!("transform {chunk} desired {:?}", c.desired_size()));
        c.enqueue(format!("from transform {chunk}")).into()
    }
    fn flush(&mut self, c: &Controller<String>) -> Completion {
        self.0.push(format!("flush desired {:?}", c.desired_size()));
        c.enqueue("from flush".into()).into()
    }
}

#[test]
fn every_method_gets_a_working_controller_for_the_readable_side() {
    run(async {
        let log = Log::new();
        let ts = TransformStream::with_strategies(Probe(log.clone()), default(), hwm(f64::INFINITY)).unwrap();
        let writer = ts.writable().get_writer().unwrap();
        writer.write(1).await.unwrap();
        writer.close().await.unwrap();
        log.assert(&[
            "start desired Some(inf)",
            "transform 1 desired Some(inf)",
            "flush desired Some(inf)",
        ]);
        assert_eq!(
            read_all(ts.readable()).await.unwrap(),
            ["from start", "from transform 1", "from flush"]
        );
    });
}

/// Only `transform`: every other method is the trait's default.
struct TransformOnly;

impl Transformer<u32, u32> for TransformOnly {
    fn transform(&mut self, chunk: u32, c: &Controller<u32>) -> Completion {
        c.enqueue(chunk + 1).into()
    }
}

#[test]
fn a_missing_flush_just_closes_the_readable_side() {
    run(async {
        let ts = TransformStream::with_strategies(TransformOnly, default(), hwm(f64::INFINITY)).unwrap();
        let writer = ts.writable().get_writer().unwrap();
        writer.write(1).await.unwrap();
        writer.close().await.unwrap();
        assert_eq!(read_all(ts.readable()).await.unwrap(), [2]);
    });
}

#[test]
fn a_missing_cancel_resolves_and_errors_the_other_side_with_the_reason() {
    run(async {
        let ts = TransformStream::new(TransformOnly).unwrap();
        let writer = ts.writable().get_writer().unwrap();
        let reason = error("gone");
        ts.readable().cancel(reason.clone()).await.unwrap();
        assert_same_err(writer.closed().await, &reason);

        let ts = TransformStream::new(TransformOnly).unwrap();
        let reader = ts.readable().get_reader().unwrap();
        ts.writable().abort(reason.clone()).await.unwrap();
        assert_same_err(reader.closed().await, &reason);
    });
}

#[test]
fn transformer_fn_calls_each_closure_with_its_arguments() {
    run(async {
        let log = Log::new();
        let (l1, l2, l3, l4) = (log.clone(), log.clone(), log.clone(), log.clone());
        let ts = TransformStream::with_strategies(
            TransformerFn::new(move |chunk: u32, c: &Controller<u32>| {
                l2.push(format!("transform {chunk}"));
                c.enqueue(chunk)
            })
            .start(move |c: &Controller<u32>| l1.push(format!("start {:?}", c.desired_size())))
            .flush(move |c: &Controller<u32>| l3.push(format!("flush {:?}", c.desired_size())))
            .cancel(move |r: StreamError| l4.push(format!("cancel {}", show(&r)))),
            default(),
            hwm(f64::INFINITY),
        )
        .unwrap();
        let writer = ts.writable().get_writer().unwrap();
        writer.write(5).await.unwrap();
        writer.close().await.unwrap();
        log.assert(&["start Some(inf)", "transform 5", "flush Some(inf)"]);

        let ts =
            TransformStream::<u32, u32>::new(TransformerFn::new(|_: u32, _: &Controller<u32>| ()).cancel({
                let l = log.clone();
                move |r: StreamError| l.push(format!("cancel {}", show(&r)))
            }))
            .unwrap();
        ts.readable().cancel(error("why")).await.unwrap();
        log.assert(&["start Some(inf)", "transform 5", "flush Some(inf)", "cancel why"]);
    });
}
