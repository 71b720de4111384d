//! A runtime dropped with streams, reads and pipes still pending frees every native allocation
//! they made (issue 12: pipes left pending were not freed with their runtime). A counting global
//! allocator measures the bytes still live after each scenario has run and been dropped: QuickJS
//! allocates with the C allocator, so what is counted is the binding's and the core's own memory.
//! A scenario runs once first (lazily made statics, thread-locals), then `RUNS` more times; what
//! stays live must not grow with the runs.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);
static LIVE_BLOCKS: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every method forwards to `System` with the caller's own layout and pointer, so the
// `GlobalAlloc` contract holds exactly as it does for `System`; the counters are plain atomics
// and never allocate. Exercised by every scenario of this binary (it is the global allocator)
// and checked by `counts_an_allocation` below.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
            LIVE_BLOCKS.fetch_add(1, Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `alloc_zeroed`'s contract.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
            LIVE_BLOCKS.fetch_add(1, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by this allocator (so by `System`) with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        LIVE_BLOCKS.fetch_sub(1, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` was allocated by `System` with `layout`; the caller upholds the rest.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE_BYTES.fetch_add(new_size as isize - layout.size() as isize, Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

fn live() -> (isize, isize) {
    (
        LIVE_BYTES.load(Ordering::Relaxed),
        LIVE_BLOCKS.load(Ordering::Relaxed),
    )
}

/// The allocator counts what it hands out and takes back.
fn counts_an_allocation() -> Result<(), String> {
    let (before, _) = live();
    let v = std::hint::black_box(vec![0u8; 4096]);
    let (during, _) = live();
    drop(v);
    let (after, _) = live();
    if during - before >= 4096 && after == before {
        Ok(())
    } else {
        Err(format!(
            "counting allocator: before {before}, during {during}, after {after}"
        ))
    }
}

const RUNS: usize = 8;

/// Scripts that leave work pending when their runtime is dropped.
const SCENARIOS: &[(&str, &str)] = &[
    // A JS sink or transformer held its own stream: every one left open was kept alive.
    ("an open writable stream", "new WritableStream();"),
    (
        "a writable stream with a writer",
        "new WritableStream().getWriter().write(1);",
    ),
    ("an open transform stream", "new TransformStream();"),
    // The core's transform stream with a write waiting for its readable side to pull.
    (
        "a transform stream with a write waiting",
        "new TransformStream().writable.getWriter().write(1);",
    ),
    // The core's pipe: the streams' read request and reactions hold it, and it holds them.
    ("a pending read", "new ReadableStream().getReader().read();"),
    (
        "a pending pipe into a writable stream",
        "new ReadableStream().pipeTo(new WritableStream());",
    ),
    (
        "a pending pipe into a transform stream",
        "new ReadableStream().pipeTo(new TransformStream().writable);",
    ),
    (
        "a pipe whose write never settles",
        "new ReadableStream({ start(c) { c.enqueue(1); } })
            .pipeTo(new WritableStream({ write() { return new Promise(() => {}); } }));",
    ),
    (
        "a pending byte stream pipe",
        "new ReadableStream({ type: 'bytes' }).pipeTo(new WritableStream());",
    ),
    (
        "a pending pipe with a signal",
        "new ReadableStream().pipeTo(new WritableStream(), { signal: new AbortController().signal });",
    ),
    (
        "a pending pipeThrough",
        "new ReadableStream().pipeThrough(new TransformStream()).getReader().read();",
    ),
    (
        "a tee with a pending read",
        "const [a, b] = new ReadableStream().tee(); a.getReader().read();",
    ),
    (
        "a pending byob read",
        "new ReadableStream({ type: 'bytes' }).getReader({ mode: 'byob' }).read(new Uint8Array(8));",
    ),
    (
        "the runtime test's mix",
        "globalThis.kept = [];
        for (let i = 0; i < 4; i++) {
            const rs = new ReadableStream({ start(c) { kept.push(c); } });
            rs.getReader().read();
            const ts = new TransformStream();
            new ReadableStream().pipeTo(ts.writable);
            const bytes = new ReadableStream({ type: 'bytes' });
            bytes.getReader({ mode: 'byob' }).read(new Uint8Array(8));
        }",
    ),
];

fn run(script: &str) {
    let rt = sluicegate_js::Runtime::new().unwrap();
    rt.eval(script).unwrap();
    rt.run_jobs().unwrap();
    drop(rt);
}

fn main() {
    let mut failed = Vec::new();
    if let Err(e) = counts_an_allocation() {
        failed.push(e);
    }
    // Statics and thread-locals the first runtime makes.
    run("");
    for (name, script) in SCENARIOS {
        run(script);
        let (bytes, blocks) = live();
        for _ in 0..RUNS {
            run(script);
        }
        let (after_bytes, after_blocks) = live();
        let (grew, grew_blocks) = (after_bytes - bytes, after_blocks - blocks);
        println!("{name}: {grew} bytes in {grew_blocks} blocks still live after {RUNS} dropped runtimes");
        if grew != 0 || grew_blocks != 0 {
            failed.push(format!(
                "{name}: {grew} bytes ({grew_blocks} blocks) leaked by {RUNS} runtimes"
            ));
        }
    }
    if failed.is_empty() {
        println!("dropped runtimes: every scenario freed what it made");
    } else {
        for f in &failed {
            eprintln!("FAILED {f}");
        }
        std::process::exit(1);
    }
}
