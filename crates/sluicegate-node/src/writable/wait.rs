//! Futures for a writable's moments: the end of `end()` ([`Writable::end_async`]) and the next
//! `'drain'` ([`Writable::drain`]). Like every future of this crate, they run the stream's event
//! loop while polled.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use parking_lot::Mutex;

use super::{DoneSlot, Writable};
use crate::destroy::lf;
use crate::error::{Error, Result};
use crate::events::{ev, ListenerId};
use crate::tick::Hold;

/// The future of [`Writable::end_async`] and [`Writable::drain`]: settles with the outcome,
/// running the stream's loop while polled.
#[must_use = "futures do nothing unless polled"]
pub struct Settled {
    slot: Arc<Mutex<DoneSlot>>,
    domain: Hold,
    /// Listeners to remove once settled or dropped.
    cleanup: Option<Box<dyn FnOnce() + Send>>,
}

impl Settled {
    fn done(&mut self) {
        if let Some(c) = self.cleanup.take() {
            let _g = self.domain.enter();
            c();
        }
    }
}

impl Future for Settled {
    type Output = Result<()>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let mut r = DoneSlot::poll(&self.slot, cx);
        if r.is_pending() {
            self.domain.poll_run(cx);
            r = DoneSlot::poll(&self.slot, cx);
        }
        if r.is_ready() {
            self.done();
        }
        r
    }
}

impl Drop for Settled {
    fn drop(&mut self) {
        self.done();
    }
}

impl<T: Send + 'static> Writable<T> {
    /// `end()` as a future: `Ok` after `'finish'`, or the error that prevented it (Node's
    /// `end(cb)`, or `await finished(w)` for the writable side only).
    pub fn end_async(&self) -> Settled {
        let slot = Arc::new(Mutex::new(DoneSlot::default()));
        let s = slot.clone();
        self.end_with(move |r| DoneSlot::complete(&s, r));
        Settled {
            slot,
            domain: Hold::new(self.0.life.domain()),
            cleanup: None,
        }
    }

    /// The next `'drain'` (`events.once(w, 'drain')`): at once if no drain is awaited (`write()`
    /// has not returned `false`), else when the buffer has emptied. Fails with the stream's
    /// error, or `ERR_STREAM_DESTROYED`, if it errors or closes first, so that a writer waiting
    /// on it never hangs.
    pub fn drain(&self) -> Settled {
        let _g = self.0.life.domain().enter();
        let slot = Arc::new(Mutex::new(DoneSlot::default()));
        let domain = Hold::new(self.0.life.domain());
        if !self.writable_need_drain() {
            let r = match self.errored() {
                Some(e) => Err(e),
                None if self.destroyed() => Err(Error::destroyed("write")),
                None => Ok(()),
            };
            DoneSlot::complete(&slot, r);
            return Settled {
                slot,
                domain,
                cleanup: None,
            };
        }
        let s = slot.clone();
        let drain = self.once(ev::Drain, move |_| DoneSlot::complete(&s, Ok(())));
        let s = slot.clone();
        let error = self.on(ev::Error, move |e: &Error| DoneSlot::complete(&s, Err(e.clone())));
        let s = slot.clone();
        let w = self.clone();
        let close = self.on(ev::Close, move |_| {
            let e = w.errored().unwrap_or_else(|| Error::destroyed("write"));
            DoneSlot::complete(&s, Err(e));
        });
        let w = self.clone();
        let ids: [ListenerId; 3] = [drain, error, close];
        if self.0.life.has(lf::CLOSE_EMITTED) {
            DoneSlot::complete(
                &slot,
                Err(self.errored().unwrap_or_else(|| Error::destroyed("write"))),
            );
        }
        Settled {
            slot,
            domain,
            cleanup: Some(Box::new(move || {
                for id in ids {
                    w.off(id);
                }
            })),
        }
    }
}
