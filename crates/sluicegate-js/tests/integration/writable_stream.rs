//! `WritableStream` with its writer and controller, from script.

use sluicegate_js::Runtime;

fn run(src: &str) -> String {
    let rt = Runtime::new().unwrap();
    rt.eval(&format!("globalThis.log = []; {src}")).unwrap();
    rt.run_jobs().unwrap();
    rt.with(|ctx| ctx.eval::<String, _>("log.join('|')").unwrap())
}

#[test]
fn writes_reach_the_sink_in_order_and_close_resolves_after_them() {
    let out = run("
        const ws = new WritableStream({
            write(chunk, c) { log.push('write ' + chunk + ' ' + (c instanceof WritableStreamDefaultController)); },
            close() { log.push('sink close'); },
        });
        const writer = ws.getWriter();
        writer.write('a').then(() => log.push('a done'));
        writer.write('b').then(() => log.push('b done'));
        writer.close().then(() => log.push('closed'));
    ");
    // The reaction to write a's promise resolves a's writer promise, then calls write b at once;
    // a's continuation runs after.
    assert_eq!(out, "write a true|write b true|a done|sink close|b done|closed");
}

#[test]
fn ready_and_desired_size_follow_the_high_water_mark() {
    let out = run("
        let release;
        const ws = new WritableStream({ write() { return new Promise(r => { release = r; }); } },
                                      { highWaterMark: 2 });
        const writer = ws.getWriter();
        const ready = writer.ready;
        log.push('same ready ' + (ready === writer.ready) + ' size ' + writer.desiredSize);
        writer.write(1); writer.write(2);
        log.push('size ' + writer.desiredSize + ' new ready ' + (ready !== writer.ready));
        writer.ready.then(() => log.push('ready again, size ' + writer.desiredSize));
        Promise.resolve().then(() => release());
    ");
    assert_eq!(
        out,
        "same ready true size 2|size 0 new ready true|ready again, size 1"
    );
}

#[test]
fn abort_signals_the_controller_and_rejects_writes_with_the_reason() {
    let out = run("
        const why = new Error('why');
        const ws = new WritableStream({
            start(c) { c.signal.addEventListener('abort', () => log.push('signal ' + (c.signal.reason === why))); },
            abort(reason) { log.push('sink abort ' + (reason === why)); },
        });
        const writer = ws.getWriter();
        const first = writer.abort(why);
        log.push('same abort promise ' + (first === writer.abort(why)));
        writer.write('late').catch(e => log.push('write rejected ' + (e === why)));
        first.then(() => log.push('aborted'));
    ");
    assert_eq!(
        out,
        "signal true|same abort promise true|sink abort true|write rejected true|aborted"
    );
}

#[test]
fn a_writer_script_dropped_keeps_the_lock_and_a_controller_its_stream() {
    let out = run("
        let controller;
        (() => {
            const ws = new WritableStream({ start(c) { controller = c; } });
            ws.getWriter().closed.catch(e => log.push('closed rejected ' + e));
        })();
        Promise.resolve().then(() => controller.error('boom'));
    ");
    assert_eq!(out, "closed rejected boom");
}

#[test]
fn bad_sinks_and_types_are_the_standards_errors() {
    let out = run("
        try { new WritableStream(null); } catch (e) { log.push(e.constructor.name); }
        try { new WritableStream({ type: 'bytes' }); } catch (e) { log.push(e.constructor.name); }
        try { new WritableStream({ write: 5 }); } catch (e) { log.push(e.constructor.name); }
        const ws = new WritableStream();
        ws.getWriter();
        ws.close().catch(e => log.push('close on locked ' + e.constructor.name));
    ");
    assert_eq!(out, "TypeError|RangeError|TypeError|close on locked TypeError");
}

#[test]
fn a_writer_and_its_stream_hand_out_the_pending_abort_requests_promise_itself() {
    // WritableStreamAbort returns the pending abort request's promise while there is one, so
    // `stream.abort()`, `writer.abort()` and `stream.abort()` again give one object, and its
    // reactions run in the order they were added. The writer kept a promise of its own, one job
    // behind (found by the differential tests; the reference implementation prints the same).
    let out = run("
        const ws = new WritableStream({ start() { return Promise.resolve(); } });
        const a = ws.abort('r0');
        const w = ws.getWriter();
        const b = w.abort('r1');
        w.releaseLock();
        const c = ws.abort('r2');
        log.push(`same ${a === b && b === c}`);
        a.then(() => log.push('a'));
        b.then(() => log.push('b'));
        c.then(() => log.push('c'));
    ");
    assert_eq!(out, "same true|a|b|c");
}
