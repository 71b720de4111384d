//! How `console` shows values: [`format()`] (what `console.log(...args)` prints, with `%s`, `%d`,
//! `%i`, `%f`, `%j`, `%o`, `%O`, `%c` and `%%` in a leading string) and [`inspect`] (one value, as
//! a REPL shows it), in the shapes Node's console uses: strings quoted inside objects, `{ a: 1 }`,
//! `[ 1, 2 ]`, `Map(1) { 'k' => 'v' }`, `Set(2) { 1, 2 }`, `Uint8Array(3) [ 1, 2, 3 ]`,
//! `ArrayBuffer { [Uint8Contents]: <01 02>, byteLength: 2 }`, `Promise { <pending> }`, errors with
//! their stack, nesting cut at depth 2 (`[Object]`, `[Array]`), cycles marked (`<ref *1>` …
//! `[Circular *1]`), and long output broken over lines of at most 80 columns (long lists of short
//! items in columns).
//!
//! Why JavaScript (`inspect.js`): walking arbitrary objects (prototypes, descriptors, getters,
//! symbols, holes) is what the engine's own reflection does in a line each; in Rust every step is
//! a fallible rquickjs call. The only native piece is a promise's state, which script cannot read.

use rquickjs::promise::PromiseState;
use rquickjs::{Array, Ctx, Function, Object, Value};

/// The hidden global holding `{ inspect, format }`.
const KEY: &str = "__sluicegateInspect";

/// Defines the formatting functions (as a hidden global the console and the runner use).
pub fn install(ctx: &Ctx<'_>) -> rquickjs::Result<()> {
    let factory: Function = ctx.eval(include_str!("inspect.js"))?;
    let promise_state = Function::new(ctx.clone(), promise_state)?;
    let pair: Object = factory.call((promise_state,))?;
    let define: Function =
        ctx.eval("(key, value) => Object.defineProperty(globalThis, key, { value, configurable: true })")?;
    define.call::<_, ()>((KEY, pair))
}

/// `[state]` or `[state, result]` of a promise, state `pending`, `fulfilled` or `rejected`.
fn promise_state<'js>(ctx: Ctx<'js>, p: Value<'js>) -> rquickjs::Result<Array<'js>> {
    let out = Array::new(ctx.clone())?;
    let Some(promise) = p.into_promise() else {
        out.set(0, "pending")?;
        return Ok(out);
    };
    match promise.state() {
        PromiseState::Pending => out.set(0, "pending")?,
        PromiseState::Resolved => {
            out.set(0, "fulfilled")?;
            out.set(1, promise.result::<Value>().transpose()?)?;
        }
        PromiseState::Rejected => {
            out.set(0, "rejected")?;
            let reason = match promise.result::<Value>() {
                Some(Err(rquickjs::Error::Exception)) => ctx.catch(),
                Some(Ok(v)) => v,
                _ => Value::new_undefined(ctx.clone()),
            };
            out.set(1, reason)?;
        }
    }
    Ok(out)
}

fn helper<'js>(ctx: &Ctx<'js>, name: &str) -> Option<Function<'js>> {
    let pair: Object = ctx.globals().get(KEY).ok()?;
    pair.get(name).ok()
}

/// `value` as `console.log(value)` would show it inside an object (strings quoted); falls back to
/// `String(value)` if formatting itself throws.
pub fn inspect<'js>(ctx: &Ctx<'js>, value: Value<'js>) -> String {
    let shown = helper(ctx, "inspect").and_then(|f| f.call::<_, String>((value.clone(),)).ok());
    shown.unwrap_or_else(|| crate::runtime::describe(ctx, value))
}

/// What `console.log(...args)` prints (without the newline).
pub fn format<'js>(ctx: &Ctx<'js>, args: Vec<Value<'js>>) -> String {
    let shown = helper(ctx, "format").and_then(|f| {
        let mut call = rquickjs::function::Args::new(ctx.clone(), args.len());
        for a in &args {
            call.push_arg(a.clone()).ok()?;
        }
        f.call_arg::<String>(call).ok()
    });
    shown.unwrap_or_else(|| {
        args.into_iter()
            .map(|v| crate::runtime::describe(ctx, v))
            .collect::<Vec<_>>()
            .join(" ")
    })
}
