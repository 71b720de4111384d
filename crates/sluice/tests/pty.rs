//! The live view (`--progress`) in a real pseudo-terminal, through `script(1)`: one line per
//! stage, and the bottleneck marker on the stage that is known to be slow (`throttle`).

use std::process::Command;

/// The text a terminal would show last on each line, from `script`'s raw output: escape
/// sequences removed, carriage returns and cursor moves taken as line breaks.
fn screen_lines(raw: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => {
                // CSI: ESC [ params final-byte.
                if chars.peek() == Some(&'[') {
                    chars.next();
                    for f in chars.by_ref() {
                        if ('@'..='~').contains(&f) {
                            break;
                        }
                    }
                }
                lines.push(std::mem::take(&mut line));
            }
            '\r' | '\n' => lines.push(std::mem::take(&mut line)),
            c => line.push(c),
        }
    }
    lines.push(line);
    // indicatif pads each line to the terminal's width and lets the terminal wrap it, so a long
    // run of spaces ends a line too (a stage's line has at most about 25 spaces in a row).
    let padding = " ".repeat(40);
    lines
        .iter()
        .flat_map(|l| l.split(padding.as_str()))
        .map(|l| l.trim_matches(' ').to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn the_live_view_has_a_line_per_stage_and_marks_the_throttled_stage() {
    let sluice = env!("CARGO_BIN_EXE_sluice");
    let command = format!("stty cols 200; {sluice} gen:3MB gzip:1 throttle:1MB/s null --progress");
    let out = Command::new("script")
        .args(["-qfec", &command, "/dev/null"])
        .env("TERM", "xterm")
        .output()
        .expect("script(1) from util-linux runs");
    assert!(out.status.success(), "{out:?}");
    let lines = screen_lines(&String::from_utf8_lossy(&out.stdout));
    // The last frame: the last line drawn for each stage.
    let last = |name: &str| {
        lines
            .iter()
            .rev()
            .find(|l| l.trim_start_matches('▶').trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("no line for {name} in {lines:#?}"))
            .clone()
    };
    let (source, gzip, throttle, sink) = (
        last("gen:3MB"),
        last("gzip:1"),
        last("throttle:1MB/s"),
        last("null"),
    );
    for line in [&source, &gzip, &throttle, &sink] {
        assert!(line.contains("/s ["), "throughput and a queue bar: {line}");
        assert!(line.contains("blocked") && line.contains("starved"), "{line}");
    }
    assert!(
        throttle.starts_with('▶') && throttle.ends_with("◀ bottleneck"),
        "{throttle}"
    );
    for line in [&source, &gzip, &sink] {
        assert!(!line.contains("bottleneck"), "{line}");
    }
    // Upstream of the throttle waits on it; downstream waits for it.
    let share = |line: &str, what: &str| -> u32 {
        let at = line.find(what).unwrap() + what.len();
        line[at..]
            .trim_start()
            .split('%')
            .next()
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    assert!(share(&source, "blocked") >= 50, "{source}");
    assert!(share(&sink, "starved") >= 50, "{sink}");
    // Frames were drawn while it ran, not only at the end.
    let frames = lines.iter().filter(|l| l.contains("throttle:1MB/s")).count();
    assert!(frames >= 3, "{frames} frames: {lines:#?}");
}
