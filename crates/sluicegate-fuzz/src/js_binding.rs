//! Fuzz target (b): a generated script of valid and invalid calls on the binding's 13 classes.
//!
//! The fuzzer's bytes pick statements one by one (through [`arbitrary::Unstructured`]); each
//! statement is wrapped in its own `try`, stores its result (or what it threw) in one of a few
//! slots `S[0..8]`, and so feeds later statements: a stream made by one statement is read,
//! locked, piped or teed by the next. Calls go through the prototypes too
//! (`ReadableStream.prototype.cancel.call(S[3], …)`), so every method and getter also meets
//! objects of the wrong class, and arguments come from a pool of hostile values (NaN, negative
//! sizes, detached and misaligned views, getters that throw, re-entrant callbacks).
//!
//! The script runs in a fresh [`sluicegate_js::Runtime`] with a deadline (QuickJS's interrupt
//! handler) and a memory limit; then the job queue is drained. A script's own exceptions are
//! expected; what fails the target is a Rust panic, an abort, or a run that does not end (the
//! fuzzer's timeout).

use std::time::{Duration, Instant};

use arbitrary::{Result, Unstructured};

/// How long one script may run JavaScript before the interrupt handler stops it.
const DEADLINE: Duration = Duration::from_millis(500);

/// The most statements in one script.
const MAX_STATEMENTS: usize = 48;

/// How many value slots a script has.
const SLOTS: u32 = 8;

/// The 13 classes, with the constructor arguments that make a working instance.
const CLASSES: [&str; 13] = [
    "ReadableStream",
    "ReadableStreamDefaultReader",
    "ReadableStreamBYOBReader",
    "ReadableStreamDefaultController",
    "ReadableByteStreamController",
    "ReadableStreamBYOBRequest",
    "WritableStream",
    "WritableStreamDefaultWriter",
    "WritableStreamDefaultController",
    "TransformStream",
    "TransformStreamDefaultController",
    "ByteLengthQueuingStrategy",
    "CountQueuingStrategy",
];

/// Every method and attribute name of the 13 classes (each class is tried with all of them:
/// the wrong ones are `undefined`, and calling them a `TypeError`).
const MEMBERS: [&str; 29] = [
    "getReader",
    "cancel",
    "tee",
    "pipeTo",
    "pipeThrough",
    "values",
    "locked",
    "read",
    "releaseLock",
    "closed",
    "enqueue",
    "close",
    "error",
    "desiredSize",
    "byobRequest",
    "respond",
    "respondWithNewView",
    "view",
    "abort",
    "getWriter",
    "write",
    "ready",
    "signal",
    "terminate",
    "readable",
    "writable",
    "highWaterMark",
    "size",
    "then",
];

/// Values to pass: a mix of good arguments and hostile ones.
const ATOMS: [&str; 40] = [
    "undefined",
    "null",
    "0",
    "1",
    "-1",
    "3",
    "8",
    "NaN",
    "Infinity",
    "-Infinity",
    "2**53",
    "1.5",
    "'x'",
    "true",
    "Symbol('s')",
    "{}",
    "[]",
    "(function () {})",
    "new Uint8Array(0)",
    "new Uint8Array(16)",
    "new Uint8Array(new ArrayBuffer(16), 3, 5)",
    "new Uint16Array(8)",
    "new Int32Array(new ArrayBuffer(32), 4, 2)",
    "new Float64Array(4)",
    "new BigInt64Array(2)",
    "new DataView(new ArrayBuffer(12), 1, 7)",
    "new Uint8ClampedArray(5)",
    "detached()",
    "new ArrayBuffer(8)",
    "{ mode: 'byob' }",
    "{ mode: 'nonsense' }",
    "{ min: 2 }",
    "{ min: 0 }",
    "{ min: 1e9 }",
    "{ preventClose: true, preventAbort: true, preventCancel: true }",
    "{ signal: ac.signal }",
    "{ highWaterMark: 2 }",
    "{ highWaterMark: -1 }",
    "{ highWaterMark: NaN }",
    "{ get highWaterMark() { throw new Error('getter'); } }",
];

/// What the helper functions the statements use look like: a slot array, an abort controller
/// that statements may abort, and a detached buffer.
const PRELUDE: &str = r#"
var S = new Array(8).fill(undefined);
var ac = new AbortController();
function detached() { const b = new ArrayBuffer(8); structuredClone(b, { transfer: [b] }); return new Uint8Array(b); }
function keep(i, v) { S[i] = v; return v; }
"#;

fn slot(u: &mut Unstructured<'_>) -> Result<u32> {
    u.int_in_range(0..=SLOTS - 1)
}

fn number(u: &mut Unstructured<'_>) -> Result<String> {
    Ok(match u.int_in_range(0..=5u8)? {
        0 => "0".into(),
        1 => "NaN".into(),
        2 => "-1".into(),
        3 => "Infinity".into(),
        _ => u.int_in_range(1..=64u32)?.to_string(),
    })
}

/// A statement run inside a callback: small, no callbacks of its own.
fn callback_body(u: &mut Unstructured<'_>, controller: &str) -> Result<String> {
    let mut body = String::new();
    for _ in 0..u.int_in_range(0..=3u8)? {
        let s = match u.int_in_range(0..=8u8)? {
            0 => format!("{controller}.enqueue(new Uint8Array({}));", number(u)?),
            1 => format!("{controller}.enqueue({});", u.choose(&ATOMS)?),
            2 => format!("{controller}.close();"),
            3 => format!("{controller}.error({});", u.choose(&ATOMS)?),
            4 => format!(
                "if ({controller}.byobRequest) {controller}.byobRequest.respond({});",
                number(u)?
            ),
            5 => format!("keep({}, {controller});", slot(u)?),
            6 => "throw new Error('callback');".to_string(),
            7 => format!("return Promise.reject({});", u.choose(&ATOMS)?),
            _ => format!("{controller}.terminate && {controller}.terminate();"),
        };
        body.push_str(&s);
    }
    Ok(body)
}

