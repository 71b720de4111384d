//! The writable algorithms, named after Node's `writable.js`: `_write`, `writeOrBuffer`,
//! `doWrite`, `onwrite`, `afterWrite`, `errorBuffer`, `clearBuffer`, `end`, `needFinish`,
//! `prefinish`, `onFinish`, `finishMaybe`, `finish`.

use crate::completion::{upon, Completion, Kind};
use crate::destroy::lf;
use crate::error::{Error, ErrorCode, Result};

use super::state::{wf, Pending, WriteCb, WriteState};
use super::Writable;

/// What `onwrite` does after a synchronous success with nothing behind it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum SyncOk {
    /// Schedule the `afterWrite` tick.
    Tick,
    /// Counted; nothing more.
    Counted,
    /// Counted, and the stream is ending: `finishMaybe(stream, state, true)`.
    Finish,
}

impl<T> WriteState<T> {
    /// `onwrite(stream, null)` when it is synchronous, with no callback, no `_writev` batch and
    /// nothing buffered (the common case); `None` otherwise (or when no write is expected),
    /// leaving the state untouched for the general path.
    #[inline]
    pub(crate) fn onwrite_sync_ok(&mut self) -> Option<SyncOk> {
        if self.flags & (wf::SYNC | wf::EXPECT_WRITE_CB) != wf::SYNC | wf::EXPECT_WRITE_CB
            || self.writecb.is_some()
            || !self.writev_cbs.is_empty()
            || !self.buffered.is_empty()
        {
            return None;
        }
        self.clear(wf::WRITING | wf::EXPECT_WRITE_CB);
        self.length -= self.writelen.min(self.length);
        self.writelen = 0;
        let need_drain = self.has(wf::NEED_DRAIN) && self.length == 0;
        // See `onwrite` for why object mode always asks for the tick.
        if !self.has(wf::AFTER_WRITE_PENDING) && (need_drain || self.has(wf::OBJECT_MODE)) {
            self.set(wf::AFTER_WRITE_PENDING);
            return Some(SyncOk::Tick);
        }
        self.pendingcb -= 1;
        Some(if self.has(wf::ENDING) {
            SyncOk::Finish
        } else {
            SyncOk::Counted
        })
    }

    /// What `write()` returns, setting `needDrain` when it is `false` because of the length.
    #[inline]
    pub(crate) fn write_returns(&mut self, life: u32) -> bool {
        let ret = self.length < self.hwm || self.length == 0;
        if !ret {
            self.set(wf::NEED_DRAIN);
        }
        ret && life & (lf::DESTROYED | lf::ERRORED) == 0
    }
}

enum Write<T> {
    Refused(Error),
    Buffered,
    Now(T),
}

