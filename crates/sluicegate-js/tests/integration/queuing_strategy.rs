//! The two built-in queuing strategies as WPT's `queuing-strategies.any.js` checks them.

use sluicegate_js::Runtime;

fn check(rt: &Runtime, expr: &str) {
    let ok = rt.with(|ctx| ctx.eval::<bool, _>(expr));
    assert_eq!(ok.ok(), Some(true), "{expr}");
}

fn throws(rt: &Runtime, expr: &str, class: &str) {
    check(
        rt,
        &format!(
            "(() => {{ try {{ {expr}; return false; }} catch (e) {{ return e instanceof {class}; }} }})()"
        ),
    );
}

#[test]
fn both_strategies_construct_and_report_their_high_water_mark() {
    let rt = Runtime::new().unwrap();
    for class in ["CountQueuingStrategy", "ByteLengthQueuingStrategy"] {
        check(
            &rt,
            &format!("new {class}({{ highWaterMark: 4 }}).highWaterMark === 4"),
        );
        check(
            &rt,
            &format!("new {class}({{ highWaterMark: '2' }}).highWaterMark === 2"),
        );
        check(
            &rt,
            &format!("Number.isNaN(new {class}({{ highWaterMark: NaN }}).highWaterMark)"),
        );
        check(
            &rt,
            &format!("new {class}({{ highWaterMark: -1 }}).highWaterMark === -1"),
        );
        throws(&rt, &format!("new {class}()"), "TypeError");
        throws(&rt, &format!("new {class}({{}})"), "TypeError");
        throws(&rt, &format!("new {class}(null)"), "TypeError");
        throws(&rt, &format!("new {class}(5)"), "TypeError");
        throws(&rt, &format!("{class}({{ highWaterMark: 1 }})"), "TypeError");
        check(
            &rt,
            &format!("new {class}({{ highWaterMark: 1 }}).size === new {class}({{ highWaterMark: 2 }}).size"),
        );
        check(
            &rt,
            &format!(
                "Object.prototype.toString.call(new {class}({{ highWaterMark: 1 }})) === '[object {class}]'"
            ),
        );
        check(
            &rt,
            &format!(
                "!Object.prototype.hasOwnProperty.call(new {class}({{ highWaterMark: 1 }}), 'highWaterMark')"
            ),
        );
        check(&rt, &format!("typeof Object.getOwnPropertyDescriptor({class}.prototype, 'highWaterMark').get === 'function'"));
    }
}

#[test]
fn sizes_count_chunks_or_bytes() {
    let rt = Runtime::new().unwrap();
    check(
        &rt,
        "new CountQueuingStrategy({ highWaterMark: 1 }).size('anything') === 1",
    );
    check(
        &rt,
        "new CountQueuingStrategy({ highWaterMark: 1 }).size.name === 'size'",
    );
    check(
        &rt,
        "new ByteLengthQueuingStrategy({ highWaterMark: 1 }).size(new Uint8Array(7)) === 7",
    );
    check(
        &rt,
        "new ByteLengthQueuingStrategy({ highWaterMark: 1 }).size({ byteLength: 3 }) === 3",
    );
    check(&rt, "new CountQueuingStrategy({ highWaterMark: 1 }).size !== new ByteLengthQueuingStrategy({ highWaterMark: 1 }).size");
}

#[test]
fn the_count_size_function_counts_chunks_and_other_size_functions_are_called() {
    // The binding counts chunks itself for CountQueuingStrategy's own size function (however it
    // reaches the constructor), and calls every other one, once per chunk.
    let rt = Runtime::new().unwrap();
    rt.eval(
        "globalThis.desired = (strategy) => {
            let c;
            new ReadableStream({ start(controller) { c = controller; } }, strategy);
            c.enqueue('a');
            c.enqueue('b');
            return c.desiredSize;
        };
        globalThis.calls = 0;",
    )
    .unwrap();
    check(
        &rt,
        "desired(new CountQueuingStrategy({ highWaterMark: 4 })) === 2",
    );
    check(
        &rt,
        "desired({ highWaterMark: 4, size: new CountQueuingStrategy({ highWaterMark: 1 }).size }) === 2",
    );
    check(
        &rt,
        "desired({ highWaterMark: 4, size() { calls += 1; return 3; } }) === -2 && calls === 2",
    );
    check(&rt, "desired({ highWaterMark: 4, size: () => 1 }) === 2");
    throws(
        &rt,
        "new ReadableStream({ type: 'bytes' }, new CountQueuingStrategy({ highWaterMark: 1 }))",
        "RangeError",
    );
    check(
        &rt,
        "(() => {
            let c;
            const w = new WritableStream({ start(controller) { c = controller; } },
                new CountQueuingStrategy({ highWaterMark: 3 }));
            const writer = w.getWriter();
            writer.write('x');
            writer.write('y');
            return writer.desiredSize === 1;
        })()",
    );
}