/// An underlying source, sink, transformer or strategy.
fn dictionary(u: &mut Unstructured<'_>) -> Result<String> {
    Ok(match u.int_in_range(0..=5u8)? {
        0 => format!(
            "{{ start(c) {{ {} }}, pull(c) {{ {} }}, cancel(r) {{ {} }} }}",
            callback_body(u, "c")?,
            callback_body(u, "c")?,
            callback_body(u, "S[0]")?
        ),
        1 => format!(
            "{{ type: 'bytes', autoAllocateChunkSize: {}, start(c) {{ {} }}, pull(c) {{ {} }} }}",
            u.choose(&["undefined", "0", "1", "7", "16", "-1", "NaN"])?,
            callback_body(u, "c")?,
            callback_body(u, "c")?
        ),
        2 => format!(
            "{{ start(c) {{ {} }}, write(chunk, c) {{ {} }}, close() {{ {} }}, abort(r) {{ {} }} }}",
            callback_body(u, "c")?,
            callback_body(u, "c")?,
            callback_body(u, "S[1]")?,
            callback_body(u, "S[2]")?
        ),
        3 => format!(
            "{{ start(c) {{ {} }}, transform(chunk, c) {{ c.enqueue(chunk); {} }}, flush(c) {{ {} }} }}",
            callback_body(u, "c")?,
            callback_body(u, "c")?,
            callback_body(u, "c")?
        ),
        4 => format!(
            "{{ highWaterMark: {}, size(chunk) {{ return {}; }} }}",
            number(u)?,
            u.choose(&["1", "-1", "NaN", "Infinity", "undefined", "chunk.length", "'2'"])?
        ),
        _ => format!(
            "{{ type: {} }}",
            u.choose(&["'bytes'", "'other'", "undefined", "{}"])?
        ),
    })
}

fn argument(u: &mut Unstructured<'_>) -> Result<String> {
    Ok(match u.int_in_range(0..=9u8)? {
        0..=3 => u.choose(&ATOMS)?.to_string(),
        4..=6 => format!("S[{}]", slot(u)?),
        _ => dictionary(u)?,
    })
}

fn arguments(u: &mut Unstructured<'_>) -> Result<String> {
    let n = u.int_in_range(0..=3u8)?;
    let mut list = Vec::new();
    for _ in 0..n {
        list.push(argument(u)?);
    }
    Ok(list.join(", "))
}

/// One statement, its result kept in a slot.
fn statement(u: &mut Unstructured<'_>) -> Result<String> {
    let target = slot(u)?;
    let expression = match u.int_in_range(0..=9u8)? {
        0 | 1 => format!("new {}({})", u.choose(&CLASSES)?, arguments(u)?),
        2..=4 => format!("S[{}][{:?}]({})", slot(u)?, u.choose(&MEMBERS)?, arguments(u)?),
        5 => format!("S[{}][{:?}]", slot(u)?, u.choose(&MEMBERS)?),
        6 => format!(
            "{}.prototype[{:?}].call(S[{}], {})",
            u.choose(&CLASSES)?,
            u.choose(&MEMBERS)?,
            slot(u)?,
            arguments(u)?
        ),
        7 => format!(
            "Object.getOwnPropertyDescriptor({}.prototype, {:?}).get.call(S[{}])",
            u.choose(&CLASSES)?,
            u.choose(&MEMBERS)?,
            slot(u)?
        ),
        8 => format!(
            "S[{}].then((v) => keep({}, v && typeof v === 'object' && 'value' in v ? v.value : v), (e) => keep({}, e))",
            slot(u)?,
            slot(u)?,
            slot(u)?
        ),
        _ => match u.int_in_range(0..=2u8)? {
            0 => "ac.abort(S[0])".to_string(),
            1 => format!("ReadableStream.from(S[{}])", slot(u)?),
            _ => format!("S[{}][Symbol.asyncIterator]().next()", slot(u)?),
        },
    };
    Ok(format!(
        "try {{ S[{target}] = {expression}; }} catch (e) {{ S[{target}] = e; }}\n"
    ))
}

/// The script `data` stands for.
pub fn script(data: &[u8]) -> String {
    let mut u = Unstructured::new(data);
    let mut text = String::from(PRELUDE);
    for _ in 0..MAX_STATEMENTS {
        if u.is_empty() {
            break;
        }
        match statement(&mut u) {
            Ok(s) => text.push_str(&s),
            Err(_) => break,
        }
    }
    text
}

/// Runs one fuzzer input: the script it stands for, then the job queue, under the deadline.
/// Panics (the fuzzer's crash) only if the binding or the core does.
pub fn run(data: &[u8]) {
    let text = script(data);
    let runtime = sluicegate_js::Runtime::new().expect("a runtime");
    let deadline = Instant::now() + DEADLINE;
    runtime
        .quickjs()
        .set_interrupt_handler(Some(Box::new(move || Instant::now() > deadline)));
    runtime.quickjs().set_memory_limit(64 << 20);
    // The script's exceptions (and the interrupt's) are its own business.
    let _ = runtime.eval(&text);
    let _ = runtime.run_jobs();
}
