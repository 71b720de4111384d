//! Bad arguments to `examples/pipeline.rs` are refused with a message before anything runs (a
//! chunk of 0 KiB used to divide by zero; a high-water mark of 0 made the pipe wait forever). An
//! example has no `CARGO_BIN_EXE_` path to spawn, so its argument parser is checked in-process,
//! through the example's own source.

#[allow(dead_code)]
#[path = "../../examples/pipeline.rs"]
mod pipeline;

use clap::error::ErrorKind;
use clap::Parser;

fn refused(args: &[&str]) -> clap::Error {
    let mut argv = vec!["pipeline"];
    argv.extend_from_slice(args);
    pipeline::Args::try_parse_from(argv).expect_err("the arguments are refused")
}

#[test]
fn a_chunk_size_or_high_water_mark_of_zero_is_refused_with_a_message() {
    for (args, flag) in [
        (&["--chunk-kib", "0"][..], "--chunk-kib"),
        (&["--hwm-kib", "0"][..], "--hwm-kib"),
    ] {
        let e = refused(args);
        assert_eq!(e.kind(), ErrorKind::ValueValidation, "{args:?}");
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains(flag), "the message names {flag}: {e}");
    }
}

#[test]
fn sizes_that_would_overflow_and_words_that_are_not_numbers_are_refused() {
    for args in [
        &["--gib", "18446744073709551615"][..],
        &["--chunk-kib", "99999999999"][..],
        &["--hwm-kib", "-1"][..],
        &["--gib", "four"][..],
    ] {
        let e = refused(args);
        assert!(
            matches!(
                e.kind(),
                ErrorKind::ValueValidation | ErrorKind::InvalidValue | ErrorKind::UnknownArgument
            ),
            "{args:?}: {:?}",
            e.kind()
        );
        assert_eq!(e.exit_code(), 2);
    }
}

#[test]
fn the_defaults_and_the_limits_are_accepted() {
    let args = pipeline::Args::try_parse_from(["pipeline"]).unwrap();
    assert_eq!((args.gib, args.chunk_kib, args.hwm_kib), (4, 64, 256));
    let args = pipeline::Args::try_parse_from([
        "pipeline",
        "--gib",
        "0",
        "--chunk-kib",
        "1",
        "--hwm-kib",
        "1048576",
    ])
    .unwrap();
    assert_eq!((args.gib, args.chunk_kib, args.hwm_kib), (0, 1, 1 << 20));
}
