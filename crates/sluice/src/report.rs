//! What `sluice` says: one-line error messages in the manner of coreutils, and the final figures
//! as JSON (`--stats json`).

use std::time::Duration;

use serde_json::{json, Value};
use sluicegate::stats::{PipelineStats, StageKind, StageStats};
use sluicegate::StreamError;
use sluicegate_transforms::TransformError;

/// An I/O error as coreutils word it: `No such file or directory`, without Rust's
/// ` (os error 2)`.
pub fn io_message(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// A stream error for people: the transform's or the I/O error's own words where it carries
/// one, the stream error's message otherwise.
pub fn describe(e: &StreamError) -> String {
    if let Some(t) = TransformError::of(e) {
        return t.to_string();
    }
    if let Some(io) = e.reason::<std::io::Error>() {
        return io_message(io);
    }
    if let Some(body) = e.reason::<sluicegate_http::BodyError>() {
        return format!("the HTTP body failed: {body}");
    }
    e.message().to_string()
}

/// The index of the stage that failed: the first whose output errored (errors flow downstream,
/// while the stages upstream of a failure are cancelled, which closes them), else the sink.
pub fn culprit(stats: &PipelineStats) -> usize {
    use sluicegate::stats::State;
    stats
        .stages
        .iter()
        .position(|s| s.output.as_ref().is_some_and(|o| o.state == State::Errored))
        .unwrap_or(stats.stages.len().saturating_sub(1))
}

/// The final figures of every stage, with the stage names, total time and digests.
pub fn json(
    names: &[String],
    stats: &PipelineStats,
    elapsed: Duration,
    digests: &[(String, String)],
) -> Value {
    let secs = elapsed.as_secs_f64().max(1e-9);
    let bottleneck = stats.bottleneck();
    let stages: Vec<Value> = stats
        .stages
        .iter()
        .enumerate()
        .map(|(i, s)| stage_json(names.get(i).map_or("?", String::as_str), s, secs))
        .collect();
    json!({
        "elapsed_seconds": round(secs, 3),
        "stages": stages,
        "bottleneck": bottleneck.and_then(|i| names.get(i)),
        "digests": digests.iter().map(|(name, hex)| json!({"stage": name, "hex": hex})).collect::<Vec<_>>(),
    })
}

fn stage_json(name: &str, s: &StageStats, secs: f64) -> Value {
    let side = |side: &Option<sluicegate::StreamStats>| {
        side.as_ref().map(|x| {
            json!({
                "chunks_in": x.chunks_in,
                "chunks_out": x.chunks_out,
                "bytes_in": x.bytes_in,
                "bytes_out": x.bytes_out,
                "queue_size": x.queue_size,
                "high_water_mark": x.high_water_mark,
                "blocked_seconds": round(x.blocked.as_secs_f64(), 3),
                "starved_seconds": round(x.starved.as_secs_f64(), 3),
                "active_seconds": round(x.active.as_secs_f64(), 3),
            })
        })
    };
    json!({
        "name": name,
        "kind": match s.kind {
            StageKind::Source => "source",
            StageKind::Transform => "transform",
            StageKind::Sink => "sink",
        },
        "bytes": s.bytes_through(),
        "bytes_per_second": round(s.bytes_through() as f64 / secs, 0),
        "blocked": round(s.blocked_share(), 3),
        "starved": round(s.starved_share(), 3),
        "busy": round(s.busy_share(), 3),
        "input": side(&s.input),
        "output": side(&s.output),
    })
}

fn round(x: f64, digits: i32) -> f64 {
    let m = 10f64.powi(digits);
    (x * m).round() / m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_read_like_coreutils() {
        let e = std::io::Error::from_raw_os_error(2);
        assert_eq!(io_message(&e), "No such file or directory");
    }
}
