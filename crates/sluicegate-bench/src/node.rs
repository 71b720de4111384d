//! The Node.js anchors: the scripts in `bench/node/`, run with `node` from `PATH`.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use crate::proc::{run_measured, ChildRun};

/// The folder holding the Node scripts (`bench/node/` at the repository root).
pub fn scripts_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../bench/node")
}

/// `node --version` if `node` is on `PATH` and runs, else `None` (and the Node rows say
/// "skipped").
pub fn version() -> Option<&'static str> {
    static VERSION: OnceLock<Option<String>> = OnceLock::new();
    VERSION
        .get_or_init(|| {
            let out = Command::new("node").arg("--version").output().ok()?;
            out.status
                .success()
                .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        })
        .as_deref()
}

/// Runs `bench/node/<script>` with `args` as a child process, through the launcher (peak RSS
/// included). `Err` says "skipped" when there is no `node`.
pub fn run_script(script: &str, node_flags: &[&str], args: &[String]) -> Result<ChildRun, String> {
    if version().is_none() {
        return Err("skipped: `node` is not on PATH".to_string());
    }
    let path = scripts_dir().join(script);
    if !path.exists() {
        return Err(format!("skipped: {} is missing", path.display()));
    }
    let mut all: Vec<String> = node_flags.iter().map(|f| f.to_string()).collect();
    all.push(path.display().to_string());
    all.extend(args.iter().cloned());
    run_measured("node", all)
}
