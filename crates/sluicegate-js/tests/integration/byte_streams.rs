//! Readable byte streams from script: the byte controller, BYOB readers and requests.

use sluicegate_js::Runtime;

fn run(src: &str) -> String {
    let rt = Runtime::new().unwrap();
    rt.eval(&format!("globalThis.log = []; {src}")).unwrap();
    rt.run_jobs().unwrap();
    rt.with(|ctx| ctx.eval::<String, _>("log.join('|')").unwrap())
}

#[test]
fn enqueued_views_reach_a_default_reader_and_their_buffers_are_detached() {
    let out = run("
        let chunk;
        const rs = new ReadableStream({ type: 'bytes', start(c) {
            chunk = new Uint8Array([1, 2, 3]);
            c.enqueue(chunk);
            log.push('detached ' + chunk.buffer.detached + ' ' + chunk.byteLength);
        } });
        rs.getReader().read().then(r => log.push(r.value.constructor.name + ' ' + Array.from(r.value).join(',')));
    ");
    assert_eq!(out, "detached true 0|Uint8Array 1,2,3");
}

#[test]
fn a_byob_read_is_filled_through_the_request_view_and_keeps_its_view_type() {
    let out = run("
        const rs = new ReadableStream({ type: 'bytes', pull(c) {
            const req = c.byobRequest;
            log.push('same request ' + (req === c.byobRequest) + ', view ' + req.view.byteLength);
            req.view[0] = 1; req.view[1] = 0; req.view[2] = 2; req.view[3] = 0;
            req.respond(4);
            log.push('answered ' + (c.byobRequest === null) + ' ' + req.view);
        } });
        const reader = rs.getReader({ mode: 'byob' });
        const mine = new Uint16Array(4);
        reader.read(mine).then(r => log.push(r.value.constructor.name + ' ' + Array.from(r.value).join(',')
            + ' buffer ' + r.value.buffer.byteLength));
        log.push('mine detached ' + mine.buffer.detached);
    ");
    // Pull runs after start's reaction, once the read is waiting.
    assert_eq!(
        out,
        "mine detached true|same request true, view 8|answered true null|Uint16Array 1,2 buffer 8"
    );
}

#[test]
fn misuse_is_the_standards_errors() {
    let out = run("
        try { new ReadableStream({ type: 'bytes' }, { size() { return 1; } }); } catch (e) { log.push(e.constructor.name); }
        try { new ReadableStream({ type: 'bytes', autoAllocateChunkSize: 0 }); } catch (e) { log.push(e.constructor.name); }
        try { new ReadableStream({ type: 'nope' }); } catch (e) { log.push(e.constructor.name); }
        try { new ReadableStream().getReader({ mode: 'byob' }); } catch (e) { log.push(e.constructor.name); }
        const reader = new ReadableStream({ type: 'bytes' }).getReader({ mode: 'byob' });
        reader.read(new Uint8Array(0)).catch(e => log.push('empty ' + e.constructor.name));
        reader.read(new Uint8Array(1), { min: 2 }).catch(e => log.push('min ' + e.constructor.name));
    ");
    assert_eq!(
        out,
        "RangeError|TypeError|TypeError|TypeError|empty TypeError|min RangeError"
    );
}

#[test]
fn answering_a_request_whose_view_script_detached_is_a_type_error() {
    let out = run("
        let reader;
        const rs = new ReadableStream({ type: 'bytes', pull(c) {
            reader.read(c.byobRequest.view).catch(() => {});
            try { c.byobRequest.respond(1); } catch (e) { log.push('respond ' + e.constructor.name); }
            try { c.enqueue(new Uint8Array([1])); } catch (e) { log.push('enqueue ' + e.constructor.name); }
        } });
        reader = rs.getReader({ mode: 'byob' });
        reader.read(new Uint8Array(3)).catch(() => {});
    ");
    assert_eq!(out, "respond TypeError|enqueue TypeError");
}

#[test]
fn a_view_out_of_bounds_of_a_shrunk_resizable_buffer_is_an_empty_chunk_type_error() {
    let out = run("
        new ReadableStream({ type: 'bytes', start(c) {
            const buffer = new ArrayBuffer(8, { maxByteLength: 16 });
            const view = new Uint8Array(buffer, 4);
            buffer.resize(2);
            try { c.enqueue(view); } catch (e) { log.push(e.constructor.name); }
        } });
    ");
    assert_eq!(out, "TypeError");
}

/// `value.buffer.byteLength`, `byteOffset`, `byteLength` and the bytes of a read's `Uint8Array`.
const DESCRIBE: &str = "
    globalThis.describe = (v) => v.buffer.byteLength + '/' + v.byteOffset + '/' + v.byteLength + ':' + Array.from(v).join(',');
";

#[test]
fn a_default_read_hands_out_the_enqueued_views_whole_buffer_and_offset() {
    let out = run(&format!(
        "{DESCRIBE}
        const rs = new ReadableStream({{ type: 'bytes', start(c) {{
            c.enqueue(new Uint8Array([1, 2, 3, 4, 5, 6]).subarray(2, 5));
            c.enqueue(new Uint8Array([7, 8]));
            c.close();
        }} }});
        const reader = rs.getReader();
        reader.read().then(r => log.push(describe(r.value)));
        reader.read().then(r => log.push(describe(r.value)));
    "
    ));
    assert_eq!(out, "6/2/3:3,4,5|2/0/2:7,8");
}

#[test]
fn a_default_read_after_a_partial_byob_read_hands_out_the_rest_within_the_buffer() {
    let out = run(&format!(
        "{DESCRIBE}
        const rs = new ReadableStream({{ type: 'bytes', start(c) {{ c.enqueue(new Uint8Array([1, 2, 3, 4, 5])); }} }});
        (async () => {{
            const byob = rs.getReader({{ mode: 'byob' }});
            log.push(describe((await byob.read(new Uint8Array(2))).value));
            byob.releaseLock();
            log.push(describe((await rs.getReader().read()).value));
        }})();
    "
    ));
    assert_eq!(out, "2/0/2:1,2|5/2/3:3,4,5");
}

#[test]
fn an_auto_allocated_read_hands_out_the_whole_allocated_buffer() {
    let out = run(&format!(
        "{DESCRIBE}
        const rs = new ReadableStream({{ type: 'bytes', autoAllocateChunkSize: 8, pull(c) {{
            const v = c.byobRequest.view;
            v[0] = 42; v[1] = 43;
            c.byobRequest.respond(2);
        }} }});
        rs.getReader().read().then(r => log.push(describe(r.value)));
    "
    ));
    assert_eq!(out, "8/0/2:42,43");
}

#[test]
fn tee_gives_branch1_the_view_and_branch2_a_copy_of_the_views_bytes() {
    let out = run(&format!(
        "{DESCRIBE}
        const rs = new ReadableStream({{ type: 'bytes', start(c) {{
            c.enqueue(new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7]).subarray(3, 6));
            c.close();
        }} }});
        const [a, b] = rs.tee();
        a.getReader().read().then(r => log.push('a ' + describe(r.value)));
        b.getReader().read().then(r => log.push('b ' + describe(r.value)));
    "
    ));
    assert_eq!(out, "a 8/3/3:3,4,5|b 3/0/3:3,4,5");
}

#[test]
fn tee_clones_a_byob_branchs_view_with_an_offset_as_just_its_bytes() {
    let out = run(&format!(
        "{DESCRIBE}
        const rs = new ReadableStream({{ type: 'bytes', pull(c) {{
            const v = c.byobRequest.view;
            v.set([7, 8, 9]);
            c.byobRequest.respond(3);
        }} }});
        const [a, b] = rs.tee();
        a.getReader({{ mode: 'byob' }}).read(new Uint8Array(new ArrayBuffer(10), 2, 4))
            .then(r => log.push('a ' + describe(r.value)));
        b.getReader().read().then(r => log.push('b ' + describe(r.value)));
    "
    ));
    assert_eq!(out, "a 10/2/3:7,8,9|b 3/0/3:7,8,9");
}

#[test]
fn a_pipe_writes_each_byte_chunk_as_the_view_of_its_whole_buffer() {
    let out = run(&format!(
        "{DESCRIBE}
        const rs = new ReadableStream({{ type: 'bytes', start(c) {{
            c.enqueue(new Uint8Array([1, 2, 3, 4, 5, 6]).subarray(1, 3));
            c.enqueue(new Uint8Array([9]));
            c.close();
        }} }});
        const ws = new WritableStream({{ write(chunk) {{ log.push(describe(chunk)); }} }});
        rs.pipeTo(ws).then(() => log.push('done'));
    "
    ));
    assert_eq!(out, "6/1/2:2,3|1/0/1:9|done");
}
