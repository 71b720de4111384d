//! The `sluice` global of `sluicejs`: files and the standard streams as web streams, backed by the
//! core's byte streams (`sluicegate::io`), so a script can stream a real file through a
//! `TransformStream` into another file in bounded memory.
//!
//! | JavaScript | what it is |
//! |---|---|
//! | `sluice.open(path, { chunkSize })` | `ReadableStream` of `Uint8Array`s (a byte stream), read ahead by a thread (`io::file_source`) |
//! | `sluice.create(path)` | `WritableStream` taking `Uint8Array`, `ArrayBuffer` or string chunks, written behind by a thread (`io::file_sink`); creates or truncates |
//! | `sluice.stdin` | `ReadableStream` of the standard input (`io::stdin`), chunks as they arrive |
//! | `sluice.stdout`, `sluice.stderr` | `WritableStream`s of the standard output and error |
//! | `sluice.args` | the arguments after the script's path |
//! | `sluice.exit(code)` | ends the process now with `code` |
//!
//! A missing or unreadable file makes `open`/`create` throw an `Error` (with `code` `ENOENT`,
//! `EACCES`, …), as `fs.createReadStream` reports one.
//!
//! # Memory
//!
//! Each JS stream sits over a native one: the file's reading thread runs at most
//! `io::READ_AHEAD` chunks ahead, the JS readable has a high-water mark of 0 (it pulls one chunk
//! per read), and the JS writable holds at most [`WRITE_HIGH_WATER_MARK`] chunks besides the
//! native sink's 64 KiB. So memory is bounded by a few chunks, whatever the file's size.
//!
//! # The event loop
//!
//! While a read or write waits on one of these threads, the runner must not exit: each such wait
//! holds an [`IoRefs`] count, and the runner sleeps until the thread's wake-up instead of ending.
//! `console.log` writes to stdout at once, `sluice.stdout` when its thread gets to the chunk (both
//! through Rust's one stdout): mixing the two can interleave their output out of call order.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use rquickjs::{Array, ArrayBuffer, Class, Ctx, Exception, Function, Object, Value};
use sluicegate::readable::{ByteSourceFn, ReadableStream};
use sluicegate::writable::{
    UnderlyingSink, WritableStream, WritableStreamDefaultController, WritableStreamDefaultWriter,
};
use sluicegate::{io, Completion, StreamError};

use crate::runtime::{host_of, JsHost};
use crate::streams::readable_stream::ReadableStream as JsReadableStream;
use crate::streams::writable_stream::WritableStream as JsWritableStream;
use crate::value::JsValue;

/// How many chunks a `sluice.create` / `sluice.stdout` stream queues before `write()` waits.
pub const WRITE_HIGH_WATER_MARK: f64 = 4.0;

/// The default chunk size of `sluice.open`: 64 KiB.
pub const DEFAULT_CHUNK_SIZE: usize = 64 * 1024;

/// How many reads and writes are waiting on an I/O thread; the runner keeps going while any is.
#[derive(Clone, Debug, Default)]
pub struct IoRefs(Arc<AtomicUsize>);

impl IoRefs {
    /// The number of waits in progress.
    pub fn pending(&self) -> usize {
        self.0.load(Ordering::Acquire)
    }

    fn hold(&self) -> IoRef {
        self.0.fetch_add(1, Ordering::AcqRel);
        IoRef(self.0.clone())
    }
}

/// One wait in progress, released when dropped.
struct IoRef(Arc<AtomicUsize>);

