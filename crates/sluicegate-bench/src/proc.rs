//! Child processes and memory figures: peak RSS comes from the kernel's accounting of each child
//! (`wait4`), current RSS from `/proc/self/status`. Nothing is estimated.
//!
//! One Linux detail shapes this module. A process's `ru_maxrss` is kept per thread group and
//! survives `exec`: at `exec` the kernel folds in the high-water mark of the memory the process
//! had *before* it, which for a child spawned with `fork` or `posix_spawn` is the parent's. So a
//! child of a benchmark process that has held a gigabyte of test data reports at least a gigabyte.
//! [`run_measured`] therefore goes through a launcher: the benchmark binary re-run as
//! `sluicegate-bench child launch <program> <args...>`, a fresh process of a couple of MiB that
//! spawns the contender, reaps it with `wait4` and reports the contender's own `ru_maxrss`. The
//! launcher's own high-water mark at that moment is reported too: it is the floor of every figure.

use std::ffi::OsStr;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

/// What a finished child process left behind.
#[derive(Clone, Debug)]
pub struct ChildRun {
    /// Everything it printed on standard output.
    pub stdout: String,
    /// Its peak resident set size in KiB (`ru_maxrss` from `wait4`).
    pub peak_rss_kib: u64,
    /// Wall time from spawn to exit.
    pub wall: Duration,
    /// CPU time it used, user and system, all its threads (`ru_utime + ru_stime` from `wait4`).
    pub cpu: Duration,
}

impl ChildRun {
    /// The last non-empty line of standard output parsed as a number: the figure every benchmark
    /// child prints.
    pub fn figure(&self) -> Result<f64, String> {
        let line = self
            .stdout
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        line.trim()
            .parse()
            .map_err(|_| format!("failed: child printed {:?}, not a number", self.stdout.trim()))
    }
}

/// Runs `cmd` to completion, with standard output captured and standard error passed through,
/// and reaps it with `wait4` to read its own peak RSS. A non-zero exit is an error.
pub fn run_child(cmd: &mut Command) -> Result<ChildRun, String> {
    let started = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("failed: cannot start {cmd:?}: {e}"))?;
    let mut stdout = String::new();
    if let Some(mut out) = child.stdout.take() {
        out.read_to_string(&mut stdout)
            .map_err(|e| format!("failed: reading the child's output: {e}"))?;
    }
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is plain old data that wait4 fills in; zeroed is a valid initial value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // Reap this child ourselves (std's `Child` is never waited on, so it cannot race us).
    let reaped = loop {
        // SAFETY: valid pointers to live locals; `pid` is our own child.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == -1 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        break r;
    };
    let wall = started.elapsed();
    if reaped != pid {
        return Err(format!("failed: wait4: {}", std::io::Error::last_os_error()));
    }
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return Err(format!(
            "failed: {:?} exited with status {status:#x}",
            cmd.get_program()
        ));
    }
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    Ok(ChildRun {
        stdout,
        peak_rss_kib: usage.ru_maxrss as u64,
        wall,
        cpu: tv(usage.ru_utime) + tv(usage.ru_stime),
    })
}

/// This benchmark binary.
pub fn self_exe() -> PathBuf {
    std::env::current_exe().unwrap_or_else(|_| PathBuf::from("sluicegate-bench"))
}

const PEAK_TAG: &str = "#peak_rss_kib ";
const FLOOR_TAG: &str = "#launcher_hwm_kib ";
const CPU_TAG: &str = "#cpu_us ";

