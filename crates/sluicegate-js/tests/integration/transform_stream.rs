//! `TransformStream` and its controller, from script.

use sluicegate_js::Runtime;

fn run(src: &str) -> String {
    let rt = Runtime::new().unwrap();
    rt.eval(&format!("globalThis.log = []; {src}")).unwrap();
    rt.run_jobs().unwrap();
    rt.with(|ctx| ctx.eval::<String, _>("log.join('|')").unwrap())
}

#[test]
fn chunks_are_transformed_and_flush_runs_at_the_end() {
    let out = run("
        const ts = new TransformStream({
            transform(chunk, c) { c.enqueue(chunk.toUpperCase()); },
            flush(c) { c.enqueue('!'); },
        });
        log.push(String(ts.readable === ts.readable && ts.writable === ts.writable));
        const writer = ts.writable.getWriter();
        writer.write('a'); writer.write('b'); writer.close();
        (async () => { for await (const chunk of ts.readable) log.push(chunk); log.push('end'); })();
    ");
    assert_eq!(out, "true|A|B|!|end");
}

#[test]
fn without_a_transform_chunks_pass_through_and_pipe_through_works() {
    let out = run("
        const rs = new ReadableStream({ start(c) { c.enqueue(1); c.enqueue(2); c.close(); } });
        (async () => { for await (const v of rs.pipeThrough(new TransformStream())) log.push(v); log.push('end'); })();
    ");
    assert_eq!(out, "1|2|end");
}

#[test]
fn the_controller_errors_and_terminates_both_sides() {
    let out = run("
        const boom = new Error('boom');
        let controller;
        const ts = new TransformStream({ start(c) { controller = c; } });
        log.push('desiredSize ' + controller.desiredSize);
        controller.error(boom);
        ts.readable.getReader().closed.catch(e => log.push('readable ' + (e === boom)));
        ts.writable.getWriter().closed.catch(e => log.push('writable ' + (e === boom)));
        const ts2 = new TransformStream({ start(c) { c.terminate(); } });
        ts2.readable.getReader().closed.then(() => log.push('terminated readable closed'));
        ts2.writable.getWriter().closed.catch(e => log.push('terminated writable ' + e.constructor.name));
    ");
    // The writable sides finish erroring once their start has been reacted to (Node agrees).
    assert_eq!(
        out,
        "desiredSize 0|readable true|terminated readable closed|writable true|terminated writable TypeError"
    );
}

#[test]
fn bad_transformers_are_the_standards_errors() {
    let out = run("
        for (const t of [null, { readableType: 'bytes' }, { writableType: 'bytes' }, { transform: 1 }]) {
            try { new TransformStream(t); } catch (e) { log.push(e.constructor.name); }
        }
    ");
    assert_eq!(out, "TypeError|RangeError|RangeError|TypeError");
}

#[test]
fn a_start_that_returns_a_promise_resolves_the_start_promise_itself() {
    // The constructor resolves [[startPromise]] with what `start()` returned: a promise or
    // thenable is adopted into that very promise (a NewPromiseResolveThenableJob, then the
    // reaction that settles it), and each side reacts to "a promise resolved with"
    // [[startPromise]] two jobs after that. A new promise resolved with start's result, reacted
    // to, would settle [[startPromise]] one job later; the writable side, erroring since the
    // readable side's cancel, would then finish erroring one job later too. The order is the
    // reference implementation's (web-streams-polyfill 4.3.0 under Node.js prints the same),
    // found by the differential tests (`tests/web_differential.rs`).
    let out = run("
        for (const [name, result] of [['promise', Promise.resolve()], ['thenable', { then(r) { r(); } }]]) {
            const ts = new TransformStream({ start() { return result; } });
            ts.writable.getWriter().closed.catch(() => log.push(name + ' writable errored'));
            ts.readable.cancel('r0');
        }
        for (let i = 1, p = Promise.resolve(); i <= 6; i++) { const n = i; p = p.then(() => log.push(n)); }
    ");
    assert_eq!(
        out,
        "1|2|3|thenable writable errored|4|promise writable errored|5|6"
    );
}

#[test]
fn error_and_terminate_reach_a_writable_side_whose_close_is_in_flight() {
    // `writer.close()` calls the flush, which enqueues and throws: the readable side errors at
    // once and the sink's close algorithms are cleared, but the writable side stays writable,
    // its close in flight, until the close's rejection is processed jobs later. Meanwhile the
    // controller's `error()` and `terminate()` still reach it through the controller's
    // `[[stream]]` and start it erroring (`desiredSize` becomes null). The core's shared state
    // was gone by then, and both were no-ops (found by the differential tests; the reference
    // implementation prints the same).
    let out = run("
        const ticks = (n) => { let p = Promise.resolve(); for (let i = 0; i < n; i++) p = p.then(() => {}); return p; };
        (async () => {
            for (const method of ['error', 'terminate']) {
                let c;
                const ts = new TransformStream(
                    { start(x) { c = x; }, flush(x) { x.enqueue('f'); throw new Error('flush'); } },
                    { highWaterMark: 4 },
                    { highWaterMark: 4 },
                );
                const w = ts.writable.getWriter();
                w.close().catch(() => {});
                await ticks(3);
                const before = w.desiredSize;
                c[method](new Error('x'));
                log.push(`${method}: ${before} -> ${w.desiredSize}`);
            }
        })();
    ");
    assert_eq!(out, "error: 4 -> null|terminate: 4 -> null");
}
