//! The README's Node-style example is `examples/node_readme.rs`, verbatim: the core crate cannot
//! compile it as a doc test (it must not depend on this crate), so this test checks the two are
//! the same text and runs it.

mod example {
    include!("../examples/node_readme.rs");

    pub fn run() {
        main()
    }
}

/// The code block after the README's "Node-style streams" heading.
fn readme_block() -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("the repository README");
    let section = &readme[readme
        .find("## Node-style streams")
        .expect("the Node-style section")..];
    let start = section.find("```rs\n").expect("an `rs` block") + "```rs\n".len();
    let len = section[start..].find("```\n").expect("the block's end");
    section[start..start + len].to_string()
}

#[test]
fn the_readme_block_is_the_example_file() {
    let example = include_str!("../examples/node_readme.rs");
    let body = example
        .split_once("\n\n")
        .map(|(_doc, code)| code)
        .expect("doc comment, blank line, code");
    assert_eq!(readme_block(), body);
}

#[test]
fn the_readme_example_runs() {
    example::run();
}
