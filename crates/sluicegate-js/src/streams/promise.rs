//! JS promises settled by the core: a read request whose steps settle a JS promise, and a core
//! [`Promised`] mirrored into a JS promise at the moment it settles.

use rquickjs::{Ctx, Object, Promise, Value};
use sluicegate::Promised;
use sluicegate::StreamError;

use crate::convert::error_to_js;
use crate::runtime::{host_of, JsHost};
use crate::value::JsValue;
use std::sync::Arc;

/// A JS promise's resolving functions, held by the core.
pub(crate) struct Settle {
    host: Arc<JsHost>,
    resolve: JsValue,
    reject: JsValue,
}

impl Settle {
    /// A new JS promise and its settle handle.
    pub(crate) fn new<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<(Promise<'js>, Settle)> {
        let (promise, resolve, reject) = ctx.promise()?;
        let host = host_of(ctx).ok_or(rquickjs::Error::Unknown)?;
        let resolve = JsValue::new(ctx, resolve.into_value()).ok_or(rquickjs::Error::Unknown)?;
        let reject = JsValue::new(ctx, reject.into_value()).ok_or(rquickjs::Error::Unknown)?;
        Ok((
            promise,
            Settle {
                host,
                resolve,
                reject,
            },
        ))
    }

    /// Resolves with the value `make` builds (run inside the runtime).
    pub(crate) fn resolve_with(self, make: impl for<'js> FnOnce(&Ctx<'js>) -> rquickjs::Result<Value<'js>>) {
        let resolve = self.resolve;
        self.host.with_ctx(|ctx| {
            if let (Some(f), Ok(v)) = (resolve.get(ctx).and_then(|f| f.into_function()), make(ctx)) {
                let _ = f.call::<_, ()>((v,));
            }
        });
    }

    /// Rejects with `e` as its JS value.
    pub(crate) fn reject(self, e: &StreamError) {
        let reject = self.reject;
        self.host.with_ctx(|ctx| {
            if let (Some(f), Ok(v)) = (
                reject.get(ctx).and_then(|f| f.into_function()),
                error_to_js(ctx, e),
            ) {
                let _ = f.call::<_, ()>((v,));
            }
        });
    }
}

/// `{ value, done }`.
pub(crate) fn iter_result<'js>(
    ctx: &Ctx<'js>,
    value: Value<'js>,
    done: bool,
) -> rquickjs::Result<Value<'js>> {
    let o = Object::new(ctx.clone())?;
    o.set("value", value)?;
    o.set("done", done)?;
    Ok(o.into_value())
}

/// A JS promise that settles (with `undefined` or the error) when `promised` does.
pub(crate) fn mirror<'js>(ctx: &Ctx<'js>, promised: Promised<()>) -> rquickjs::Result<Promise<'js>> {
    let (promise, settle) = Settle::new(ctx)?;
    promised.on_settle(move |r| match r {
        Ok(()) => settle.resolve_with(|ctx| Ok(Value::new_undefined(ctx.clone()))),
        Err(e) => settle.reject(&e),
    });
    Ok(promise)
}

/// A promise getter or method that must hand script the same object for the same promise (a
/// reader's `closed`, a writer's `ready`, the pending abort's promise): the JS promise made for
/// `current` last time if `current` is still the same core promise, otherwise a new mirror of it
/// (kept for next time).
pub(crate) fn same_promise<'js>(
    ctx: &Ctx<'js>,
    cache: &parking_lot::Mutex<Option<(Promised<()>, JsValue)>>,
    current: Promised<()>,
) -> rquickjs::Result<Promise<'js>> {
    let mut cache = cache.lock();
    if let Some((core, js)) = cache.as_ref() {
        if core.is_same(&current) {
            if let Some(p) = js.get(ctx).and_then(|v| v.into_promise()) {
                return Ok(p);
            }
        }
    }
    let promise = mirror(ctx, current.clone())?;
    if let Some(held) = JsValue::new(ctx, promise.clone().into_value()) {
        *cache = Some((current, held));
    }
    Ok(promise)
}

/// Like [`same_promise`], for a promise the standard marks as handled when the stream rejects it
/// (a reader's or writer's `closed`, a writer's `ready`): a rejection nobody handles is then not
/// an unhandled rejection (see [`is_marked_handled`]).
pub(crate) fn same_promise_handled<'js>(
    ctx: &Ctx<'js>,
    cache: &parking_lot::Mutex<Option<(Promised<()>, JsValue)>>,
    current: Promised<()>,
) -> rquickjs::Result<Promise<'js>> {
    let promise = same_promise(ctx, cache, current)?;
    mark_handled(ctx, &promise)?;
    Ok(promise)
}

/// The glue name of the `WeakSet` of promises marked handled.
const HANDLED: &str = "promises.handled";

fn mark_handled<'js>(ctx: &Ctx<'js>, promise: &Promise<'js>) -> rquickjs::Result<()> {
    let host = host_of(ctx).ok_or(rquickjs::Error::Unknown)?;
    let set = match host.glue_value(ctx, HANDLED) {
        Some(set) => set,
        None => {
            let set: Value = ctx.eval("new WeakSet()")?;
            if let Some(held) = JsValue::new(ctx, set.clone()) {
                host.set_glue(HANDLED, held);
            }
            set
        }
    };
    let set = set.into_object().ok_or(rquickjs::Error::Unknown)?;
    let add: rquickjs::Function = set.get("add")?;
    add.call::<_, Value>((rquickjs::function::This(set), promise.clone()))?;
    Ok(())
}

/// Whether `promise` is one the standard marks as handled (see [`same_promise_handled`]): a
/// runner's rejection tracker skips it, as a browser does.
pub(crate) fn is_marked_handled<'js>(ctx: &Ctx<'js>, promise: &Value<'js>) -> bool {
    let Some(set) = host_of(ctx)
        .and_then(|host| host.glue_value(ctx, HANDLED))
        .and_then(|v| v.into_object())
    else {
        return false;
    };
    let has: Option<rquickjs::Function> = set.get("has").ok();
    has.and_then(|has| {
        has.call::<_, bool>((rquickjs::function::This(set), promise.clone()))
            .ok()
    })
    .unwrap_or(false)
}