impl Drop for IoRef {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Defines `sluice` on the global object. Must be called inside a tokio runtime's context (its
/// blocking pool runs the file threads), on the runtime's thread.
pub fn install(ctx: &Ctx<'_>, refs: &IoRefs, args: &[String]) -> rquickjs::Result<()> {
    let host = host_of(ctx).ok_or(rquickjs::Error::Unknown)?;
    let sluice = Object::new(ctx.clone())?;

    let (h, r) = (host.clone(), refs.clone());
    sluice.set(
        "open",
        Function::new(
            ctx.clone(),
            with_options(move |ctx, path, options| open(&ctx, &h, &r, &path, options.0)),
        )?
        .with_name("open")?,
    )?;
    let (h, r) = (host.clone(), refs.clone());
    sluice.set(
        "create",
        Function::new(
            ctx.clone(),
            with_path(move |ctx, path| create(&ctx, &h, &r, &path)),
        )?
        .with_name("create")?,
    )?;
    sluice.set(
        "exit",
        Function::new(ctx.clone(), |code: rquickjs::function::Opt<i32>| -> () {
            use std::io::Write;
            let _ = std::io::stdout().flush();
            std::process::exit(code.0.unwrap_or(0))
        })?
        .with_name("exit")?,
    )?;
    let list = Array::new(ctx.clone())?;
    for (i, a) in args.iter().enumerate() {
        list.set(i, a.as_str())?;
    }
    sluice.set("args", list)?;
    sluice.set("version", env!("CARGO_PKG_VERSION"))?;

    // The standard streams, made on first use and the same object after.
    let (h, r) = (host.clone(), refs.clone());
    let stdin = Function::new(ctx.clone(), maker(move |ctx| stdin(&ctx, &h, &r)))?;
    let (h, r) = (host.clone(), refs.clone());
    let stdout = Function::new(
        ctx.clone(),
        maker(move |ctx| std_sink(&ctx, &h, &r, io::stdout(), "the standard output")),
    )?;
    let (h, r) = (host, refs.clone());
    let stderr = Function::new(
        ctx.clone(),
        maker(move |ctx| std_sink(&ctx, &h, &r, io::stderr(), "the standard error")),
    )?;
    let define: Function = ctx.eval(
        r#"((sluice, makers) => {
          for (const [name, make] of Object.entries(makers)) {
            let made;
            Object.defineProperty(sluice, name, { get() { return made ??= make(); }, enumerable: true });
          }
          Object.defineProperty(globalThis, 'sluice', { value: sluice, writable: true, configurable: true });
        })"#,
    )?;
    let makers = Object::new(ctx.clone())?;
    makers.set("stdin", stdin)?;
    makers.set("stdout", stdout)?;
    makers.set("stderr", stderr)?;
    define.call::<_, ()>((sluice, makers))
}

// Closures callable from JS for every `'js` (the signature is spelled out once, here).
fn with_options<F>(f: F) -> F
where
    F: for<'js> Fn(Ctx<'js>, String, rquickjs::function::Opt<Value<'js>>) -> rquickjs::Result<Value<'js>>
        + 'static,
{
    f
}

fn with_path<F>(f: F) -> F
where
    F: for<'js> Fn(Ctx<'js>, String) -> rquickjs::Result<Value<'js>> + 'static,
{
    f
}

fn maker<F>(f: F) -> F
where
    F: for<'js> Fn(Ctx<'js>) -> rquickjs::Result<Value<'js>> + 'static,
{
    f
}

/// A JS `Error` for a failed open, with Node's `code` for the common causes.
fn io_exception(ctx: &Ctx<'_>, what: &str, path: &str, e: &std::io::Error) -> rquickjs::Error {
    match js_io_error(ctx, &format!("cannot {what} '{path}'"), e) {
        Ok(error) => {
            let _ = error.as_object().set("path", path);
            ctx.throw(error.into_value())
        }
        Err(e) => e,
    }
}

/// Node's `code` for the common I/O errors.
fn error_code(e: &std::io::Error) -> Option<&'static str> {
    use std::io::ErrorKind::*;
    Some(match e.kind() {
        NotFound => "ENOENT",
        PermissionDenied => "EACCES",
        IsADirectory => "EISDIR",
        AlreadyExists => "EEXIST",
        BrokenPipe => "EPIPE",
        StorageFull => "ENOSPC",
        _ => return None,
    })
}

/// A JS `Error` reading `<context>: <e>`, with its `code`.
fn js_io_error<'js>(ctx: &Ctx<'js>, context: &str, e: &std::io::Error) -> rquickjs::Result<Exception<'js>> {
    let error = Exception::from_message(ctx.clone(), &format!("{context}: {e}"))?;
    if let Some(code) = error_code(e) {
        error.as_object().set("code", code)?;
    }
    Ok(error)
}

/// A core error from an I/O thread as the error script sees: an `io::Error` becomes a JS `Error`
/// with its message and `code` (instead of the `io::Error`'s debug form); others pass as they are.
fn script_error(host: &JsHost, context: &str, e: StreamError) -> StreamError {
    let Some(io) = e.reason::<std::io::Error>() else {
        return e;
    };
    host.with_ctx(|ctx| {
        let error = js_io_error(ctx, context, io).ok()?;
        JsValue::new(ctx, error.into_value())
    })
    .flatten()
    .map_or(e, StreamError::user)
}

