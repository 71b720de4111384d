//! The property shapes WebIDL gives the stream classes, as `idlharness.js` checks them.

use sluicegate_js::Runtime;

fn run(src: &str) -> String {
    let rt = Runtime::new().unwrap();
    rt.eval(&format!("globalThis.log = []; {src}")).unwrap();
    rt.run_jobs().unwrap();
    rt.with(|ctx| ctx.eval::<String, _>("log.join('|')").unwrap())
}

#[test]
fn interface_objects_are_non_enumerable_globals_with_their_constructor_length() {
    let out = run("
        const d = Object.getOwnPropertyDescriptor(globalThis, 'ReadableStream');
        log.push([d.enumerable, d.writable, d.configurable].join());
        log.push(ReadableStream.name + ' ' + ReadableStream.length + ' ' + ReadableStreamDefaultReader.length);
        log.push(Object.keys(globalThis).filter(k => k.includes('Stream') || k.includes('Strategy')).length);
    ");
    assert_eq!(out, "false,true,true|ReadableStream 0 1|0");
}

#[test]
fn operations_and_attributes_have_the_idl_names_lengths_and_attributes() {
    let out = run("
        const tee = Object.getOwnPropertyDescriptor(ReadableStream.prototype, 'tee');
        log.push([tee.value.name, tee.value.length, tee.enumerable, tee.writable, tee.configurable].join());
        const locked = Object.getOwnPropertyDescriptor(ReadableStream.prototype, 'locked');
        log.push([locked.get.name, locked.get.length, locked.set, locked.enumerable, locked.configurable].join());
        log.push(String(Object.getOwnPropertyDescriptor(ReadableStream.prototype, 'constructor').enumerable));
    ");
    assert_eq!(out, "tee,0,true,true,true|get locked,0,,true,true|false");
}

#[test]
fn promise_members_reject_on_a_wrong_this_and_others_throw() {
    let out = run("
        const closed = Object.getOwnPropertyDescriptor(ReadableStreamDefaultReader.prototype, 'closed').get;
        closed.call({}).catch(e => log.push('closed ' + e.constructor.name));
        ReadableStream.prototype.cancel.call({}).catch(e => log.push('cancel ' + e.constructor.name));
        try { ReadableStream.prototype.tee.call({}); } catch (e) { log.push('tee ' + e.constructor.name); }
    ");
    assert_eq!(out, "tee TypeError|closed TypeError|cancel TypeError");
}

#[test]
fn operations_without_checks_or_promises_are_the_native_functions_renamed() {
    // A controller's enqueue and desiredSize run once or more per chunk: they are the native
    // functions, not script wrappers around them, yet keep their IDL names, lengths and checks.
    let out = run("
        const proto = ReadableStreamDefaultController.prototype;
        const enqueue = Object.getOwnPropertyDescriptor(proto, 'enqueue');
        const size = Object.getOwnPropertyDescriptor(TransformStreamDefaultController.prototype, 'desiredSize');
        for (const f of [enqueue.value, size.get]) {
            log.push([f.name, f.length, String(f).includes('[native code]')].join());
        }
        log.push([enqueue.enumerable, enqueue.writable, enqueue.configurable, size.enumerable].join());
        try { proto.enqueue.call({}, 1); } catch (e) { log.push('enqueue ' + e.constructor.name); }
        try { size.get.call(proto); } catch (e) { log.push('desiredSize ' + e.constructor.name); }
        const write = WritableStreamDefaultWriter.prototype.write;
        log.push([write.name, String(write).includes('[native code]')].join());
    ");
    assert_eq!(
        out,
        "enqueue,0,true|get desiredSize,0,true|true,true,true,true|enqueue TypeError|desiredSize TypeError|write,false"
    );
}
