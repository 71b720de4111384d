//! Replays the committed corpus of both fuzz targets in an ordinary `cargo test` (no libFuzzer,
//! no instrumentation): every seed and every input the fuzzer kept must still run clean. It also
//! checks that the targets test something: the generated scripts are valid JavaScript, and the
//! byte target's oracle catches bytes out of order.

use std::path::PathBuf;

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            (path, data)
        })
        .collect();
    inputs.sort();
    assert!(inputs.len() >= 8, "the {target} corpus has its seeds");
    inputs
}

#[test]
fn byte_controller_corpus_replays_clean() {
    for (path, data) in corpus("byte_controller") {
        eprintln!("{}", path.display());
        sluicegate_fuzz::byte_controller::run(&data);
    }
}

#[test]
fn js_binding_corpus_replays_clean() {
    for (path, data) in corpus("js_binding") {
        eprintln!("{}", path.display());
        sluicegate_fuzz::js_binding::run(&data);
    }
}

/// Every statement is valid JavaScript: a syntax error would make the whole script a no-op, and
/// the fuzzer would be testing the parser only.
#[test]
fn generated_scripts_parse() {
    for (path, data) in corpus("js_binding") {
        let text = sluicegate_fuzz::js_binding::script(&data);
        let rt = sluicegate_js::Runtime::new().unwrap();
        let source = format!("new Function({:?})", text);
        if let Err(e) = rt.eval(&source) {
            panic!(
                "{}: the generated script does not parse: {e}\n{text}",
                path.display()
            );
        }
    }
}

/// The scripts reach the classes: among the corpus, scripts construct streams and call methods.
#[test]
fn generated_scripts_use_the_classes() {
    let all: String = corpus("js_binding")
        .iter()
        .map(|(_, data)| sluicegate_fuzz::js_binding::script(data))
        .collect();
    for needle in [
        "new ReadableStream(",
        "new WritableStream(",
        "new TransformStream(",
        ".call(S[",
    ] {
        assert!(all.contains(needle), "no script of the corpus contains {needle}");
    }
}
