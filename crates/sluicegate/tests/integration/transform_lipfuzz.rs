//! Ported from WPT `streams/transform-streams/lipfuzz.any.js`: a template-substituting
//! transformer with state carried across chunks (a partial `{{tag}}` at the end of one chunk is
//! completed by the next) and a flush() that emits what is left.

use crate::common;
use crate::transform_support;

use std::collections::HashMap;

use common::run;
use sluicegate::transform::{TransformStream, Transformer};
use sluicegate::Completion;
use transform_support::Controller;

/// Replaces `{{name}}` (name: ASCII letters, digits, `_`, `-`) with its substitution (unknown
/// names with nothing), holding back a possibly incomplete template at the end of a chunk.
struct LipFuzz {
    substitutions: HashMap<&'static str, &'static str>,
    partial: String,
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

impl LipFuzz {
    fn new() -> Self {
        LipFuzz {
            substitutions: HashMap::from([
                ("in1", "out1"),
                ("in2", "out2"),
                ("quine", "{{quine}}"),
                ("bogusPartial", "{{incompleteResult}"),
            ]),
            partial: String::new(),
        }
    }

    /// Substitutes every complete template, scanning left to right like a global regular
    /// expression replace. Also returns where the search for a partial template starts: as in the
    /// WPT transformer, the input offset of the last substitution plus its replacement's length.
    fn substitute(&self, chunk: &str) -> (String, usize) {
        let mut out = String::new();
        let mut last_index = 0;
        let mut pos = 0;
        while let Some(found) = chunk[pos..].find("{{") {
            let open = pos + found;
            let after = &chunk[open + 2..];
            let name_len = after.find(|c: char| !is_name_char(c)).unwrap_or(after.len());
            if name_len > 0 && after[name_len..].starts_with("}}") {
                out.push_str(&chunk[pos..open]);
                let replacement = self.substitutions.get(&after[..name_len]).copied().unwrap_or("");
                out.push_str(replacement);
                last_index = open + replacement.len();
                pos = open + 2 + name_len + 2;
            } else {
                out.push_str(&chunk[pos..open + 1]);
                pos = open + 1;
            }
        }
        out.push_str(&chunk[pos..]);
        (out, last_index)
    }

    /// Where a possibly incomplete template (`{`, `{{`, `{{name`, `{{name}`) ends the text, at or
    /// after `from`.
    fn partial_at_end(text: &str, from: usize) -> Option<usize> {
        (from..text.len()).find(|&i| {
            let Some(tail) = text[i..].strip_prefix('{') else {
                return false;
            };
            if tail.is_empty() {
                return true;
            }
            let Some(tail) = tail.strip_prefix('{') else {
                return false;
            };
            let name_len = tail.find(|c: char| !is_name_char(c)).unwrap_or(tail.len());
            let tail = &tail[name_len..];
            tail.is_empty() || (name_len > 0 && tail == "}")
        })
    }
}

impl Transformer<&'static str, String> for LipFuzz {
    fn transform(&mut self, chunk: &'static str, controller: &Controller<String>) -> Completion {
        let joined = std::mem::take(&mut self.partial) + chunk;
        let (mut text, last_index) = self.substitute(&joined);
        if let Some(at) = Self::partial_at_end(&text, last_index) {
            self.partial = text.split_off(at);
        }
        controller.enqueue(text).into()
    }

    fn flush(&mut self, controller: &Controller<String>) -> Completion {
        if self.partial.is_empty() {
            Completion::ok()
        } else {
            controller.enqueue(std::mem::take(&mut self.partial)).into()
        }
    }
}

/// Writes `input` and closes, reads everything back, and compares with `output`.
fn check(input: &[&'static str], output: &[&str]) {
    let input = input.to_vec();
    let output: Vec<String> = output.iter().map(|s| s.to_string()).collect();
    run(async move {
        let ts = TransformStream::new(LipFuzz::new()).unwrap();
        let writer = ts.writable().get_writer().unwrap();
        let mut promises: Vec<_> = input.iter().map(|&chunk| writer.write(chunk)).collect();
        promises.push(writer.close());
        let reader = ts.readable().get_reader().unwrap();
        let mut got = Vec::new();
        while let Some(chunk) = reader.read().await.unwrap() {
            got.push(chunk);
        }
        assert_eq!(got, output, "output for input {input:?}");
        for p in promises {
            p.await.unwrap();
        }
    });
}

#[test]
fn one_empty_chunk() {
    check(&[""], &[""]);
}

#[test]
fn no_chunks() {
    check(&[], &[]);
}

#[test]
fn whole_templates() {
    check(&["{{in1}}"], &["out1"]);
    check(&["z{{in1}}"], &["zout1"]);
    check(&["{{in1}}q"], &["out1q"]);
    check(&["{{in1}}{{in2}}{{in1}}"], &["out1out2out1"]);
}

#[test]
fn a_partial_template_at_the_end_is_held_back() {
    check(&["{{in1}}{{in1}"], &["out1", "{{in1}"]);
    check(&["{{in1}}{{in1}", "}"], &["out1", "out1"]);
}

#[test]
fn templates_split_across_chunks() {
    check(&["{{in1", "}}"], &["", "out1"]);
    check(&["{{", "in1}}"], &["", "out1"]);
    check(&["{", "{in1}}"], &["", "out1"]);
    check(
        &["{", "{", "i", "n", "1", "}", "}"],
        &["", "", "", "", "", "", "out1"],
    );
}

#[test]
fn an_unfinished_template_is_flushed() {
    check(&["{{", "in1}"], &["", "", "{{in1}"]);
    check(&["{"], &["", "{"]);
    check(&["{", ""], &["", "", "{"]);
}

#[test]
fn unknown_names_become_empty() {
    check(&["{{wrong}}"], &[""]);
    check(&["{{wron", "g}}"], &["", ""]);
}

#[test]
fn substituted_text_is_not_substituted_again() {
    check(&["{{quine}}"], &["{{quine}}"]);
    check(&["{{bogusPartial}}"], &["{{incompleteResult}"]);
    check(&["{{bogusPartial}}}"], &["{{incompleteResult}}"]);
}
