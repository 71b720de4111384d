//! Rounds of alternating runs, their statistics, and Markdown tables.

use std::fmt::Write as _;

/// One run of one contender.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Measurement {
    /// The scenario's figure: items/s, MB/s or bytes per pipe.
    pub value: f64,
    /// Peak resident set size of the child process that ran it, in KiB, if it ran in one.
    pub peak_rss_kib: Option<u64>,
}

impl Measurement {
    /// A figure measured in this process (no peak RSS of its own).
    pub fn value(value: f64) -> Self {
        Measurement {
            value,
            peak_rss_kib: None,
        }
    }
}

/// What running a contender gives: a measurement, or why there is none.
pub type RunResult = Result<Measurement, String>;

/// A contender in a scenario: a name and a closure that runs it once.
pub struct Contender<'a> {
    /// Row label in the table.
    pub name: String,
    run: Box<dyn FnMut() -> RunResult + 'a>,
}

impl<'a> Contender<'a> {
    /// A contender named `name` that `run` runs once per call.
    pub fn new(name: impl Into<String>, run: impl FnMut() -> RunResult + 'a) -> Self {
        Contender {
            name: name.into(),
            run: Box::new(run),
        }
    }
}

/// The runs of one contender, or the reason it has none.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// One measurement per round, in round order.
    Measured(Vec<Measurement>),
    /// Not run or failed: the text for the table row ("skipped: node not on PATH").
    Skipped(String),
}

impl Outcome {
    /// The statistics of the measured values, if any.
    pub fn stats(&self) -> Option<Stats> {
        match self {
            Outcome::Measured(m) => Stats::of(&m.iter().map(|m| m.value).collect::<Vec<_>>()),
            Outcome::Skipped(_) => None,
        }
    }

    /// The statistics of the peak RSS figures (KiB), if every run had one.
    pub fn rss_stats(&self) -> Option<Stats> {
        match self {
            Outcome::Measured(m) => {
                let v: Option<Vec<f64>> = m.iter().map(|m| m.peak_rss_kib.map(|k| k as f64)).collect();
                Stats::of(&v?)
            }
            Outcome::Skipped(_) => None,
        }
    }
}

/// Median, minimum and maximum of a sample.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    /// The median (mean of the middle two for an even count).
    pub median: f64,
    /// The smallest value.
    pub min: f64,
    /// The largest value.
    pub max: f64,
}

impl Stats {
    /// The statistics of `values`; `None` if it is empty.
    pub fn of(values: &[f64]) -> Option<Stats> {
        if values.is_empty() {
            return None;
        }
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let mid = v.len() / 2;
        let median = if v.len() % 2 == 1 {
            v[mid]
        } else {
            (v[mid - 1] + v[mid]) / 2.0
        };
        Some(Stats {
            median,
            min: v[0],
            max: v[v.len() - 1],
        })
    }
}