fn open<'js>(
    ctx: &Ctx<'js>,
    host: &Arc<JsHost>,
    refs: &IoRefs,
    path: &str,
    options: Option<Value<'js>>,
) -> rquickjs::Result<Value<'js>> {
    let mut chunk_size = DEFAULT_CHUNK_SIZE;
    if let Some(o) = options.as_ref().and_then(|o| o.as_object()) {
        if let Some(n) = o.get::<_, Option<f64>>("chunkSize")? {
            if !(n >= 1.0 && n <= (1u64 << 30) as f64) {
                return Err(Exception::throw_range(
                    ctx,
                    "chunkSize must be between 1 and 2^30",
                ));
            }
            chunk_size = n as usize;
        }
    }
    let file = std::fs::File::open(path).map_err(|e| io_exception(ctx, "open", path, &e))?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        let e = std::io::Error::from(std::io::ErrorKind::IsADirectory);
        return Err(io_exception(ctx, "open", path, &e));
    }
    let backing = io::file_source_from(file, chunk_size).map_err(|e| io_exception(ctx, "read", path, &e))?;
    readable_over(ctx, host, refs, backing, format!("'{path}'"))
}

fn stdin<'js>(ctx: &Ctx<'js>, host: &Arc<JsHost>, refs: &IoRefs) -> rquickjs::Result<Value<'js>> {
    readable_over(ctx, host, refs, io::stdin(), "the standard input".into())
}

/// A JS readable byte stream on the runtime's host that reads `backing` (a native byte stream on
/// its own host) one chunk per pull, moving the chunks without a copy until they reach script.
fn readable_over<'js>(
    ctx: &Ctx<'js>,
    host: &Arc<JsHost>,
    refs: &IoRefs,
    backing: ReadableStream<Bytes>,
    what: String,
) -> rquickjs::Result<Value<'js>> {
    let throw = |e: StreamError| Exception::throw_type(ctx, e.message());
    let reader = backing.get_reader().map_err(throw)?;
    let cancel_reader = reader.clone();
    let refs = refs.clone();
    let on_host = host.clone();
    let source = ByteSourceFn::new()
        .pull(move |c| {
            let (reader, c, held) = (reader.clone(), c.clone(), refs.hold());
            let (host, what) = (on_host.clone(), what.clone());
            Completion::future(async move {
                let read = reader.read().await;
                drop(held);
                match read.map_err(|e| script_error(&host, &format!("cannot read {what}"), e))? {
                    Some(chunk) => c.enqueue(chunk),
                    None => {
                        c.close()?;
                        match c.byob_request() {
                            Some(request) => request.respond(0),
                            None => Ok(()),
                        }
                    }
                }
            })
        })
        .cancel(move |reason| {
            let cancelled = cancel_reader.cancel(reason);
            Completion::future(cancelled)
        });
    let stream = ReadableStream::with_byte_host(source, None, host.clone()).map_err(throw)?;
    let js = JsReadableStream::from_core_bytes(host, stream);
    Ok(Class::instance(ctx.clone(), js)?.into_value())
}

fn create<'js>(
    ctx: &Ctx<'js>,
    host: &Arc<JsHost>,
    refs: &IoRefs,
    path: &str,
) -> rquickjs::Result<Value<'js>> {
    let file = std::fs::File::create(path).map_err(|e| io_exception(ctx, "create", path, &e))?;
    let backing = io::file_sink_from(file, io::DEFAULT_HIGH_WATER_MARK)
        .map_err(|e| io_exception(ctx, "write", path, &e))?;
    writable_over(ctx, host, refs, backing, format!("'{path}'"), false)
}

fn std_sink<'js>(
    ctx: &Ctx<'js>,
    host: &Arc<JsHost>,
    refs: &IoRefs,
    backing: WritableStream<Bytes>,
    name: &str,
) -> rquickjs::Result<Value<'js>> {
    writable_over(ctx, host, refs, backing, name.to_owned(), true)
}

