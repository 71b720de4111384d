//! `AbortController` and `AbortSignal`: reasons, abort algorithms (run once, synchronously, in
//! order, removable), the aborted future, and use across threads.

use crate::common;

use common::{Calls, Log};
use sluicegate::abort::{AbortController, AbortSignal};
use sluicegate::{ErrorKind, StreamError};

#[test]
fn a_new_signal_is_not_aborted() {
    let controller = AbortController::new();
    let signal = controller.signal();
    assert!(!signal.aborted());
    assert!(signal.reason().is_none());
    assert!(signal.throw_if_aborted().is_ok());
    assert_eq!(signal.pending_algorithms(), 0);
}

#[test]
fn abort_without_a_reason_is_an_abort_error() {
    let controller = AbortController::new();
    controller.abort(None);
    let signal = controller.signal();
    assert!(signal.aborted());
    assert_eq!(signal.reason().unwrap().kind(), ErrorKind::Abort);
    assert_eq!(signal.throw_if_aborted().unwrap_err().kind(), ErrorKind::Abort);
}

#[test]
fn abort_with_the_undefined_reason_is_an_abort_error() {
    let controller = AbortController::new();
    controller.abort(Some(StreamError::undefined()));
    assert_eq!(controller.signal().reason().unwrap().kind(), ErrorKind::Abort);
}

#[test]
fn abort_keeps_the_very_reason() {
    let controller = AbortController::new();
    let reason = StreamError::user("stop");
    controller.abort(Some(reason.clone()));
    let got = controller.signal().reason().unwrap();
    assert!(StreamError::same(&got, &reason));
    assert!(StreamError::same(
        &controller.signal().throw_if_aborted().unwrap_err(),
        &reason
    ));
}

#[test]
fn a_second_abort_changes_nothing() {
    let controller = AbortController::new();
    let first = StreamError::user("first");
    let calls = Calls::new();
    let c = calls.clone();
    let _h = controller.signal().add_algorithm(move |_| c.hit());
    controller.abort(Some(first.clone()));
    controller.abort(Some(StreamError::user("second")));
    assert!(StreamError::same(&controller.signal().reason().unwrap(), &first));
    calls.assert_exactly(1);
}

#[test]
fn algorithms_run_synchronously_once_in_order_with_the_reason() {
    let controller = AbortController::new();
    let signal = controller.signal();
    let log = Log::new();
    for name in ["a", "b", "c"] {
        let l = log.clone();
        let _h = signal.add_algorithm(move |reason| l.push(format!("{name} {}", reason.message())));
    }
    assert_eq!(signal.pending_algorithms(), 3);
    controller.abort(Some(StreamError::user("why")));
    log.assert(&["a \"why\"", "b \"why\"", "c \"why\""]);
    assert_eq!(signal.pending_algorithms(), 0);
}

#[test]
fn removed_algorithms_do_not_run_and_leave_nothing_behind() {
    let controller = AbortController::new();
    let signal = controller.signal();
    let calls = Calls::new();
    let (c1, c2) = (calls.clone(), calls.clone());
    let kept = signal.add_algorithm(move |_| c1.hit());
    let removed = signal.add_algorithm(move |_| c2.hit());
    assert!(signal.remove_algorithm(removed));
    assert_eq!(signal.pending_algorithms(), 1);
    controller.abort(None);
    calls.assert_exactly(1);
    // Removing after it ran reports that nothing was registered.
    assert!(!signal.remove_algorithm(kept));
}

#[test]
fn a_handle_from_another_signal_removes_nothing() {
    let (a, b) = (AbortController::new(), AbortController::new());
    let _on_a = a.signal().add_algorithm(|_| {});
    let on_b = b.signal().add_algorithm(|_| {});
    assert!(!a.signal().remove_algorithm(on_b));
    assert_eq!(a.signal().pending_algorithms(), 1);
    assert_eq!(b.signal().pending_algorithms(), 1);
}

#[test]
fn algorithms_added_after_abort_never_run() {
    let signal = AbortSignal::abort(None);
    let calls = Calls::new();
    let c = calls.clone();
    let handle = signal.add_algorithm(move |_| c.hit());
    calls.assert_exactly(0);
    assert_eq!(signal.pending_algorithms(), 0);
    assert!(!signal.remove_algorithm(handle));
}

#[test]
fn a_panicking_algorithm_does_not_stop_the_others() {
    let controller = AbortController::new();
    let signal = controller.signal();
    let calls = Calls::new();
    let c = calls.clone();
    let _h1 = signal.add_algorithm(|_| panic!("listener exploded"));
    let _h2 = signal.add_algorithm(move |_| c.hit());
    controller.abort(None);
    calls.assert_exactly(1);
    assert!(signal.aborted());
}

#[test]
fn algorithms_may_use_the_signal_and_abort_again() {
    let controller = AbortController::new();
    let signal = controller.signal();
    let log = Log::new();
    let (c, s, l) = (controller.clone(), signal.clone(), log.clone());
    let _h = signal.add_algorithm(move |_| {
        l.push(format!("aborted {}", s.aborted()));
        c.abort(Some(StreamError::user("again")));
        let l2 = l.clone();
        let _late = s.add_algorithm(move |_| l2.push("late"));
        l.push(format!("pending {}", s.pending_algorithms()));
    });
    controller.abort(Some(StreamError::user("first")));
    log.assert(&["aborted true", "pending 0"]);
    assert_eq!(signal.reason().unwrap().reason::<&str>(), Some(&"first"));
}

#[test]
fn the_static_abort_makes_an_aborted_signal() {
    let reason = StreamError::user("already");
    let signal = AbortSignal::abort(Some(reason.clone()));
    assert!(signal.aborted());
    assert!(StreamError::same(&signal.reason().unwrap(), &reason));
    assert_eq!(
        AbortSignal::abort(None).reason().unwrap().kind(),
        ErrorKind::Abort
    );
}

#[test]
fn the_aborted_future_completes_with_the_reason() {
    common::run(async {
        let controller = AbortController::new();
        let signal = controller.signal();
        let c = controller.clone();
        let reason = StreamError::user("timeout");
        let r = reason.clone();
        let aborter = async move {
            common::sleep(50).await;
            c.abort(Some(r));
        };
        let (got, ()) = futures::join!(signal.aborted_future(), aborter);
        assert!(StreamError::same(&got, &reason));
        assert_eq!(common::now(), 50);
        // Already aborted: completes at once.
        assert!(StreamError::same(&signal.aborted_future().await, &reason));
    });
}

#[test]
fn clones_share_one_signal() {
    let controller = AbortController::new();
    let s1 = controller.signal();
    let s2 = s1.clone();
    let controller2 = controller.clone();
    controller2.abort(None);
    assert!(s1.aborted() && s2.aborted());
    assert!(StreamError::same(&s1.reason().unwrap(), &s2.reason().unwrap()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_aborted_on_another_thread_wakes_a_waiting_task() {
    let controller = AbortController::new();
    let signal = controller.signal();
    let hits = Calls::new();
    let h = hits.clone();
    let _handle = signal.add_algorithm(move |_| h.hit());
    let waiter = tokio::spawn({
        let signal = signal.clone();
        async move { signal.aborted_future().await }
    });
    let aborter = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(10));
        controller.abort(Some(StreamError::user("from a thread")));
    });
    let reason = waiter.await.unwrap();
    aborter.join().unwrap();
    assert_eq!(reason.reason::<&str>(), Some(&"from a thread"));
    hits.assert_exactly(1);
}
