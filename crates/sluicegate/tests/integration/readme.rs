//! The README's Rust blocks are complete as shown: no line that rustdoc would hide (`# …`), which
//! GitHub renders as is. (They are still compiled and run, as the crate's `ReadmeDoctests`.)

#[test]
fn the_readmes_rust_blocks_hide_no_lines() {
    let readme = include_str!("../../../../README.md");
    let mut in_rust = false;
    let mut blocks = 0;
    for (n, line) in readme.lines().enumerate() {
        let trimmed = line.trim_start();
        if let Some(info) = trimmed.strip_prefix("```") {
            if in_rust {
                in_rust = false;
            } else if info.split(',').next().map(str::trim) == Some("rust") {
                in_rust = true;
                blocks += 1;
            }
            continue;
        }
        if in_rust {
            assert!(
                !(trimmed == "#" || trimmed.starts_with("# ")),
                "README.md line {}: a hidden doctest line shows on GitHub: {line:?}",
                n + 1
            );
        }
    }
    assert!(blocks >= 2, "found {blocks} Rust blocks in the README");
}