/// A JS writable stream on the runtime's host whose chunks (views, buffers or strings) are copied
/// once into `Bytes` and written to `backing`.
fn writable_over<'js>(
    ctx: &Ctx<'js>,
    host: &Arc<JsHost>,
    refs: &IoRefs,
    backing: WritableStream<Bytes>,
    what: String,
    standard: bool,
) -> rquickjs::Result<Value<'js>> {
    let throw = |e: StreamError| Exception::throw_type(ctx, e.message());
    let writer = backing.get_writer().map_err(throw)?;
    let sink = BytesSink {
        host: host.clone(),
        refs: refs.clone(),
        writer,
        what,
        standard,
    };
    let stream = WritableStream::with_host(
        sink,
        sluicegate::CountQueuingStrategy::new(WRITE_HIGH_WATER_MARK),
        host.clone(),
    )
    .map_err(throw)?;
    crate::streams::writable_stream::keep_until_settled(host, &stream);
    let js = JsWritableStream::from_core(stream);
    Ok(Class::instance(ctx.clone(), js)?.into_value())
}

/// The sink of a `sluice.create` / `sluice.stdout` stream: writes to a native byte stream.
struct BytesSink {
    host: Arc<JsHost>,
    refs: IoRefs,
    writer: WritableStreamDefaultWriter<Bytes>,
    /// What is written, for error messages.
    what: String,
    /// The standard output or error: a closed pipe ends the process quietly.
    standard: bool,
}

impl BytesSink {
    fn waiting(&self, done: sluicegate::Promised<()>) -> Completion {
        let held = self.refs.hold();
        let (host, what, standard) = (self.host.clone(), self.what.clone(), self.standard);
        Completion::future(async move {
            let result = done.await;
            drop(held);
            result.map_err(|e| {
                let broken = e
                    .reason::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe);
                if standard && broken {
                    // The reader went away (`sluicejs x.js | head`): end quietly, as a shell
                    // tool does.
                    std::process::exit(0);
                }
                script_error(&host, &format!("cannot write to {what}"), e)
            })
        })
    }
}

impl UnderlyingSink<JsValue> for BytesSink {
    fn write(&mut self, chunk: JsValue, _: &WritableStreamDefaultController<JsValue>) -> Completion {
        let bytes = self
            .host
            .with_ctx(|ctx| match chunk.get(ctx) {
                Some(v) => chunk_bytes(&v),
                None => Err(StreamError::type_error("the chunk is gone")),
            })
            .unwrap_or_else(|| Err(StreamError::type_error("the JS runtime is gone")));
        match bytes {
            Ok(bytes) => self.waiting(self.writer.write(bytes)),
            Err(e) => {
                // The stream errors with `e`: abort the file's side too, so its thread writes what
                // it holds and closes the file now rather than when the runtime goes.
                let aborted = self.writer.abort(e.clone());
                let held = self.refs.hold();
                Completion::future(async move {
                    let _ = aborted.await;
                    drop(held);
                    Err(e)
                })
            }
        }
    }

    fn close(&mut self) -> Completion {
        self.waiting(self.writer.close())
    }

    fn abort(&mut self, reason: StreamError) -> Completion {
        self.waiting(self.writer.abort(reason))
    }
}

/// The bytes of a chunk: an `ArrayBufferView`'s range, an `ArrayBuffer`, or a string as UTF-8.
fn chunk_bytes(v: &Value<'_>) -> Result<Bytes, StreamError> {
    const WRONG: &str =
        "a file stream takes Uint8Array (or any ArrayBufferView), ArrayBuffer or string chunks";
    if let Some(s) = v.as_string() {
        let s = s
            .to_string()
            .map_err(|e| StreamError::type_error(e.to_string()))?;
        return Ok(Bytes::from(s));
    }
    let Some(o) = v.as_object() else {
        return Err(StreamError::type_error(WRONG));
    };
    let detached = || StreamError::type_error("the chunk's buffer is detached");
    if let Some(buffer) = ArrayBuffer::from_object(o.clone()) {
        return buffer.as_bytes().map(Bytes::copy_from_slice).ok_or_else(detached);
    }
    let buffer: Option<Object> = o.get("buffer").ok();
    let Some(buffer) = buffer.and_then(ArrayBuffer::from_object) else {
        return Err(StreamError::type_error(WRONG));
    };
    let offset: usize = o
        .get::<_, f64>("byteOffset")
        .map_err(|_| StreamError::type_error(WRONG))? as usize;
    let length: usize = o
        .get::<_, f64>("byteLength")
        .map_err(|_| StreamError::type_error(WRONG))? as usize;
    let bytes = buffer.as_bytes().ok_or_else(detached)?;
    bytes
        .get(offset..offset + length)
        .map(Bytes::copy_from_slice)
        .ok_or_else(|| StreamError::range_error("the view lies outside its buffer"))
}
