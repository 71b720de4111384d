//! The README's "Transforms" example is `examples/readme.rs`: this runs it and checks that the
//! README shows exactly that code.

#[path = "../examples/readme.rs"]
mod example;

#[test]
fn the_readme_example_runs_and_is_the_one_the_readme_shows() {
    example::main();
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let code = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/readme.rs")).unwrap();
    let section = readme
        .split("## Transforms")
        .nth(1)
        .expect("a Transforms section");
    let block = section
        .split("```rust,ignore\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a rust block in the Transforms section");
    assert_eq!(block, code);
}
