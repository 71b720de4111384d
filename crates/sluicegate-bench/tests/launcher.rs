//! The launcher reports a child's own peak RSS, not the memory its parent held.

use sluicegate_bench::proc::{run_child, run_measured_with};
use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_sluicegate-bench");

#[test]
fn a_child_of_a_big_parent_reports_its_own_peak_rss() {
    // Hold 256 MiB, touched, while the child runs.
    let big = std::hint::black_box(vec![1u8; 256 << 20]);
    let direct = run_child(Command::new("sh").args(["-c", "echo 7"])).unwrap();
    let launched = run_measured_with(Path::new(BIN), "sh", ["-c", "echo 7"]).unwrap();
    assert_eq!(launched.figure().unwrap(), 7.0);
    // A direct child inherits the parent's high-water mark at exec; the launched one does not.
    assert!(
        direct.peak_rss_kib > 200 << 10,
        "direct: {} KiB",
        direct.peak_rss_kib
    );
    assert!(
        launched.peak_rss_kib < 32 << 10,
        "launched: {} KiB",
        launched.peak_rss_kib
    );
    assert!(sluicegate_bench::proc::launcher_floor_kib() > 0);
    assert_eq!(std::hint::black_box(&big)[12345], 1);
}

#[test]
fn child_failures_and_unknown_kinds_are_errors() {
    assert!(run_measured_with(Path::new(BIN), "false", Vec::<&str>::new()).is_err());
    assert!(run_child(Command::new(BIN).args(["child", "nope"])).is_err());
}
