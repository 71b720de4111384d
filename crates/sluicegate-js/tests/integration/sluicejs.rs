//! The `sluicejs` runner on the example tour (`examples/tour.js`).

use std::process::Command;

#[test]
fn the_tour_runs_and_prints_what_each_stream_did() {
    let tour = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/tour.js");
    let out = Command::new(env!("CARGO_BIN_EXE_sluicejs"))
        .arg(tour)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "piped: ALPHA BETA GAMMA\nbyob reads: 1,2,3,4 | 5,6,7,8\ntee sum: 12\npipe stopped: enough\n"
    );
}

#[test]
fn a_script_that_throws_fails_with_its_error() {
    let dir = std::env::temp_dir().join(format!("sluicejs-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("throws.js");
    std::fs::write(&script, "new ReadableStream().getReader().read(); null.x;").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sluicejs"))
        .arg(&script)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("TypeError"));
}