impl<T: Send + 'static> Writable<T> {
    /// `_write(stream, chunk, encoding, cb)` then `writeOrBuffer`.
    pub(crate) fn write_inner(&self, chunk: T, cb: Option<WriteCb>) -> bool {
        let e = self.0.life.domain().enter();
        // The closure below captures one pointer to these: a closure of several captures is
        // copied through memory into the borrow with wide loads of narrow stores, a
        // store-forwarding stall on every write.
        let mut args = (self.0.life.flags(), Some(chunk), cb);
        let step = self.0.state.with_in(&e, |s| {
            let (life, chunk, cb) = &mut args;
            let life = *life;
            let chunk = chunk.take().expect("set above");
            if s.has(wf::ENDING) {
                return Write::Refused(Error::new(ErrorCode::WriteAfterEnd, "write after end"));
            }
            if life & lf::DESTROYED != 0 {
                return Write::Refused(Error::destroyed("write"));
            }
            s.pendingcb += 1;
            let len = s.len_of(&chunk);
            s.length += len;
            if s.has(wf::WRITING | wf::CORKED) || life & (lf::ERRORED) != 0 || life & lf::CONSTRUCTED == 0 {
                s.buffered.push_back(Pending { chunk, cb: cb.take() });
                return Write::Buffered;
            }
            s.writelen = len;
            s.writecb = cb.take();
            s.set(wf::WRITING | wf::SYNC | wf::EXPECT_WRITE_CB);
            Write::Now(chunk)
        });
        let cb = args.2;
        match step {
            Write::Refused(err) => {
                self.refuse_write(err, cb);
                return false;
            }
            Write::Buffered => {}
            Write::Now(chunk) => {
                let called = self.0.hook.write(&e, chunk);
                if matches!(called, Ok(Completion(Kind::Ready(Ok(()))))) {
                    // `Ready(Ok(()))` owns nothing: forgetting it spares the out-of-line drop
                    // glue that would re-test every variant of the result.
                    std::mem::forget(called);
                    // `onwrite` of a synchronous success and the end of `write` in one
                    // borrow, when nothing in between can run user code.
                    let life = self.0.life.flags();
                    let done = self.0.state.with_in(&e, |s| {
                        let after = s.onwrite_sync_ok()?;
                        if after == SyncOk::Finish {
                            return Some((after, false));
                        }
                        s.clear(wf::SYNC);
                        Some((after, s.write_returns(life)))
                    });
                    match done {
                        Some((SyncOk::Tick, ret)) => {
                            self.schedule_after_write();
                            return ret;
                        }
                        Some((SyncOk::Counted, ret)) => return ret,
                        Some((SyncOk::Finish, _)) => return self.after_sync_write(&e, true),
                        None => return self.after_sync_write(&e, false),
                    }
                }
                self.on_write_called(called);
                let life = self.0.life.flags();
                return self.0.state.with_in(&e, |s| {
                    s.clear(wf::SYNC);
                    s.write_returns(life)
                });
            }
        }
        let life = self.0.life.flags();
        self.0.state.with_in(&e, |s| s.write_returns(life))
    }

    /// The rest of `write` after a synchronous success that `onwrite_sync_ok` did not settle
    /// (`finish` true: it did, and the stream is ending), out of the per-chunk path.
    #[cold]
    #[inline(never)]
    fn after_sync_write(&self, e: &crate::tick::Entered<'_>, finish: bool) -> bool {
        if finish {
            self.finish_maybe(true);
        } else {
            self.onwrite(None);
        }
        let life = self.0.life.flags();
        self.0.state.with_in(e, |s| {
            s.clear(wf::SYNC);
            s.write_returns(life)
        })
    }

    /// A refused write (after `end()`, or destroyed): its callback fails on the next tick and
    /// the stream errors.
    #[cold]
    #[inline(never)]
    fn refuse_write(&self, err: Error, cb: Option<WriteCb>) {
        if let Some(cb) = cb {
            let e = err.clone();
            self.0.life.domain().next_tick(Box::new(move || cb(Err(e))));
        }
        self.0.life.error_or_destroy(err, true);
    }

    /// Calls `_write` for a chunk the state already counts as being written; `false` if the
    /// implementor was busy and the chunk went back to the buffer for a later tick.
    fn call_write(&self, chunk: T) -> bool {
        let e = self.0.life.domain().enter();
        self.on_write_called(self.0.hook.write(&e, chunk))
    }

    /// What follows a `_write` call: its completion's `onwrite`, or the retry of a busy one.
    fn on_write_called(&self, called: std::result::Result<Completion, T>) -> bool {
        match called {
            Ok(Completion(Kind::Ready(r))) => {
                self.onwrite(r.err());
                true
            }
            Ok(c) => {
                let w = self.clone();
                upon(self.0.life.domain(), c, move |r| w.onwrite(r.err()));
                true
            }
            Err(chunk) => {
                // The implementor is busy further up this thread's stack: put the chunk back as
                // the next to write and write it on the next tick.
                self.0.state.with(|s| {
                    s.clear(wf::WRITING | wf::EXPECT_WRITE_CB);
                    s.writelen = 0;
                    let cb = s.writecb.take();
                    s.buffered.push_front(Pending { chunk, cb });
                });
                let w = self.tick_handle();
                self.0.life.domain().next_tick(Box::new(move || w.clear_buffer()));
                false
            }
        }
    }

    /// `onwrite(stream, er)`.
    fn onwrite(&self, er: Option<Error>) {
        let _e = self.0.life.domain().enter();
        enum After {
            Tick,
            Counted(bool),
            Multiple,
            Error(Error, Option<WriteCb>, Vec<WriteCb>, bool),
            Ok {
                sync: bool,
                cb: Option<WriteCb>,
                batch: Vec<WriteCb>,
                clear: bool,
            },
        }
        let after = self.0.state.with(|s| {
            if !s.has(wf::EXPECT_WRITE_CB) {
                return After::Multiple;
            }
            let sync = s.has(wf::SYNC);
            if er.is_none() {
                match s.onwrite_sync_ok() {
                    Some(SyncOk::Tick) => return After::Tick,
                    Some(SyncOk::Counted) => return After::Counted(false),
                    Some(SyncOk::Finish) => return After::Counted(true),
                    None => {}
                }
            }
            let cb = s.writecb.take();
            let batch = std::mem::take(&mut s.writev_cbs);
            s.clear(wf::WRITING | wf::EXPECT_WRITE_CB);
            s.length -= s.writelen.min(s.length);
            s.writelen = 0;
            match er {
                Some(e) => After::Error(e, cb, batch, sync),
                None => After::Ok {
                    sync,
                    cb,
                    batch,
                    clear: !s.buffered.is_empty(),
                },
            }
        });
        match after {
            After::Tick => self.schedule_after_write(),
            After::Counted(ending) => {
                if ending {
                    self.finish_maybe(true);
                }
            }
            After::Multiple => self.0.life.error_or_destroy(
                Error::new(ErrorCode::MultipleCallback, "Callback called multiple times"),
                false,
            ),
            After::Error(e, cb, batch, sync) => {
                self.0.life.set_errored(&e);
                if sync {
                    let w = self.tick_handle();
                    self.0
                        .life
                        .domain()
                        .next_tick(Box::new(move || w.onwrite_error(e, cb, batch)));
                } else {
                    self.onwrite_error(e, cb, batch);
                }
            }
            After::Ok {
                sync,
                cb,
                batch,
                clear,
            } => {
                // A `_writev` batch's callbacks complete with it, as Node's combined callback.
                let cb = merge_batch(cb, batch);
                if clear {
                    self.clear_buffer();
                }
                if sync {
                    enum Sync {
                        Tick,
                        Counted,
                    }
                    let (step, ending) = self.0.state.with(|s| {
                        let need_drain = s.has(wf::NEED_DRAIN) && s.length == 0;
                        // Node computes `(state[kState] & kDestroyed !== 0)`, which by operator
                        // precedence tests bit 0 (object mode), not `destroyed`: in object mode
                        // every synchronous write schedules an `afterWrite` tick. Kept, since the
                        // event order depends on it.
                        let need_tick = need_drain || s.has(wf::OBJECT_MODE) || cb.is_some();
                        if cb.is_none() {
                            if !s.has(wf::AFTER_WRITE_PENDING) && need_tick {
                                s.set(wf::AFTER_WRITE_PENDING);
                                (Sync::Tick, false)
                            } else {
                                s.pendingcb -= 1;
                                (Sync::Counted, s.has(wf::ENDING))
                            }
                        } else {
                            s.set(wf::AFTER_WRITE_PENDING);
                            (Sync::Tick, false)
                        }
                    });
                    match step {
                        Sync::Tick => {
                            let w = self.tick_handle();
                            self.0
                                .life
                                .domain()
                                .next_tick(Box::new(move || w.after_write(1, cb)));
                        }
                        Sync::Counted => {
                            if ending {
                                self.finish_maybe(true);
                            }
                        }
                    }
                } else {
                    self.after_write(1, cb);
                }
            }
        }
    }

    /// The `afterWrite` tick of a synchronous write without a callback.
    fn schedule_after_write(&self) {
        let w = self.tick_handle();
        self.0
            .life
            .domain()
            .next_tick(Box::new(move || w.after_write(1, None)));
    }

    fn onwrite_error(&self, e: Error, cb: Option<WriteCb>, batch: Vec<WriteCb>) {
        self.0.state.with(|s| s.pendingcb -= 1);
        if let Some(cb) = merge_batch(cb, batch) {
            cb(Err(e.clone()));
        }
        self.error_buffer();
        self.0.life.error_or_destroy(e, false);
    }

    /// `afterWrite(stream, state, count, cb)`.
    fn after_write(&self, count: usize, cb: Option<WriteCb>) {
        let life = self.0.life.flags();
        let drain = self.0.state.with(|s| {
            s.clear(wf::AFTER_WRITE_PENDING);
            let need = s.flags & (wf::ENDING | wf::NEED_DRAIN) == wf::NEED_DRAIN
                && life & lf::DESTROYED == 0
                && s.length == 0;
            if need {
                s.clear(wf::NEED_DRAIN);
            }
            need
        });
        if drain {
            let snap = self.0.listeners().with(|l| l.drain.snapshot());
            self.0.life.call_guarded(snap, &());
        }
        self.0.state.with(|s| s.pendingcb -= count.min(s.pendingcb));
        if let Some(cb) = cb {
            cb(Ok(()));
        }
        if self.0.life.destroyed() {
            self.error_buffer();
        }
        if self.0.state.with(|s| s.has(wf::ENDING)) {
            self.finish_maybe(true);
        }
    }

    /// `errorBuffer(state)`: fails every buffered write and end callback.
    pub(crate) fn error_buffer(&self) {
        let errored = self.0.life.errored();
        let taken = self.0.state.with(|s| {
            if s.has(wf::WRITING) {
                return None;
            }
            let buffered: Vec<Pending<T>> = s.buffered.drain(..).collect();
            for p in &buffered {
                let len = s.len_of(&p.chunk);
                s.length -= len.min(s.length);
            }
            Some((buffered, std::mem::take(&mut s.on_finished)))
        });
        let Some((buffered, finished)) = taken else {
            return;
        };
        for p in buffered {
            if let Some(cb) = p.cb {
                cb(Err(errored.clone().unwrap_or_else(|| Error::destroyed("write"))));
            }
        }
        for cb in finished {
            cb(Err(errored.clone().unwrap_or_else(|| Error::destroyed("end"))));
        }
    }

    /// `clearBuffer(stream, state)`.
    pub(crate) fn clear_buffer(&self) {
        let life = self.0.life.flags();
        let go = self.0.state.with(|s| {
            let go = life & lf::DESTROYED == 0
                && !s.has(wf::BUFFER_PROCESSING | wf::CORKED)
                && !s.buffered.is_empty()
                && life & lf::CONSTRUCTED != 0;
            if go {
                s.set(wf::BUFFER_PROCESSING);
            }
            go
        });
        if !go {
            return;
        }
        let writev = self
            .0
            .state
            .with(|s| s.buffered.len() > 1 && !s.has(wf::NO_WRITEV));
        if writev {
            let (mut chunks, cbs) = self.0.state.with(|s| {
                let n = s.buffered.len();
                s.pendingcb -= n - 1;
                let (chunks, cbs): (Vec<T>, Vec<Option<WriteCb>>) =
                    s.buffered.drain(..).map(|p| (p.chunk, p.cb)).unzip();
                s.writelen = s.length;
                s.set(wf::WRITING | wf::SYNC | wf::EXPECT_WRITE_CB);
                (chunks, cbs)
            });
            if self.0.life.destroyed() {
                self.0
                    .state
                    .with(|s| s.writev_cbs = cbs.into_iter().flatten().collect());
                self.onwrite(Some(Error::destroyed("write")));
            } else {
                match self.0.hook.writev(&mut chunks) {
                    Some(Some(c)) => {
                        self.0
                            .state
                            .with(|s| s.writev_cbs = cbs.into_iter().flatten().collect());
                        let w = self.clone();
                        upon(self.0.life.domain(), c, move |r| w.onwrite(r.err()));
                    }
                    other => {
                        // No `_writev` (or it is busy): put the batch back and write the chunks
                        // one by one, as Node does without `_writev`.
                        let no_writev = other.is_some();
                        self.0.state.with(|s| {
                            let n = chunks.len();
                            s.pendingcb += n.saturating_sub(1);
                            s.clear(wf::WRITING | wf::SYNC | wf::EXPECT_WRITE_CB);
                            s.writelen = 0;
                            if no_writev {
                                s.set(wf::NO_WRITEV);
                            }
                            let mut cbs = cbs.into_iter();
                            for chunk in chunks.drain(..) {
                                let cb = cbs.next().flatten();
                                s.buffered.push_back(Pending { chunk, cb });
                            }
                            s.clear(wf::BUFFER_PROCESSING);
                        });
                        if no_writev {
                            self.clear_buffer();
                        } else {
                            let w = self.tick_handle();
                            self.0.life.domain().next_tick(Box::new(move || w.clear_buffer()));
                        }
                        return;
                    }
                }
            }
            self.0.state.with(|s| s.clear(wf::SYNC));
        } else {
            loop {
                let next = self.0.state.with(|s| {
                    if s.has(wf::WRITING) || s.has(wf::CORKED) {
                        return None;
                    }
                    let p = s.buffered.pop_front()?;
                    s.writelen = s.len_of(&p.chunk);
                    s.writecb = p.cb;
                    s.set(wf::WRITING | wf::SYNC | wf::EXPECT_WRITE_CB);
                    Some(p.chunk)
                });
                let Some(chunk) = next else { break };
                if self.0.life.destroyed() {
                    drop(chunk);
                    self.onwrite(Some(Error::destroyed("write")));
                } else if !self.call_write(chunk) {
                    self.0.state.with(|s| s.clear(wf::SYNC));
                    break;
                }
                self.0.state.with(|s| s.clear(wf::SYNC));
            }
        }
        self.0.state.with(|s| s.clear(wf::BUFFER_PROCESSING));
    }

    /// `end(cb)`.
    pub(crate) fn end_inner(&self, cb: Option<WriteCb>) {
        let _e = self.0.life.domain().enter();
        let corked = self.0.state.with(|s| {
            if s.has(wf::CORKED) {
                s.corked = 1;
                true
            } else {
                false
            }
        });
        if corked {
            self.uncork_inner();
        }
        let life = self.0.life.flags();
        enum End {
            Started,
            Err(Error),
            Nothing,
        }
        let step = self.0.state.with(|s| {
            if !s.has(wf::ENDING) && life & lf::ERRORED == 0 {
                s.set(wf::ENDING);
                End::Started
            } else if s.has(wf::FINISHED) {
                End::Err(Error::new(
                    ErrorCode::AlreadyFinished,
                    "Cannot call end after a stream was finished",
                ))
            } else if life & lf::DESTROYED != 0 {
                End::Err(Error::destroyed("end"))
            } else {
                End::Nothing
            }
        });
        let mut err = None;
        match step {
            End::Started => {
                self.finish_maybe(true);
                self.0.state.with(|s| s.set(wf::ENDED));
            }
            End::Err(e) => err = Some(e),
            End::Nothing => {}
        }
        if let Some(cb) = cb {
            let errored = self.0.life.errored();
            let finished = self.0.state.with(|s| s.has(wf::FINISHED));
            let now: Option<Result<()>> = if let Some(e) = err {
                Some(Err(e))
            } else if let Some(e) = errored {
                Some(Err(e))
            } else if finished {
                Some(Ok(()))
            } else {
                None
            };
            match now {
                Some(r) => self.0.life.domain().next_tick(Box::new(move || cb(r))),
                None => self.0.state.with(|s| s.on_finished.push(cb)),
            }
        }
    }

    /// `needFinish(state)`.
    fn need_finish(&self) -> bool {
        let life = self.0.life.flags();
        life & (lf::DESTROYED | lf::ERROR_EMITTED | lf::CLOSE_EMITTED | lf::ERRORED) == 0
            && life & lf::CONSTRUCTED != 0
            && self.0.state.with(|s| {
                // Node's `state.buffered.length === 0`: its `clearBuffer` leaves the entries it
                // hands to `_write` in the array until its loop is over, so a write completing
                // synchronously inside that loop never finishes the stream; this one takes them
                // out as it goes, hence `BUFFER_PROCESSING`.
                s.has(wf::ENDING)
                    && !s.has(wf::FINISHED | wf::WRITING | wf::BUFFER_PROCESSING)
                    && s.buffered.is_empty()
                    && s.length == 0
            })
    }

    /// `prefinish(stream, state)`.
    fn prefinish(&self) {
        let go = self.0.state.with(|s| !s.has(wf::PREFINISHED | wf::FINAL_CALLED));
        if !go {
            return;
        }
        let destroyed = self.0.life.destroyed();
        if !destroyed {
            self.0.state.with(|s| s.set(wf::FINAL_CALLED | wf::SYNC));
            match self.0.hook.finalize() {
                Some(Some(c)) => {
                    self.0.state.with(|s| s.pendingcb += 1);
                    let w = self.clone();
                    upon(self.0.life.domain(), c, move |r| w.on_finish(r.err()));
                    self.0.state.with(|s| s.clear(wf::SYNC));
                    return;
                }
                Some(None) | None => {
                    self.0.state.with(|s| s.clear(wf::SYNC));
                }
            }
        }
        self.0.state.with(|s| s.set(wf::FINAL_CALLED | wf::PREFINISHED));
        self.emit_prefinish();
    }

    fn emit_prefinish(&self) {
        let snap = self.0.listeners().with(|l| l.prefinish.snapshot());
        self.0.life.call_guarded(snap, &());
    }

    /// `onFinish(stream, state, err)`: `_final`'s callback.
    fn on_finish(&self, err: Option<Error>) {
        let _e = self.0.life.domain().enter();
        if self.0.state.with(|s| s.has(wf::PREFINISHED)) {
            self.0.life.error_or_destroy(
                err.unwrap_or_else(|| {
                    Error::new(ErrorCode::MultipleCallback, "Callback called multiple times")
                }),
                false,
            );
            return;
        }
        let sync = self.0.state.with(|s| {
            s.pendingcb -= 1;
            s.has(wf::SYNC)
        });
        if let Some(e) = err {
            self.call_finished_callbacks(Some(e.clone()));
            self.0.life.error_or_destroy(e, sync);
        } else if self.need_finish() {
            self.0.state.with(|s| s.set(wf::PREFINISHED));
            self.emit_prefinish();
            self.0.state.with(|s| s.pendingcb += 1);
            let w = self.tick_handle();
            self.0.life.domain().next_tick(Box::new(move || w.finish()));
        }
    }

    /// `finishMaybe(stream, state, sync)`.
    pub(crate) fn finish_maybe(&self, sync: bool) {
        if !self.need_finish() {
            return;
        }
        self.prefinish();
        if self.0.state.with(|s| s.pendingcb) != 0 {
            return;
        }
        if sync {
            self.0.state.with(|s| s.pendingcb += 1);
            let w = self.tick_handle();
            self.0.life.domain().next_tick(Box::new(move || {
                if w.need_finish() {
                    w.finish();
                } else {
                    w.0.state.with(|s| s.pendingcb -= 1);
                }
            }));
        } else if self.need_finish() {
            self.0.state.with(|s| s.pendingcb += 1);
            self.finish();
        }
    }

    /// `finish(stream, state)`.
    fn finish(&self) {
        self.0.state.with(|s| {
            s.pendingcb -= 1;
            s.set(wf::FINISHED);
        });
        self.call_finished_callbacks(None);
        let snap = self.0.listeners().with(|l| l.finish.snapshot());
        self.0.life.call_guarded(snap, &());
        let life = &self.0.life;
        if life.has(lf::AUTO_DESTROY) {
            let auto = match life.read() {
                None => true,
                Some(r) => r.end_emitted() || r.disabled(),
            };
            if auto {
                life.destroy(None, None);
            }
        }
    }

    fn call_finished_callbacks(&self, err: Option<Error>) {
        let cbs = self.0.state.with(|s| std::mem::take(&mut s.on_finished));
        for cb in cbs {
            cb(match &err {
                Some(e) => Err(e.clone()),
                None => Ok(()),
            });
        }
    }

    /// `uncork()`.
    pub(crate) fn uncork_inner(&self) {
        let _e = self.0.life.domain().enter();
        let clear = self.0.state.with(|s| {
            if s.corked == 0 {
                return false;
            }
            s.corked -= 1;
            if s.corked == 0 {
                s.clear(wf::CORKED);
            }
            !s.has(wf::WRITING)
        });
        if clear {
            self.clear_buffer();
        }
    }
}

/// One callback that calls `first` and then every callback of a `_writev` batch.
fn merge_batch(first: Option<WriteCb>, batch: Vec<WriteCb>) -> Option<WriteCb> {
    if batch.is_empty() {
        return first;
    }
    Some(Box::new(move |r: Result<()>| {
        if let Some(f) = first {
            f(r.clone());
        }
        for cb in batch {
            cb(r.clone());
        }
    }))
}
