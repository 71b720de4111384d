//! The controller members script calls on every chunk, as plain QuickJS C functions.
//!
//! A method made by rquickjs's class macros is a Rust function object: each call goes through
//! its class's call handler, a panic guard, and parameter extraction that duplicates the context
//! and every argument (and frees them after), about 500 instructions before the method's own
//! body. A JS pipe calls `desiredSize` and `enqueue` of a readable stream's controller and
//! `enqueue` of a transform stream's controller on every chunk, so [`install`] replaces those
//! three on their prototypes (before the WebIDL shapes are applied, which name them and set their
//! lengths as they do for the class's own) with C functions that borrow `this` and the argument
//! for the call and run the same bodies ([`ReadableStreamDefaultController::desired_size_of`],
//! [`ReadableStreamDefaultController::enqueue_ref`],
//! [`TransformStreamDefaultController::enqueue_ref`]).

use std::ffi::{c_int, CStr};
use std::mem::ManuallyDrop;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::{self, NonNull};

use rquickjs::{qjs, Class, Ctx, Exception, Object, Value};

use super::default_controller::ReadableStreamDefaultController;
use super::transform_controller::TransformStreamDefaultController;
use crate::runtime::host_of;

/// The body of a native member: the call's context, `this` and first argument (if any), all
/// borrowed; the result must own no reference (a number, `null` or `undefined`).
type Body = for<'js> fn(&Ctx<'js>, &Value<'js>, Option<&Value<'js>>) -> rquickjs::Result<Plain>;

/// A result that QuickJS counts no reference to.
enum Plain {
    Undefined,
    Number(Option<f64>),
}

/// Runs `body` for a call from QuickJS, turning its error into a thrown exception and its panic
/// into an `InternalError` (the panic is kept for [`crate::Runtime::run_jobs`] to re-raise, as
/// for a panic in any step: it must not unwind through QuickJS's C frames).
///
/// # Safety
///
/// `raw` is the calling context, and `this` and the `argc` values at `argv` are the call's
/// arguments, valid for the call (what QuickJS passes a C function).
unsafe fn native_call(
    raw: *mut qjs::JSContext,
    this: qjs::JSValue,
    argc: c_int,
    argv: *mut qjs::JSValue,
    body: Body,
) -> qjs::JSValue {
    let Some(raw) = NonNull::new(raw) else {
        return qjs::JS_EXCEPTION;
    };
    // SAFETY: `raw` is the live context calling us (on its thread, inside QuickJS); `from_raw`
    // takes a reference to it, which `ctx`'s drop gives back.
    let ctx = unsafe { Ctx::from_raw(raw) };
    // SAFETY: `this` and the first argument are valid for the call, which outlives these views.
    // Each view is a value with a bitwise copy of `ctx` that is never dropped (`ManuallyDrop`),
    // so neither the value's nor the context's reference count is touched: the caller keeps
    // owning both. A body that keeps a value clones it (`JsValue::new_ref`), taking its own
    // references.
    let this = ManuallyDrop::new(unsafe { Value::from_raw(ptr::read(&ctx), this) });
    let arg = (argc > 0 && !argv.is_null())
        .then(|| ManuallyDrop::new(unsafe { Value::from_raw(ptr::read(&ctx), *argv) }));
    let result = catch_unwind(AssertUnwindSafe(|| body(&ctx, &this, arg.as_deref())));
    match result {
        Ok(Ok(Plain::Undefined)) => qjs::JS_UNDEFINED,
        Ok(Ok(Plain::Number(size))) => {
            let value = crate::convert::desired_size_to_js(ctx.clone(), size);
            // A number or `null`: no reference to give away, so the raw value is the result.
            value.as_raw()
        }
        Ok(Err(rquickjs::Error::Exception)) => qjs::JS_EXCEPTION,
        Ok(Err(e @ rquickjs::Error::FromJs { .. })) => {
            Exception::throw_type(&ctx, &e.to_string());
            qjs::JS_EXCEPTION
        }
        Ok(Err(e)) => {
            Exception::throw_internal(&ctx, &e.to_string());
            qjs::JS_EXCEPTION
        }
        Err(panic) => {
            if let Some(host) = host_of(&ctx) {
                host.stash_panic(panic);
            }
            Exception::throw_internal(&ctx, "a native stream method panicked");
            qjs::JS_EXCEPTION
        }
    }
}

unsafe extern "C" fn readable_desired_size(
    ctx: *mut qjs::JSContext,
    this: qjs::JSValue,
    argc: c_int,
    argv: *mut qjs::JSValue,
) -> qjs::JSValue {
    // SAFETY: QuickJS calls this with the call's context and arguments.
    unsafe {
        native_call(ctx, this, argc, argv, |_, this, _| {
            ReadableStreamDefaultController::desired_size_of(this).map(Plain::Number)
        })
    }
}

unsafe extern "C" fn readable_enqueue(
    ctx: *mut qjs::JSContext,
    this: qjs::JSValue,
    argc: c_int,
    argv: *mut qjs::JSValue,
) -> qjs::JSValue {
    // SAFETY: QuickJS calls this with the call's context and arguments.
    unsafe {
        native_call(ctx, this, argc, argv, |ctx, this, chunk| {
            ReadableStreamDefaultController::enqueue_ref(ctx, this, chunk).map(|()| Plain::Undefined)
        })
    }
}

