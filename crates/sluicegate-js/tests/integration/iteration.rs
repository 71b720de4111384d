//! Async iteration of `ReadableStream` and `ReadableStream.from`, from script.

use sluicegate_js::Runtime;

fn run(src: &str) -> String {
    let rt = Runtime::new().unwrap();
    rt.eval(&format!("globalThis.log = []; {src}")).unwrap();
    rt.run_jobs().unwrap();
    rt.with(|ctx| ctx.eval::<String, _>("log.join('|')").unwrap())
}

#[test]
fn for_await_reads_every_chunk_then_releases_the_lock() {
    let out = run("
        const rs = new ReadableStream({ start(c) { c.enqueue(1); c.enqueue(2); c.close(); } });
        (async () => {
            for await (const chunk of rs) log.push(chunk);
            log.push('locked ' + rs.locked);
        })();
    ");
    assert_eq!(out, "1|2|locked false");
}

#[test]
fn values_is_the_async_iterator_and_breaking_cancels_unless_prevented() {
    let out = run("
        log.push(String(ReadableStream.prototype.values === ReadableStream.prototype[Symbol.asyncIterator]));
        const make = (name) => new ReadableStream({
            pull(c) { c.enqueue(name); },
            cancel(reason) { log.push(name + ' cancelled'); },
        });
        const a = make('a'), b = make('b');
        (async () => {
            for await (const chunk of a) { log.push(chunk); break; }
            for await (const chunk of b.values({ preventCancel: true })) { log.push(chunk); break; }
            log.push('a locked ' + a.locked + ', b locked ' + b.locked);
        })();
    ");
    assert_eq!(out, "true|a|a cancelled|b|a locked false, b locked false");
}

#[test]
fn next_after_return_waits_for_it_and_reports_done() {
    let out = run("
        const it = new ReadableStream({ cancel() { log.push('cancel'); } }).values();
        it.return('bye').then(r => log.push('return ' + r.value + ' ' + r.done));
        it.next().then(r => log.push('next ' + r.value + ' ' + r.done));
    ");
    assert_eq!(out, "cancel|return bye true|next undefined true");
}

#[test]
fn values_on_a_locked_stream_and_bad_this_are_type_errors() {
    let out = run("
        const rs = new ReadableStream();
        rs.getReader();
        try { rs.values(); } catch (e) { log.push(e.constructor.name); }
        const it = new ReadableStream().values();
        it.next.call({}).catch(e => log.push('next ' + e.constructor.name));
    ");
    assert_eq!(out, "TypeError|next TypeError");
}

#[test]
fn from_reads_sync_and_async_iterables_and_awaits_promised_values() {
    let out = run("
        async function* gen() { yield 'x'; yield 'y'; }
        (async () => {
            for await (const v of ReadableStream.from(['a', Promise.resolve('b')])) log.push(v);
            for await (const v of ReadableStream.from(gen())) log.push(v);
            for await (const v of ReadableStream.from(new String('hi'))) log.push(v);
        })();
    ");
    assert_eq!(out, "a|b|x|y|h|i");
}

#[test]
fn from_converts_its_argument_to_an_async_sequence_as_web_idl_says() {
    // async_sequence<any>: a non-object is a TypeError even if iterable (a string); @@asyncIterator
    // is looked up first, @@iterator only if that is undefined or null; a non-callable method is
    // a TypeError; the method is called once, when the sequence is opened.
    let out = run("
        for (const v of ['hi', 42, true, null, undefined, Symbol.iterator, 10n]) {
            try { ReadableStream.from(v); log.push('accepted'); } catch (e) { log.push(e.constructor.name); }
        }
        try { ReadableStream.from(); } catch (e) { log.push('none ' + e.constructor.name); }
        const traced = (asyncMethod) => new Proxy({
            [Symbol.asyncIterator]: asyncMethod,
            [Symbol.iterator]() { log.push('call iterator'); return [1][Symbol.iterator](); },
        }, { get(t, k, r) { log.push('get ' + String(k)); return Reflect.get(t, k, r); } });
        ReadableStream.from(traced(undefined));
        ReadableStream.from(traced(null));
        try { ReadableStream.from(traced(5)); } catch (e) { log.push(e.constructor.name); }
        const fn = function () {};
        fn[Symbol.iterator] = function* () { yield 'f'; };
        ReadableStream.from(fn).getReader().read().then(r => log.push('read ' + r.value));
    ");
    assert_eq!(
        out,
        [
            "TypeError|TypeError|TypeError|TypeError|TypeError|TypeError|TypeError|none TypeError",
            "get Symbol(Symbol.asyncIterator)|get Symbol(Symbol.iterator)|call iterator",
            "get Symbol(Symbol.asyncIterator)|get Symbol(Symbol.iterator)|call iterator",
            "get Symbol(Symbol.asyncIterator)|TypeError|read f",
        ]
        .join("|")
    );
}

#[test]
fn from_rethrows_and_cancel_calls_return() {
    let out = run("
        try { ReadableStream.from(42); } catch (e) { log.push(e.constructor.name); }
        const boom = new Error('boom');
        try { ReadableStream.from({ [Symbol.iterator]() { throw boom; } }); } catch (e) { log.push(String(e === boom)); }
        const iterable = {
            [Symbol.asyncIterator]() {
                return {
                    next() { return Promise.resolve({ value: 1, done: false }); },
                    return(reason) { log.push('return ' + reason); return Promise.resolve({ done: true }); },
                };
            },
        };
        ReadableStream.from(iterable).cancel('enough').then(() => log.push('cancelled'));
    ");
    assert_eq!(out, "TypeError|true|return enough|cancelled");
}
