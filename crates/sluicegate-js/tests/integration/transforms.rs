//! `CompressionStream`, `DecompressionStream`, `TextEncoder`, `TextDecoder`,
//! `TextEncoderStream` and `TextDecoderStream`, from script.

use sluicegate_js::Runtime;

fn run(src: &str) -> String {
    let rt = Runtime::new().unwrap();
    rt.eval(&format!("globalThis.log = []; {src}")).unwrap();
    rt.run_jobs().unwrap();
    rt.with(|ctx| ctx.eval::<String, _>("log.join('|')").unwrap())
}

const COLLECT: &str = "
    async function collect(readable) {
        const parts = [];
        for await (const c of readable) parts.push(c);
        return parts;
    }
    function concat(parts) {
        const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
        let at = 0;
        for (const p of parts) { out.set(p, at); at += p.length; }
        return out;
    }
";

#[test]
fn compression_round_trips_in_every_format() {
    let out = run(&format!(
        "{COLLECT}
        (async () => {{
            const text = 'stream me, '.repeat(10000);
            for (const format of ['gzip', 'deflate', 'deflate-raw']) {{
                const input = new TextEncoder().encode(text);
                const packed = concat(await collect(new Blobish(input).pipeThrough(new CompressionStream(format))));
                const parts = await collect(new Blobish(packed).pipeThrough(new DecompressionStream(format)));
                const back = new TextDecoder().decode(concat(parts));
                log.push(format + ':' + (packed.length < input.length) + ':' + (back === text)
                    + ':' + parts.every(p => p instanceof Uint8Array && p.length <= 65536));
            }}
        }})();
        function Blobish(bytes) {{
            return new ReadableStream({{ start(c) {{ c.enqueue(bytes); c.close(); }} }});
        }}"
    ));
    assert_eq!(
        out,
        "gzip:true:true:true|deflate:true:true:true|deflate-raw:true:true:true"
    );
}

#[test]
fn bad_formats_chunks_and_data_are_type_errors() {
    let out = run("
        try { new CompressionStream('zip'); } catch (e) { log.push(e.constructor.name); }
        try { new DecompressionStream(); } catch (e) { log.push(e.constructor.name); }
        const ds = new DecompressionStream('gzip');
        const writer = ds.writable.getWriter();
        writer.write(new Uint8Array([1, 2, 3])).catch(e => log.push('write:' + e.constructor.name));
        ds.readable.getReader().read().catch(e => log.push('read:' + e.constructor.name));
        const cs = new CompressionStream('gzip');
        cs.writable.getWriter().write('not bytes').catch(e => log.push('chunk:' + e.constructor.name));
        cs.readable.getReader().read().catch(e => log.push('chunk read:' + e.constructor.name));
    ");
    let mut got: Vec<&str> = out.split('|').collect();
    got.sort_unstable();
    assert_eq!(
        got,
        [
            "TypeError",
            "TypeError",
            "chunk read:TypeError",
            "chunk:TypeError",
            "read:TypeError",
            "write:TypeError"
        ]
    );
}

#[test]
fn a_bomb_comes_out_in_bounded_chunks_only_as_read() {
    // 8 MiB of zeros compressed to a few KiB: the reader sees 64 KiB chunks, and reading only
    // the first leaves the rest unmade (the write has not finished).
    let out = run(&format!(
        "{COLLECT}
        (async () => {{
            const zeros = new ReadableStream({{ start(c) {{ c.enqueue(new Uint8Array(8 << 20)); c.close(); }} }});
            const packed = concat(await collect(zeros.pipeThrough(new CompressionStream('gzip'))));
            const ds = new DecompressionStream('gzip');
            const writer = ds.writable.getWriter();
            let written = false;
            writer.write(packed).then(() => {{ written = true; }});
            writer.close();
            const reader = ds.readable.getReader();
            const first = await reader.read();
            for (let i = 0; i < 100; i++) await null;
            log.push(packed.length < 65536, first.value.length, written);
            let total = first.value.length;
            for (;;) {{
                const {{ value, done }} = await reader.read();
                if (done) break;
                if (value.length > 65536) log.push('too big');
                total += value.length;
            }}
            log.push(total, written);
        }})().catch(e => log.push(String(e)));"
    ));
    assert_eq!(out, "true|65536|false|8388608|true");
}

#[test]
fn text_decoder_and_encoder() {
    let out = run("
        const d = new TextDecoder('utf-16le', { fatal: true });
        log.push(d.encoding, d.fatal, d.ignoreBOM);
        log.push(d.decode(new Uint8Array([0x68, 0, 0x3d]), { stream: true }));
        log.push(d.decode(new Uint8Array([0xd8, 0x00, 0xde])));
        try { new TextDecoder('klingon'); } catch (e) { log.push(e.constructor.name); }
        try { new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array([0xff])); } catch (e) { log.push(e.constructor.name); }
        const e = new TextEncoder();
        log.push(e.encoding, Array.from(e.encode('é\\ud800')).join(','));
        const dest = new Uint8Array(4);
        const r = e.encodeInto('aé€', dest);
        log.push(r.read, r.written, Array.from(dest).join(','));
    ");
    assert_eq!(
        out,
        "utf-16le|true|false|h|😀|RangeError|TypeError|utf-8|195,169,239,191,189|2|3|97,195,169,0"
    );
}

#[test]
fn text_streams_decode_split_characters_and_encode_split_surrogates() {
    let out = run(&format!(
        "{COLLECT}
        (async () => {{
            const bytes = new ReadableStream({{ start(c) {{
                c.enqueue(new Uint8Array([0xe2, 0x82])); c.enqueue(new Uint8Array([0xac, 0x21])); c.close();
            }} }});
            const tds = new TextDecoderStream('utf-8', {{ ignoreBOM: true }});
            log.push(tds.encoding, tds.fatal, tds.ignoreBOM);
            log.push((await collect(bytes.pipeThrough(tds))).join(''));
            const strings = new ReadableStream({{ start(c) {{ c.enqueue('a\\ud83d'); c.enqueue('\\ude00'); c.close(); }} }});
            const parts = await collect(strings.pipeThrough(new TextEncoderStream()));
            log.push(new TextDecoder().decode(concat(parts)));
        }})();"
    ));
    assert_eq!(out, "utf-8|false|true|€!|a😀");
}
