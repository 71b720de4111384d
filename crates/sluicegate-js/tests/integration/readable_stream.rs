//! `ReadableStream` with a default controller and reader, from script.

use sluicegate_js::Runtime;

fn run(src: &str) -> String {
    let rt = Runtime::new().unwrap();
    rt.eval(&format!("globalThis.log = []; {src}")).unwrap();
    rt.run_jobs().unwrap();
    rt.with(|ctx| ctx.eval::<String, _>("log.join('|')").unwrap())
}

#[test]
fn chunks_enqueued_in_start_are_read_in_order_then_done() {
    let out = run("
        const rs = new ReadableStream({ start(c) { c.enqueue('a'); c.enqueue({ n: 2 }); c.close(); } });
        const reader = rs.getReader();
        log.push(String(rs.locked));
        reader.read().then(r => log.push(r.value + ':' + r.done));
        reader.read().then(r => log.push(r.value.n + ':' + r.done));
        reader.read().then(r => log.push(r.value + ':' + r.done));
        reader.closed.then(() => log.push('closed'));
    ");
    assert_eq!(out, "true|a:false|2:false|undefined:true|closed");
}

#[test]
fn pull_is_called_with_the_controller_and_this_is_the_source() {
    let out = run("
        let n = 0;
        const source = { pull(c) { log.push('pull ' + (this === source) + ' ' + c.desiredSize); if (++n === 3) c.close(); else c.enqueue(n); } };
        const reader = new ReadableStream(source).getReader();
        (async () => { for (;;) { const r = await reader.read(); if (r.done) break; log.push('got ' + r.value); } log.push('end'); })();
    ");
    // The read's continuation runs before the reaction to pull's promise, as in the standard.
    assert_eq!(out, "pull true 1|got 1|pull true 1|got 2|pull true 1|end");
}

#[test]
fn an_error_reaches_reads_and_closed_with_its_identity() {
    let out = run("
        const error1 = new Error('e1');
        let controller;
        const rs = new ReadableStream({ start(c) { controller = c; } });
        const reader = rs.getReader();
        reader.read().catch(e => log.push('read ' + (e === error1)));
        reader.closed.catch(e => log.push('closed ' + (e === error1)));
        controller.error(error1);
        log.push('desiredSize ' + controller.desiredSize);
    ");
    // ReadableStreamError rejects `closed` before it errors the read requests.
    assert_eq!(out, "desiredSize null|closed true|read true");
}

#[test]
fn cancel_calls_the_source_with_the_reason_and_locked_streams_refuse() {
    let out = run("
        const rs = new ReadableStream({ cancel(r) { log.push('cancel ' + r); return 'ignored'; } });
        rs.cancel('why').then(v => log.push('cancelled ' + v));
        const locked = new ReadableStream();
        locked.getReader();
        locked.cancel().catch(e => log.push(e.constructor.name));
        try { locked.getReader(); } catch (e) { log.push('getReader ' + e.constructor.name); }
    ");
    // A locked stream's cancel() is already rejected; the source's result is reacted to first.
    assert_eq!(
        out,
        "cancel why|getReader TypeError|TypeError|cancelled undefined"
    );
}

#[test]
fn constructor_checks_its_arguments_the_webidl_way() {
    let out = run("
        for (const bad of [() => ReadableStream(), () => new ReadableStream({ start: 1 }),
                           () => new ReadableStream({}, { highWaterMark: -1 }),
                           () => new ReadableStream({}, { size: 'x' }),
                           () => new ReadableStream({ start() { throw new RangeError('s'); } })]) {
            try { bad(); log.push('no throw'); } catch (e) { log.push(e.constructor.name); }
        }
        log.push(Object.prototype.toString.call(new ReadableStream()));
    ");
    assert_eq!(
        out,
        "TypeError|TypeError|RangeError|TypeError|RangeError|[object ReadableStream]"
    );
}

#[test]
fn size_and_high_water_mark_shape_desired_size() {
    let out = run("
        new ReadableStream({ start(c) {
            log.push(c.desiredSize); c.enqueue('abc'); log.push(c.desiredSize);
        } }, { highWaterMark: 5, size(chunk) { return chunk.length; } });
    ");
    assert_eq!(out, "5|2");
}

#[test]
fn tee_gives_both_branches_the_same_chunks_and_locks_the_original() {
    let out = run("
        const chunk = { id: 1 };
        const rs = new ReadableStream({ start(c) { c.enqueue(chunk); c.close(); } });
        const [a, b] = rs.tee();
        log.push(String(rs.locked), String(a instanceof ReadableStream));
        const ra = a.getReader(), rb = b.getReader();
        Promise.all([ra.read(), rb.read(), ra.read(), rb.read()]).then(([x, y, xe, ye]) => {
            log.push(String(x.value === chunk && y.value === chunk), String(xe.done && ye.done));
        });
    ");
    assert_eq!(out, "true|true|true|true");
}

#[test]
fn closed_is_the_same_promise_until_release_replaces_a_settled_one() {
    let out = run("
        const reader = new ReadableStream().getReader();
        const first = reader.closed;
        log.push(String(first === reader.closed));
        reader.releaseLock();
        log.push(String(first === reader.closed));
        first.catch(e => log.push(e.constructor.name));
        const closedReader = new ReadableStream({ start(c) { c.close(); } }).getReader();
        const settled = closedReader.closed;
        closedReader.releaseLock();
        log.push(String(settled === closedReader.closed));
    ");
    // A pending `closed` is rejected in place; a settled one is replaced by a new rejected promise.
    assert_eq!(out, "true|true|false|TypeError");
}

#[test]
fn a_reader_and_stream_script_dropped_still_settle_closed() {
    let out = run("
        const boom = new Error('boom');
        new ReadableStream({ start() { return Promise.reject(boom); } })
            .getReader().closed.catch(e => log.push('rejected with boom: ' + (e === boom)));
        let controller;
        new ReadableStream({ start(c) { controller = c; } }).getReader()
            .closed.then(() => log.push('closed'));
        log.push('desiredSize ' + controller.desiredSize);
        controller.close();
    ");
    assert_eq!(out, "desiredSize 1|closed|rejected with boom: true");
}

#[test]
fn streams_script_can_no_longer_reach_still_run_their_queued_steps() {
    // In JavaScript a queued reaction keeps what it refers to alive; here the stream objects are
    // all unreachable from script once each function returns, and the steps still run.
    let out = run("
        (() => {
            new ReadableStream({ pull(c) { log.push('pull'); c.close(); } })
                .getReader().closed.then(() => log.push('closed by pull'));
        })();
        function later() { return Promise.resolve().then(() => Promise.resolve()); }
        (() => {
            let controller;
            const [b1, b2] = new ReadableStream({ start(c) { controller = c; } }).tee();
            controller.enqueue('x');
            return later().then(() => {
                const boom = new Error('boom');
                controller.error(boom);
                b1.getReader().closed.catch(e => log.push('branch 1 ' + (e === boom)));
                b2.getReader().closed.catch(e => log.push('branch 2 ' + (e === boom)));
            });
        })();
    ");
    assert_eq!(out, "pull|closed by pull|branch 1 true|branch 2 true");
}

#[test]
fn steps_upon_a_source_promise_run_in_its_reaction_job_with_no_extra_tick() {
    // startPromise is "a promise resolved with" start's promise: a new promise, which adopts it
    // through a NewPromiseResolveThenableJob (queued by the constructor, before `t1`) and that
    // job's `then` reaction (queued after `t1`, before `t2`). "Upon fulfillment of startPromise" is
    // then the reaction job of the new promise itself, queued after `t2` and before `t3`: pull is
    // called in it, not a tick later.
    let out = run("
        new ReadableStream({ start() { return Promise.resolve(); }, pull() { log.push('pull'); } });
        Promise.resolve()
            .then(() => log.push('t1'))
            .then(() => log.push('t2'))
            .then(() => log.push('t3'));
    ");
    assert_eq!(out, "t1|t2|pull|t3");
}

#[test]
fn a_tee_whose_branches_are_both_cancelled_adopts_the_source_cancel_result() {
    // Cancelling the second branch resolves the tee's cancelPromise with
    // ReadableStreamCancel(source, « reason1, reason2 »), a promise (already fulfilled: the source
    // is closed), so cancelPromise adopts it: a NewPromiseResolveThenableJob, then the reaction
    // that settles it; each branch's cancel() reacts to cancelPromise and the script to that.
    // Reacting to the source's result directly settled both a job early. The order is the
    // reference implementation's (web-streams-polyfill 4.3.0 under Node.js prints the same),
    // found by the differential tests (`tests/web_differential.rs`).
    let out = run("
        for (const type of [undefined, 'bytes']) {
            let c;
            const rs = new ReadableStream({ type, start(x) { c = x; } });
            const [b1, b2] = rs.tee();
            c.close();
            b1.cancel('a').then(() => log.push(`${type || 'default'} 1`));
            b2.cancel('b').then(() => log.push(`${type || 'default'} 2`));
        }
        for (let i = 1, p = Promise.resolve(); i <= 4; i++) { const n = i; p = p.then(() => log.push(n)); }
    ");
    assert_eq!(out, "1|2|3|default 1|default 2|bytes 1|bytes 2|4");
}

#[test]
fn from_gets_each_value_as_web_idl_does_then_reacts_to_it() {
    // ReadableStream.from's pull gets the iterator's next value (Web IDL: a promise resolved with
    // next()'s result, a new promise even of a promise, reacted to) and then reacts to that, and
    // the stream reacts to the promise the pull returns as it is, as it does for the standard's
    // own algorithms. The binding had taken next()'s promise as it was (ECMAScript's
    // PromiseResolve), skipped the second reaction and converted the pull's promise as a script's
    // callback result (found by the differential tests: the reference implementation, given the
    // standard's async-sequence steps, prints the same order).
    let out = run("
        const done = ReadableStream.from((async function* () {})()).getReader();
        done.read().then((v) => log.push(`done ${v.done}`));
        let i = 0;
        const next = () => Promise.resolve().then(() => ({ value: i++, done: false }));
        const later = ReadableStream.from({ [Symbol.asyncIterator]: () => ({ next }) }).getReader();
        later.read().then((v) => log.push(`value ${v.value}`));
        const sync = ReadableStream.from([7]).getReader();
        sync.read().then((v) => log.push(`sync ${v.value}`));
        for (let i = 1, p = Promise.resolve(); i <= 6; i++) { const n = i; p = p.then(() => log.push(n)); }
    ");
    assert_eq!(out, "1|2|3|4|5|done true|value 0|sync 7|6");
}
