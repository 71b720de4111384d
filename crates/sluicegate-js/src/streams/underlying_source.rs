//! An underlying source object from script, for default and byte streams: its methods, read once
//! at construction, called with the source as `this` and the stream's JS controller.

use std::sync::Arc;

use rquickjs::function::This;
use rquickjs::{Class, Ctx, Value};
use sluicegate::readable::{self, UnderlyingSource};
use sluicegate::{Completion, StreamError};

use super::default_controller::ReadableStreamDefaultController;
use crate::convert::{as_function, call_borrowed, caught_error, completion_with, error_to_js, Conversion};
use crate::runtime::JsHost;
use crate::value::JsValue;

/// An underlying source object from script: its methods, read once at construction.
pub(crate) struct JsSource {
    pub(crate) host: Arc<JsHost>,
    pub(crate) this: Option<JsValue>,
    pub(crate) start: Option<JsValue>,
    pub(crate) pull: Option<JsValue>,
    pub(crate) cancel: Option<JsValue>,
    /// The JS controller, made on the first call and passed to every later one.
    pub(crate) controller: Option<JsValue>,
    /// How the methods' results are taken: a script's source is Web IDL callbacks
    /// ([`Conversion::ResolvedWith`]); `ReadableStream.from`'s glue implements the standard's own
    /// algorithms, whose promises are reacted to as they are ([`Conversion::Direct`]).
    pub(crate) conversion: Conversion,
}

impl JsSource {
    /// A source with no methods yet, its results taken as `conversion` says.
    pub(crate) fn new(host: Arc<JsHost>, conversion: Conversion) -> Self {
        JsSource {
            host,
            this: None,
            start: None,
            pull: None,
            cancel: None,
            controller: None,
            conversion,
        }
    }

    /// Calls `method` (start or pull) with the JS controller (made by `make_controller` the first
    /// time); what `keep` gives stays alive while the returned promise is pending (it is asked
    /// only if the method returns a promise or thenable).
    pub(crate) fn call_with(
        &mut self,
        method: fn(&JsSource) -> Option<&JsValue>,
        make_controller: impl for<'js> FnOnce(&Ctx<'js>) -> rquickjs::Result<Value<'js>>,
        keep: impl FnOnce() -> Option<Box<dyn std::any::Any + Send>>,
    ) -> Completion {
        let Some(f) = method(self).cloned() else {
            return Completion::ok();
        };
        let host = &self.host;
        let this = self.this.as_ref();
        let existing = &mut self.controller;
        let result = host.with_ctx(|ctx| {
            let controller = match existing.as_ref().and_then(|c| c.get(ctx)) {
                Some(c) => c,
                None => match make_controller(ctx) {
                    Ok(c) => {
                        // Made once, passed to every later call.
                        *existing = JsValue::new(ctx, c.clone());
                        c
                    }
                    Err(e) => return Completion::err(caught_error(ctx, e)),
                },
            };
            let f = f.get(ctx);
            let this = this.and_then(|t| t.get(ctx));
            match f.as_ref().and_then(as_function) {
                Some(f) => completion_with(
                    ctx,
                    call_borrowed(ctx, f, this.as_ref(), &[&controller]),
                    keep,
                    self.conversion,
                ),
                None => Completion::ok(),
            }
        });
        result.unwrap_or_else(|| Completion::err(StreamError::type_error("the JS runtime is gone")))
    }

    fn call(
        &mut self,
        method: fn(&JsSource) -> Option<&JsValue>,
        controller: &readable::ReadableStreamDefaultController<JsValue>,
    ) -> Completion {
        self.call_with(
            method,
            |ctx| {
                Ok(Class::instance(
                    ctx.clone(),
                    ReadableStreamDefaultController {
                        inner: controller.clone(),
                        keep_alive: controller.readable_stream(),
                    },
                )?
                .into_value())
            },
            // The stream stays alive while script's promise is pending, as its reactions keep it.
            || {
                controller
                    .readable_stream()
                    .map(|s| Box::new(s) as Box<dyn std::any::Any + Send>)
            },
        )
    }

    /// Calls the source's `cancel(reason)`.
    pub(crate) fn call_cancel(&mut self, reason: StreamError) -> Completion {
        let Some(f) = self.cancel.clone() else {
            return Completion::ok();
        };
        let this = self.this.clone();
        let conversion = self.conversion;
        self.host
            .with_ctx(|ctx| {
                let f = f.get(ctx).and_then(|f| f.into_function());
                let this = this
                    .and_then(|t| t.get(ctx))
                    .unwrap_or_else(|| Value::new_undefined(ctx.clone()));
                let reason = match error_to_js(ctx, &reason) {
                    Ok(r) => r,
                    Err(e) => return Completion::err(caught_error(ctx, e)),
                };
                match f {
                    Some(f) => completion_with(ctx, f.call((This(this), reason)), || None, conversion),
                    None => Completion::ok(),
                }
            })
            .unwrap_or_else(Completion::ok)
    }
}

impl UnderlyingSource<JsValue> for JsSource {
    fn start(&mut self, controller: &readable::ReadableStreamDefaultController<JsValue>) -> Completion {
        self.call(|s| s.start.as_ref(), controller)
    }
    fn pull(&mut self, controller: &readable::ReadableStreamDefaultController<JsValue>) -> Completion {
        self.call(|s| s.pull.as_ref(), controller)
    }
    fn cancel(&mut self, reason: StreamError) -> Completion {
        self.call_cancel(reason)
    }
}
