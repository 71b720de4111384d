//! The async iterator of `ReadableStream`: `values()` and `[Symbol.asyncIterator]`.
//!
//! WebIDL's async iterator machinery (the iterator prototype on `%AsyncIteratorPrototype%`, the
//! ongoing promise that chains `next()` and `return()` calls, the finished flag) is binding glue,
//! in `async_iterator.js`, as browsers generate it from the IDL. The stream's own steps, the
//! standard's "get the next iteration result" and "asynchronous iterator return", are native
//! ([`IteratorReader`]) on the core's default reader.

use rquickjs::class::Trace;
use rquickjs::function::Opt;
use rquickjs::{Class, Ctx, Exception, Function, JsLifetime, Object, Promise, Value};

use super::core_stream::{CoreDefaultReader, JsReadRequest};
use super::promise::{mirror, Settle};
use super::readable_stream::ReadableStream;
use crate::convert::error_from_js;

/// The reader behind one async iterator, with its `preventCancel`; made by `values()`, reachable
/// only from the glue.
#[derive(Trace, JsLifetime)]
#[rquickjs::class(rename = "ReadableStreamAsyncIteratorReader")]
pub struct IteratorReader {
    #[qjs(skip_trace)]
    reader: CoreDefaultReader,
    #[qjs(skip_trace)]
    prevent_cancel: bool,
}

#[rquickjs::methods]
impl IteratorReader {
    /// The standard's "get the next iteration result": a promise for `{ value, done }`; at the end
    /// or on an error the reader is released first.
    pub fn next<'js>(&self, ctx: Ctx<'js>) -> rquickjs::Result<Promise<'js>> {
        let (promise, settle) = Settle::new(&ctx)?;
        let request = JsReadRequest {
            settle,
            release: Some(self.reader.clone()),
        };
        if let Err(e) = self.reader.read_with(request) {
            let (rejected, settle) = Settle::new(&ctx)?;
            settle.reject(&e);
            return Ok(rejected);
        }
        Ok(promise)
    }

    /// The standard's "asynchronous iterator return": cancels the stream with `value` unless
    /// `preventCancel`, and releases the reader.
    #[qjs(rename = "return")]
    pub fn return_<'js>(&self, ctx: Ctx<'js>, value: Opt<Value<'js>>) -> rquickjs::Result<Promise<'js>> {
        if !self.prevent_cancel {
            let value = value.0.unwrap_or_else(|| Value::new_undefined(ctx.clone()));
            // ReadableStreamReaderGenericCancel, then ReadableStreamDefaultReaderRelease.
            let result = self.reader.cancel(error_from_js(&ctx, value));
            self.reader.release_lock();
            return mirror(&ctx, result);
        }
        self.reader.release_lock();
        let (promise, settle) = Settle::new(&ctx)?;
        settle.resolve_with(|ctx| Ok(Value::new_undefined(ctx.clone())));
        Ok(promise)
    }
}

/// `values(options)`'s native half: checks the options and acquires the reader (a `TypeError`
/// when the stream is locked).
fn acquire<'js>(
    ctx: Ctx<'js>,
    stream: Value<'js>,
    options: Value<'js>,
) -> rquickjs::Result<Class<'js, IteratorReader>> {
    let Some(stream) = stream.as_object().and_then(Class::<ReadableStream>::from_object) else {
        return Err(Exception::throw_type(
            &ctx,
            "values() called on an object that is not a ReadableStream",
        ));
    };
    // WebIDL dictionary ReadableStreamIteratorOptions { boolean preventCancel = false; }.
    let prevent_cancel = if options.is_undefined() || options.is_null() {
        false
    } else {
        let Some(o) = options.as_object() else {
            return Err(Exception::throw_type(&ctx, "options must be an object"));
        };
        let v: Value = o.get("preventCancel")?;
        to_boolean(&v)
    };
    let reader = stream.borrow().acquire_reader(&ctx)?;
    Class::instance(
        ctx,
        IteratorReader {
            reader,
            prevent_cancel,
        },
    )
}

/// ECMAScript ToBoolean.
pub(crate) fn to_boolean(v: &Value<'_>) -> bool {
    if let Some(b) = v.as_bool() {
        return b;
    }
    if v.is_undefined() || v.is_null() {
        return false;
    }
    if let Some(n) = v.as_number() {
        return n != 0.0 && !n.is_nan();
    }
    if let Some(s) = v.as_string() {
        return s.to_string().map(|s| !s.is_empty()).unwrap_or(true);
    }
    if v.type_of() == rquickjs::Type::BigInt {
        return v
            .get::<rquickjs::Coerced<i64>>()
            .map(|n| n.0 != 0)
            .unwrap_or(true);
    }
    true
}

/// Installs `ReadableStream.prototype.values` and `[Symbol.asyncIterator]` (the same function),
/// and `ReadableStream.from` (whose glue, `from_iterable.js`, steps an iterator for the core's
/// stream).
pub fn install(ctx: &Ctx<'_>) -> rquickjs::Result<()> {
    let class: Object = ctx.globals().get("ReadableStream")?;
    let proto: Object = class.get("prototype")?;
    let glue: Function = ctx.eval(include_str!("async_iterator.js"))?;
    let acquire = Function::new(ctx.clone(), acquire)?;
    glue.call::<_, ()>((proto, acquire))?;
    let controller: Object = ctx
        .globals()
        .get::<_, Object>("ReadableStreamDefaultController")?
        .get("prototype")?;
    let enqueue: Value = controller.get("enqueue")?;
    let close: Value = controller.get("close")?;
    let from: Function = ctx.eval(include_str!("from_iterable.js"))?;
    let make_stream = Function::new(ctx.clone(), super::readable_stream::from_iterable_stream)?;
    from.call::<_, ()>((class, make_stream, enqueue, close))
}
