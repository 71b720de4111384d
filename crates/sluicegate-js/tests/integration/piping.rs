//! `pipeTo` and `pipeThrough` from script.

use sluicegate_js::Runtime;

fn run(src: &str) -> String {
    let rt = Runtime::new().unwrap();
    rt.eval(&format!("globalThis.log = []; {src}")).unwrap();
    rt.run_jobs().unwrap();
    rt.with(|ctx| ctx.eval::<String, _>("log.join('|')").unwrap())
}

#[test]
fn pipe_to_moves_every_chunk_then_closes_the_destination() {
    let out = run("
        const rs = new ReadableStream({ start(c) { c.enqueue('a'); c.enqueue('b'); c.close(); } });
        const ws = new WritableStream({ write(chunk) { log.push(chunk); }, close() { log.push('close'); } });
        rs.pipeTo(ws).then(() => log.push('piped ' + rs.locked + ' ' + ws.locked));
    ");
    assert_eq!(out, "a|b|close|piped false false");
}

#[test]
fn an_abort_signal_stops_the_pipe_with_its_reason() {
    let out = run("
        const controller = new AbortController();
        const why = new Error('stop');
        const rs = new ReadableStream({ cancel(r) { log.push('cancel ' + (r === why)); } });
        const ws = new WritableStream({ abort(r) { log.push('abort ' + (r === why)); } });
        rs.pipeTo(ws, { signal: controller.signal }).catch(e => log.push('rejected ' + (e === why)));
        controller.abort(why);
    ");
    assert_eq!(out, "abort true|cancel true|rejected true");
}

#[test]
fn pipe_through_returns_the_pairs_readable_and_checks_its_arguments() {
    let out = run("
        const readable = new ReadableStream();
        const writable = new WritableStream({ write(c) { log.push('got ' + c); } });
        const rs = new ReadableStream({ start(c) { c.enqueue(1); } });
        log.push(String(rs.pipeThrough({ writable, readable }) === readable));
        try { new ReadableStream().pipeThrough({ readable, writable: {} }); } catch (e) { log.push(e.constructor.name); }
        new ReadableStream().pipeTo({}).catch(e => log.push('pipeTo ' + e.constructor.name));
        try { new ReadableStream().pipeThrough({ readable, writable: new WritableStream() }, { signal: 1 }); }
        catch (e) { log.push('signal ' + e.constructor.name); }
    ");
    assert_eq!(out, "true|TypeError|signal TypeError|got 1|pipeTo TypeError");
}

#[test]
fn a_byte_stream_pipes_into_a_js_writable_as_uint8_arrays() {
    let out = run("
        const rs = new ReadableStream({ type: 'bytes', start(c) {
            c.enqueue(new Uint8Array([1, 2])); c.enqueue(new Uint8Array([3])); c.close();
        } });
        const ws = new WritableStream({ write(chunk) { log.push(chunk.constructor.name + ' ' + Array.from(chunk)); } });
        rs.pipeTo(ws).then(() => log.push('done'));
    ");
    assert_eq!(out, "Uint8Array 1,2|Uint8Array 3|done");
}