unsafe extern "C" fn transform_enqueue(
    ctx: *mut qjs::JSContext,
    this: qjs::JSValue,
    argc: c_int,
    argv: *mut qjs::JSValue,
) -> qjs::JSValue {
    // SAFETY: QuickJS calls this with the call's context and arguments.
    unsafe {
        native_call(ctx, this, argc, argv, |ctx, this, chunk| {
            TransformStreamDefaultController::enqueue_ref(ctx, this, chunk).map(|()| Plain::Undefined)
        })
    }
}

/// A new C function object for `f`, named `name`.
fn c_function<'js>(ctx: &Ctx<'js>, f: qjs::JSCFunction, name: &CStr) -> rquickjs::Result<Value<'js>> {
    // SAFETY: `ctx` is live; `name` is a NUL-terminated string QuickJS copies; `f` has the
    // generic C function signature. The result is owned (or the exception marker, checked).
    let raw = unsafe {
        qjs::JS_NewCFunction2(
            ctx.as_raw().as_ptr(),
            f,
            name.as_ptr(),
            0,
            qjs::JSCFunctionEnum_JS_CFUNC_generic,
            0,
        )
    };
    // SAFETY: an owned value of this context (`from_raw` takes its reference).
    let value = unsafe { Value::from_raw(ctx.clone(), raw) };
    if value.is_exception() {
        return Err(rquickjs::Error::Exception);
    }
    Ok(value)
}

/// Puts the native members on the controllers' prototypes, where the class's own were; called
/// before the WebIDL shapes are applied (which name them and set their lengths).
pub(crate) fn install(ctx: &Ctx<'_>) -> rquickjs::Result<()> {
    let define: rquickjs::Function = ctx.eval(
        "((proto, key, value, getter) => Object.defineProperty(proto, key, getter
            ? { get: value, set: undefined, enumerable: true, configurable: true }
            : { value, writable: true, enumerable: true, configurable: true }))",
    )?;
    let readable: Option<Object> = Class::<ReadableStreamDefaultController>::prototype(ctx)?;
    let transform: Option<Object> = Class::<TransformStreamDefaultController>::prototype(ctx)?;
    let (Some(readable), Some(transform)) = (readable, transform) else {
        return Err(rquickjs::Error::Unknown);
    };
    let members: [(&Object, &str, qjs::JSCFunction, &CStr, bool); 3] = [
        (
            &readable,
            "desiredSize",
            Some(readable_desired_size),
            c"desiredSize",
            true,
        ),
        (&readable, "enqueue", Some(readable_enqueue), c"enqueue", false),
        (&transform, "enqueue", Some(transform_enqueue), c"enqueue", false),
    ];
    for (proto, key, f, name, getter) in members {
        let value = c_function(ctx, f, name)?;
        define.call::<_, ()>((proto.clone(), key, value, getter))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::Runtime;

    #[test]
    fn native_members_behave_as_the_class_members_did() {
        let rt = Runtime::new().unwrap();
        let out: String = rt.with(|ctx| {
            ctx.eval(
                r#"
                const log = [];
                const P = ReadableStreamDefaultController.prototype;
                const d = Object.getOwnPropertyDescriptor(P, 'desiredSize');
                const e = Object.getOwnPropertyDescriptor(P, 'enqueue');
                const t = Object.getOwnPropertyDescriptor(TransformStreamDefaultController.prototype, 'enqueue');
                log.push(d.get.name, d.get.length, d.enumerable, d.configurable, d.set);
                log.push(e.value.name, e.value.length, e.enumerable, e.writable, e.configurable);
                log.push(t.value.name, t.value.length, t.enumerable, t.writable, t.configurable);
                for (const [f, self] of [[d.get, {}], [e.value, {}], [t.value, 1], [d.get, undefined]]) {
                    try { f.call(self, 1); log.push('no throw'); } catch (x) { log.push(x instanceof TypeError); }
                }
                try { new e.value(); log.push('constructed'); } catch (x) { log.push(x instanceof TypeError); }
                let c;
                const rs = new ReadableStream({ start(x) { c = x; } }, { highWaterMark: 2 });
                log.push(c.desiredSize);
                c.enqueue('a'); c.enqueue(); c.enqueue({ o: 1 }, 'ignored');
                log.push(c.desiredSize);
                c.close();
                try { c.enqueue(1); } catch (x) { log.push(x instanceof TypeError); }
                c.error(new Error('late'));
                log.push(c.desiredSize);
                let tc;
                new TransformStream({ start(x) { tc = x; } });
                tc.enqueue(1.5);
                log.push(tc.desiredSize);
                tc.error(new RangeError('r'));
                try { tc.enqueue(2); } catch (x) { log.push(x.constructor.name); }
                log.join(',')
                "#,
            )
            .unwrap()
        });
        assert_eq!(
            out,
            "get desiredSize,0,true,true,,enqueue,0,true,true,true,enqueue,0,true,true,true,\
             true,true,true,true,true,2,-1,true,,-1,TypeError"
        );
    }
}