/// Runs every contender once per round for `rounds` rounds, rotating the order by one place each
/// round so that no contender always runs first (cold) or right after the same neighbour. A
/// contender that fails is not run again; its row says why.
pub fn run_rounds(scenario: &str, contenders: &mut [Contender<'_>], rounds: usize) -> Vec<Outcome> {
    let k = contenders.len();
    let mut results: Vec<Result<Vec<Measurement>, String>> = (0..k).map(|_| Ok(Vec::new())).collect();
    for round in 0..rounds {
        for i in 0..k {
            let idx = (i + round) % k;
            if results[idx].is_err() {
                continue;
            }
            let c = &mut contenders[idx];
            eprint!("[{scenario}] round {}/{rounds}: {} ... ", round + 1, c.name);
            match (c.run)() {
                Ok(m) => {
                    match m.peak_rss_kib {
                        Some(kib) => eprintln!("{:.4e} (peak RSS {:.1} MiB)", m.value, kib as f64 / 1024.0),
                        None => eprintln!("{:.4e}", m.value),
                    }
                    if let Ok(v) = &mut results[idx] {
                        v.push(m);
                    }
                }
                Err(reason) => {
                    eprintln!("{reason}");
                    results[idx] = Err(reason);
                }
            }
        }
    }
    results
        .into_iter()
        .map(|r| match r {
            Ok(v) => Outcome::Measured(v),
            Err(reason) => Outcome::Skipped(reason),
        })
        .collect()
}

/// A Markdown table.
#[derive(Clone, Debug, Default)]
pub struct Table {
    /// Column headings.
    pub headers: Vec<String>,
    /// Cells, row by row; short rows are padded with empty cells.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headings and no rows.
    pub fn new<S: Into<String>>(headers: impl IntoIterator<Item = S>) -> Self {
        Table {
            headers: headers.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row.
    pub fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) {
        self.rows.push(cells.into_iter().map(Into::into).collect());
    }

    /// The table as GitHub-flavoured Markdown. Pipes inside cells are escaped.
    pub fn markdown(&self) -> String {
        let n = self.headers.len();
        let cell = |s: &str| s.replace('|', "\\|");
        let mut out = String::new();
        let _ = writeln!(
            out,
            "| {} |",
            self.headers
                .iter()
                .map(|h| cell(h))
                .collect::<Vec<_>>()
                .join(" | ")
        );
        let _ = writeln!(out, "|{}", "---|".repeat(n));
        for r in &self.rows {
            let cells: Vec<String> = (0..n)
                .map(|i| r.get(i).map_or(String::new(), |s| cell(s)))
                .collect();
            let _ = writeln!(out, "| {} |", cells.join(" | "));
        }
        out
    }
}

/// Formats a number with thousands separators and `decimals` decimals: `1,234.5`.
pub fn group(x: f64, decimals: usize) -> String {
    let s = format!("{:.*}", decimals, x.abs());
    let (int, frac) = s
        .split_once('.')
        .map_or((s.as_str(), None), |(i, f)| (i, Some(f)));
    let mut grouped = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    let sign = if x < 0.0 { "-" } else { "" };
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

/// A ratio as `1.23x` (two significant decimals below 10, one above).
pub fn ratio(x: f64) -> String {
    if x >= 10.0 {
        format!("{x:.1}x")
    } else {
        format!("{x:.2}x")
    }
}

/// Peak RSS statistics as `median MiB (min–max)`, or `—` when absent.
pub fn rss_cell(s: Option<Stats>) -> String {
    match s {
        Some(s) => {
            let mib = |k: f64| k / 1024.0;
            if s.max - s.min < 0.05 * 1024.0 {
                format!("{:.1} MiB", mib(s.median))
            } else {
                format!("{:.1} MiB ({:.1}–{:.1})", mib(s.median), mib(s.min), mib(s.max))
            }
        }
        None => "—".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_samples() {
        let s = Stats::of(&[5.0, 1.0, 3.0]).unwrap();
        assert_eq!((s.median, s.min, s.max), (3.0, 1.0, 5.0));
        assert_eq!(Stats::of(&[4.0, 1.0, 2.0, 3.0]).unwrap().median, 2.5);
        assert!(Stats::of(&[]).is_none());
    }

    #[test]
    fn rounds_rotate_the_order_and_drop_failures() {
        let order = std::cell::RefCell::new(Vec::new());
        let mut calls_b = 0;
        let mut contenders = vec![
            Contender::new("a", || {
                order.borrow_mut().push('a');
                Ok(Measurement::value(1.0))
            }),
            Contender::new("b", || {
                order.borrow_mut().push('b');
                calls_b += 1;
                Err("skipped: nope".to_string())
            }),
            Contender::new("c", || {
                order.borrow_mut().push('c');
                Ok(Measurement::value(3.0))
            }),
        ];
        let out = run_rounds("test", &mut contenders, 3);
        drop(contenders);
        assert_eq!(order.into_inner(), ['a', 'b', 'c', 'c', 'a', 'c', 'a']);
        assert_eq!(calls_b, 1);
        assert!(matches!(&out[1], Outcome::Skipped(r) if r == "skipped: nope"));
        assert_eq!(out[2].stats().unwrap().median, 3.0);
    }

    #[test]
    fn markdown_and_number_formats() {
        let mut t = Table::new(["a", "b"]);
        t.row(["1|2"]);
        assert_eq!(t.markdown(), "| a | b |\n|---|---|\n| 1\\|2 |  |\n");
        assert_eq!(group(1234567.891, 1), "1,234,567.9");
        assert_eq!(group(999.0, 0), "999");
        assert_eq!(ratio(0.0612), "0.06x");
        assert_eq!(ratio(12.34), "12.3x");
    }
}
