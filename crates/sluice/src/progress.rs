//! `--progress`: a live view with one line per stage, drawn on standard error with `indicatif`
//! from a thread of its own (so a pipeline that keeps its thread busy still gets drawn).
//!
//! Each line shows the stage's throughput over the last second, how full the queue in front of
//! it is (a source: the queue behind it), the share of that second it was blocked (its output
//! queue full) and starved (waiting for input), and `◀ bottleneck` on the stage that was neither
//! the most: the one the others wait for.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use sluicegate::stats::{PipelineStats, StageKind, StageStats};
use sluicegate::WritableStream;

use crate::spec::human_bytes;

/// How often the view is redrawn.
const TICK: Duration = Duration::from_millis(200);
/// The window throughput and shares are measured over.
const WINDOW: Duration = Duration::from_secs(1);
const BAR: usize = 10;

/// A running live view; [`Progress::finish`] draws the final figures and stops it.
pub struct Progress {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Progress {
    /// Starts drawing the stages of the chain that ends in `sink`, named `names`.
    pub fn start(sink: WritableStream<Bytes>, names: Vec<String>) -> Progress {
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let thread = std::thread::Builder::new()
            .name("sluice-progress".into())
            .spawn(move || run(sink, names, &s))
            .expect("a thread for the progress view");
        Progress {
            stop,
            thread: Some(thread),
        }
    }

    /// Draws the final figures (averages over the whole run) and stops.
    pub fn finish(mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(sink: WritableStream<Bytes>, names: Vec<String>, stop: &AtomicBool) {
    let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template("{msg}").expect("a valid template");
    let width = names
        .iter()
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(4)
        .clamp(4, 16);
    let bars: Vec<ProgressBar> = names
        .iter()
        .map(|_| multi.add(ProgressBar::new(0).with_style(style.clone())))
        .collect();
    let started = Instant::now();
    let first = sink.pipeline_stats();
    let mut history: VecDeque<(Instant, PipelineStats)> = VecDeque::from([(started, first)]);
    loop {
        let last = stop.load(Ordering::Acquire);
        let now = Instant::now();
        let current = sink.pipeline_stats();
        // The final view averages the whole run; the live one, the last second.
        let (then, earlier) = if last {
            history.front().cloned().expect("the first snapshot")
        } else {
            while history.len() > 1 && now.duration_since(history[1].0) >= WINDOW {
                history.pop_front();
            }
            history.front().cloned().expect("a snapshot")
        };
        let window = current.since(&earlier);
        let lines = render(&names, width, &current, &window, now.duration_since(then));
        for (bar, line) in bars.iter().zip(lines) {
            bar.set_message(line);
        }
        history.push_back((now, current));
        if last {
            for bar in &bars {
                bar.finish();
            }
            return;
        }
        // Sleep in small steps, so the final view follows the end at once.
        let wake = now + TICK;
        while Instant::now() < wake && !stop.load(Ordering::Acquire) {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The lines for one redraw: `current` for totals and queues, `window` (the deltas over
/// `span`) for throughput, shares and the bottleneck.
pub fn render(
    names: &[String],
    width: usize,
    current: &PipelineStats,
    window: &PipelineStats,
    span: Duration,
) -> Vec<String> {
    let bottleneck = window.bottleneck();
    names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let (Some(now), Some(win)) = (current.stages.get(i), window.stages.get(i)) else {
                return format!("  {name:<width$}  (no statistics)");
            };
            let marked = bottleneck == Some(i);
            let rate = win.bytes_through() as f64 / span.as_secs_f64().max(1e-3);
            let fill = queue_fill(now);
            let filled = ((fill.min(1.0) * BAR as f64).round() as usize).min(BAR);
            format!(
                "{} {:<width$} {:>10} [{}{}] {:>3.0}% blocked {:>3.0}% starved {:>3.0}% {:>9}{}",
                if marked { '▶' } else { ' ' },
                truncate(name, width),
                format!("{}/s", human_bytes(rate as u64)),
                "#".repeat(filled),
                " ".repeat(BAR - filled),
                fill * 100.0,
                win.blocked_share() * 100.0,
                win.starved_share() * 100.0,
                human_bytes(now.bytes_through()),
                if marked { " ◀ bottleneck" } else { "" },
            )
        })
        .collect()
}

/// The queue in front of a stage (its input), or behind a source (its output).
fn queue_fill(stage: &StageStats) -> f64 {
    let side = match stage.kind {
        StageKind::Source => stage.output.as_ref(),
        StageKind::Transform | StageKind::Sink => stage.input.as_ref(),
    };
    side.map_or(0.0, sluicegate::StreamStats::fill)
}

fn truncate(name: &str, width: usize) -> String {
    if name.chars().count() <= width {
        name.to_string()
    } else {
        let mut s: String = name.chars().take(width - 1).collect();
        s.push('…');
        s
    }
}
