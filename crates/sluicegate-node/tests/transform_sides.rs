//! A transform's writable side reaches its readable side directly (it holds it): a transform is
//! one object, as in Node, whichever of its handles user code keeps.
mod common;
use common::*;

struct Rec(Log);

impl TransformImpl<u32, u32> for Rec {
    fn transform(&mut self, x: u32, out: &Readable<u32>) -> Completion {
        let pushed = out.push(x * 10);
        self.0.push(format!(
            "_transform {x} push -> {pushed} len {}",
            out.readable_length()
        ));
        Completion::ok()
    }
}

/// Five writes into a transform (hwm 2 on both sides) that nobody reads; with `keep_only_writable`
/// every handle but the writable side's is dropped first. Returns what user code saw.
fn unread_writes(keep_only_writable: bool) -> Vec<String> {
    let (lp, _g) = setup();
    let log = Log::new();
    let t = Transform::transform_with(
        Rec(log.clone()),
        DuplexOptions {
            readable: ReadableOptions::objects().high_water_mark(2),
            writable: WritableOptions::objects().high_water_mark(2),
            ..DuplexOptions::default()
        },
    );
    let w = t.writable_side().clone();
    let keep = (!keep_only_writable).then_some(t);
    for x in 1..=5 {
        let ret = w.write(x);
        log.push(format!(
            "write {x} -> {ret} writable_length {}",
            w.writable_length()
        ));
    }
    lp.run_until_idle();
    log.push(format!(
        "errored {:?} destroyed {} writable_length {}",
        w.errored().map(|e| e.code()),
        w.destroyed(),
        w.writable_length()
    ));
    drop(keep);
    log.get()
}

#[test]
fn a_transform_kept_only_by_its_writable_side_behaves_as_one_kept_whole() {
    let whole = unread_writes(false);
    assert_eq!(
        whole,
        [
            "_transform 1 push -> true len 1",
            "write 1 -> true writable_length 0",
            // The readable side is full: the callback is withheld until something reads.
            "_transform 2 push -> false len 2",
            "write 2 -> true writable_length 1",
            "write 3 -> false writable_length 2",
            "write 4 -> false writable_length 3",
            "write 5 -> false writable_length 4",
            "errored None destroyed false writable_length 4",
        ]
    );
    assert_eq!(unread_writes(true), whole);
}

#[test]
fn dropping_every_handle_of_a_transform_frees_both_sides() {
    let (lp, _g) = setup();
    let log = Log::new();
    let t = Transform::transform(Rec(log.clone()));
    let probe = std::sync::Arc::new(());
    let p = probe.clone();
    t.readable_side().on(ev::Data, move |_: &u32| {
        let _ = &p;
    });
    t.write(1);
    lp.run_until_idle();
    assert_eq!(std::sync::Arc::strong_count(&probe), 2);
    drop(t);
    lp.run_until_idle();
    // The listener (and so the readable side holding it) is gone with the last handle.
    assert_eq!(std::sync::Arc::strong_count(&probe), 1);
}
