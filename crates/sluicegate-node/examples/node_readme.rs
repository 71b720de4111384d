// The Node-style example of the repository's README (kept identical to it by
// `tests/readme.rs`, which also runs it).

use sluicegate_node::{Completion, Pipeline, Readable, Transform, Writable};

fn main() {
    futures::executor::block_on(async {
        // Node style: implementor callbacks, events, pipeline() that tears everything down
        // on error.
        let sink = Writable::from_fn(|line: String| {
            assert!(line.starts_with("ERROR"));
            Completion::ok()
        });
        Pipeline::from(Readable::from_iter([
            "error: disk".to_string(),
            "error: net".to_string(),
        ]))
        .pipe(&Transform::map_fn(|l: String| Some(l.to_uppercase())))
        .to(&sink)
        .await
        .unwrap();
    });
}
