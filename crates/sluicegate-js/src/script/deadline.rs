//! `--timeout-ms`: a wall-clock limit on a whole script run.
//!
//! Two things keep a script from ending: an event loop that never runs dry (an interval, a stream
//! that waits forever) and JavaScript that never returns (`for (;;) {}`). The event loop checks
//! the deadline between jobs and never sleeps past it; QuickJS's interrupt handler, which the
//! engine polls while it runs code, stops running JavaScript once the deadline has passed. Either
//! way the run ends with [`TIMED_OUT`] and one line on stderr, never with the engine's
//! "interrupted" exception shown as the script's own error.

use std::cell::Cell;
use std::io::Write;
use std::time::{Duration, Instant};

use crate::Runtime;

/// The status of a run stopped by its time limit (as `timeout(1)` exits).
pub const TIMED_OUT: i32 = 124;

thread_local! {
    /// The limit of the run on this thread, once it has passed (so that an uncaught
    /// "interrupted" exception from a callback is reported as the time-out it is).
    static PASSED: Cell<Option<Duration>> = const { Cell::new(None) };
}

/// The deadline of one run.
#[derive(Clone, Copy, Debug)]
pub struct Deadline {
    at: Instant,
    limit: Duration,
}

impl Deadline {
    /// A deadline `limit` from now, enforced on `rt`'s JavaScript from now on.
    pub fn install(rt: &Runtime, limit: Duration) -> Deadline {
        let at = Instant::now() + limit;
        PASSED.with(|p| p.set(None));
        rt.quickjs()
            .set_interrupt_handler(Some(Box::new(move || Instant::now() >= at)));
        Deadline { at, limit }
    }

    /// When the run must end.
    pub fn at(&self) -> Instant {
        self.at
    }

    /// Whether the deadline has passed; remembers it for [`passed_on_this_thread`].
    pub fn passed(&self) -> bool {
        let passed = Instant::now() >= self.at;
        if passed {
            PASSED.with(|p| p.set(Some(self.limit)));
        }
        passed
    }
}

/// Whether a run on this thread has passed its deadline (after [`Deadline::passed`] said so, or
/// while the engine is interrupting it).
pub fn passed_on_this_thread() -> Option<Duration> {
    PASSED.with(Cell::get)
}

/// Prints the time-out line and returns [`TIMED_OUT`].
pub fn report(limit: Duration) -> i32 {
    let _ = std::io::stdout().flush();
    let _ = writeln!(
        std::io::stderr().lock(),
        "sluicejs: the script did not finish within {} ms (--timeout-ms); stopped",
        limit.as_millis()
    );
    TIMED_OUT
}

/// If `deadline` has passed: the time-out's status, after its line.
pub fn check(deadline: Option<&Deadline>) -> Option<i32> {
    let deadline = deadline?;
    deadline.passed().then(|| report(deadline.limit))
}