/// Runs `program args...` through the launcher (see the module docs) and returns its output, its
/// own peak RSS and its own CPU time; `launcher` is the benchmark binary that has the
/// `child launch` mode.
pub fn run_measured_with<S: AsRef<OsStr>>(
    launcher: &Path,
    program: impl AsRef<OsStr>,
    args: impl IntoIterator<Item = S>,
) -> Result<ChildRun, String> {
    let mut cmd = Command::new(launcher);
    cmd.args(["child", "launch"]).arg(program).args(args);
    let mut run = run_child(&mut cmd)?;
    let mut peak = None;
    let mut cpu = None;
    let mut stdout = String::new();
    for line in run.stdout.lines() {
        if let Some(k) = line.strip_prefix(PEAK_TAG) {
            peak = k.trim().parse().ok();
        } else if let Some(us) = line.strip_prefix(CPU_TAG) {
            cpu = us.trim().parse().ok().map(Duration::from_micros);
        } else if let Some(k) = line.strip_prefix(FLOOR_TAG) {
            if let Ok(k) = k.trim().parse::<u64>() {
                LAUNCHER_FLOOR_KIB.fetch_max(k, std::sync::atomic::Ordering::Relaxed);
            }
        } else {
            stdout.push_str(line);
            stdout.push('\n');
        }
    }
    run.peak_rss_kib = peak.ok_or("failed: the launcher reported no peak RSS")?;
    run.cpu = cpu.ok_or("failed: the launcher reported no CPU time")?;
    run.stdout = stdout;
    Ok(run)
}

/// [`run_measured_with`] this benchmark binary as the launcher.
pub fn run_measured<S: AsRef<OsStr>>(
    program: impl AsRef<OsStr>,
    args: impl IntoIterator<Item = S>,
) -> Result<ChildRun, String> {
    run_measured_with(&self_exe(), program, args)
}

/// Runs `sluicegate-bench child <args>` through the launcher.
pub fn run_self_child<S: AsRef<OsStr>>(args: impl IntoIterator<Item = S>) -> Result<ChildRun, String> {
    let mut all: Vec<std::ffi::OsString> = vec!["child".into()];
    all.extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
    run_measured(self_exe(), all)
}

static LAUNCHER_FLOOR_KIB: AtomicU64 = AtomicU64::new(0);

/// The largest high-water mark a launcher had when it spawned a contender (KiB): no peak RSS
/// figure can be below it. 0 before any launch.
pub fn launcher_floor_kib() -> u64 {
    LAUNCHER_FLOOR_KIB.load(std::sync::atomic::Ordering::Relaxed)
}

/// The launcher (`child launch <program> <args...>`): runs the program with its standard output
/// captured, passes that output on, then prints the program's peak RSS and CPU time and its own
/// high-water mark as tagged lines.
pub fn launch(args: &[String]) -> Result<(), String> {
    let (program, rest) = args
        .split_first()
        .ok_or("usage: child launch <program> [args...]")?;
    let floor = status_kib("VmHWM").unwrap_or(0);
    let run = run_child(Command::new(program).args(rest))?;
    print!("{}", run.stdout);
    if !run.stdout.is_empty() && !run.stdout.ends_with('\n') {
        println!();
    }
    println!("{PEAK_TAG}{}", run.peak_rss_kib);
    println!("{FLOOR_TAG}{floor}");
    println!("{CPU_TAG}{}", run.cpu.as_micros());
    Ok(())
}

/// A field of `/proc/self/status` in KiB (`VmRSS`, `VmHWM`), if readable.
pub fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status
        .lines()
        .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Current resident set size of this process in KiB.
pub fn rss_kib() -> Option<u64> {
    status_kib("VmRSS")
}

/// CPU time the calling thread has used (`CLOCK_THREAD_CPUTIME_ID`).
pub fn thread_cpu_time() -> std::time::Duration {
    cpu_clock(libc::CLOCK_THREAD_CPUTIME_ID)
}

/// CPU time the whole process has used, every thread's, user and system
/// (`CLOCK_PROCESS_CPUTIME_ID`).
pub fn process_cpu_time() -> std::time::Duration {
    cpu_clock(libc::CLOCK_PROCESS_CPUTIME_ID)
}

/// Reads one of the kernel's CPU-time clocks; zero if it cannot be read.
fn cpu_clock(clock: libc::clockid_t) -> std::time::Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the call to fill; both clock ids used here
    // are constants every Linux supports.
    let r = unsafe { libc::clock_gettime(clock, &mut ts) };
    if r != 0 {
        return std::time::Duration::ZERO;
    }
    std::time::Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_peak_rss_and_figure() {
        let run = run_child(Command::new("sh").args(["-c", "echo; echo 42.5; echo"])).unwrap();
        assert_eq!(run.figure().unwrap(), 42.5);
        assert!(run.peak_rss_kib > 0);
        assert!(run_child(&mut Command::new("false")).is_err());
        assert!(rss_kib().unwrap() > 0);
    }
}
