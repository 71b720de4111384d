//! WebIDL dictionaries the constructors share: callback members of an underlying source, sink or
//! transformer, and `QueuingStrategy`, converted the way WebIDL converts them (members read in
//! order, callbacks checked to be callable, numbers through ToNumber).

use std::sync::Arc;

use rquickjs::function::{Opt, This};
use rquickjs::{Coerced, Ctx, Exception, Object, Value};
use sluicegate::strategy::QueuingStrategy;
use sluicegate::StreamError;

use crate::convert::caught_error;
use crate::runtime::JsHost;
use crate::value::JsValue;

/// A callback member of a dictionary: absent if undefined, a `TypeError` if not callable.
pub(crate) fn method<'js>(
    ctx: &Ctx<'js>,
    dict: &Object<'js>,
    name: &str,
) -> rquickjs::Result<Option<JsValue>> {
    let v: Value = dict.get(name)?;
    if v.is_undefined() {
        return Ok(None);
    }
    if !v.is_function() {
        return Err(Exception::throw_type(ctx, &format!("{name} must be a function")));
    }
    Ok(JsValue::new(ctx, v))
}

/// The members of a `QueuingStrategy` dictionary, read as WebIDL converts the argument (before
/// the underlying source's or sink's members, which the constructor's body reads).
pub(crate) struct StrategyInit {
    high_water_mark: Option<f64>,
    size: Size,
}

/// The `size` member of a `QueuingStrategy` dictionary.
enum Size {
    /// Absent (undefined).
    Absent,
    /// `CountQueuingStrategy`'s own size function: it returns 1 and does nothing else, so calling
    /// it is the same as counting chunks, which the core does without a call.
    Count,
    /// Any other function, called for every chunk.
    Function(JsValue),
}

impl StrategyInit {
    /// Converts the optional `strategy` argument: absent, undefined or null is `{}`; another
    /// non-object is a `TypeError`.
    pub(crate) fn from_js<'js>(ctx: &Ctx<'js>, strategy: Opt<Value<'js>>) -> rquickjs::Result<Self> {
        let Some(s) = strategy.0.filter(|s| !s.is_undefined() && !s.is_null()) else {
            return Ok(StrategyInit {
                high_water_mark: None,
                size: Size::Absent,
            });
        };
        let Some(o) = s.as_object() else {
            return Err(Exception::throw_type(ctx, "strategy must be an object"));
        };
        let hwm: Value = o.get("highWaterMark")?;
        let high_water_mark = if hwm.is_undefined() {
            None
        } else {
            Some(hwm.get::<Coerced<f64>>()?.0)
        };
        let size = match method(ctx, o, "size")? {
            None => Size::Absent,
            Some(f) if is_count_size(ctx, &f) => Size::Count,
            Some(f) => Size::Function(f),
        };
        Ok(StrategyInit {
            high_water_mark,
            size,
        })
    }

    /// Whether the dictionary has a `size` member (a byte stream refuses one).
    pub(crate) fn has_size(&self) -> bool {
        !matches!(self.size, Size::Absent)
    }

    /// The `highWaterMark` member, if present.
    pub(crate) fn high_water_mark(&self) -> Option<f64> {
        self.high_water_mark
    }

    /// The core strategy: ExtractHighWaterMark (the core applies the default when absent) and
    /// ExtractSizeAlgorithm (the JS `size` called with `this` undefined, or every chunk 1).
    pub(crate) fn into_strategy(self, host: &Arc<JsHost>) -> QueuingStrategy<JsValue> {
        let hwm = self.high_water_mark;
        match self.size {
            // Counting chunks: the core measures each as 1 without calling anything.
            Size::Absent | Size::Count => {
                let mut strategy = QueuingStrategy::new();
                strategy.high_water_mark = hwm;
                strategy
            }
            Size::Function(size) => {
                let h = host.clone();
                QueuingStrategy::with_fallible_size(hwm, move |chunk: &JsValue| {
                    h.with_ctx(|ctx| {
                        let f = size
                            .get(ctx)
                            .and_then(|f| f.into_function())
                            .ok_or_else(|| StreamError::type_error("size"))?;
                        let chunk = chunk
                            .get(ctx)
                            .unwrap_or_else(|| Value::new_undefined(ctx.clone()));
                        let r: rquickjs::Result<Coerced<f64>> =
                            f.call((This(Value::new_undefined(ctx.clone())), chunk));
                        r.map(|c| c.0).map_err(|e| caught_error(ctx, e))
                    })
                    .unwrap_or_else(|| Err(StreamError::type_error("the JS runtime is gone")))
                })
            }
        }
    }
}

/// Whether `f` is the very function `CountQueuingStrategy`'s `size` getter made (see
/// [`super::queuing_strategy::COUNT_SIZE`]).
fn is_count_size(ctx: &Ctx<'_>, f: &JsValue) -> bool {
    let Some(host) = crate::runtime::host_of(ctx) else {
        return false;
    };
    match (
        host.glue_value(ctx, super::queuing_strategy::COUNT_SIZE),
        f.get(ctx),
    ) {
        (Some(count), Some(f)) => count == f,
        _ => false,
    }
}

/// WebIDL `[EnforceRange] unsigned long long`: ToNumber, then a `TypeError` for NaN, an infinity
/// or a value outside 0 ..= 2^53 - 1 once truncated.
pub(crate) fn enforce_range_u64<'js>(ctx: &Ctx<'js>, v: &Value<'js>, what: &str) -> rquickjs::Result<u64> {
    let n = v.get::<Coerced<f64>>()?.0;
    if !n.is_finite() {
        return Err(Exception::throw_type(
            ctx,
            &format!("{what} must be a finite number"),
        ));
    }
    let n = n.trunc();
    if !(0.0..=9_007_199_254_740_991.0).contains(&n) {
        return Err(Exception::throw_type(ctx, &format!("{what} is out of range")));
    }
    Ok(n as u64)
}
