//! The words of a pipeline: `SOURCE [STAGE…] SINK`, parsed into what to open and build.

use std::fmt;
use std::path::PathBuf;

/// Where the data comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A file.
    File(PathBuf),
    /// Standard input (`-`).
    Stdin,
    /// A TCP connection (`tcp:HOST:PORT`), read to its end.
    Tcp(String),
    /// An HTTP GET (`http://…`).
    Http(String),
    /// `gen:SIZE`: SIZE bytes of generated log-like text.
    Gen(u64),
}

/// What happens to the data on the way.
#[derive(Clone, Debug, PartialEq)]
pub enum Stage {
    /// `gzip[:LEVEL]`.
    Gzip(u32),
    /// `gunzip`.
    Gunzip,
    /// `zstd[:LEVEL]`.
    Zstd(u32),
    /// `unzstd`.
    Unzstd,
    /// `decode:ENCODING`: text in any WHATWG encoding to UTF-8.
    Decode(String),
    /// `lines`: one chunk per line.
    Lines,
    /// `grep:PATTERN`: the lines that match a regular expression.
    Grep(String),
    /// `head:N` (lines) or `head:Nc` (bytes): the first N, then the upstream stops.
    Head(Head),
    /// `sha256`: passes the data on and prints its SHA-256 digest at the end.
    Sha256,
    /// `throttle:RATE`: at most RATE bytes per second.
    Throttle(u64),
    /// `tee:PATH`: also writes the data to a file.
    Tee(PathBuf),
}

/// How much `head` lets through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Head {
    /// The first N lines.
    Lines(u64),
    /// The first N bytes.
    Bytes(u64),
}

/// Where the data goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sink {
    /// A file, created or truncated.
    File(PathBuf),
    /// Standard output (`-`).
    Stdout,
    /// A TCP connection (`tcp:HOST:PORT`), half-closed at the end.
    Tcp(String),
    /// `null`: discarded.
    Null,
}

/// A word that is not a source, stage or sink, with why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecError(pub String);

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn bad(msg: impl Into<String>) -> SpecError {
    SpecError(msg.into())
}

/// Parses a source word.
pub fn source(word: &str) -> Result<Source, SpecError> {
    if word == "-" {
        Ok(Source::Stdin)
    } else if let Some(size) = word.strip_prefix("gen:") {
        Ok(Source::Gen(
            size_of(size).map_err(|e| bad(format!("gen:{size}: {e}")))?,
        ))
    } else if let Some(addr) = word.strip_prefix("tcp:") {
        host_port(addr)?;
        Ok(Source::Tcp(addr.to_string()))
    } else if word.starts_with("http://") {
        Ok(Source::Http(word.to_string()))
    } else if word.starts_with("https://") {
        Err(bad(format!(
            "{word}: https is not supported (sluice has no TLS); fetch it with curl and pipe it in: curl -s URL | sluice - …"
        )))
    } else if word.is_empty() {
        Err(bad("an empty source"))
    } else {
        Ok(Source::File(PathBuf::from(word)))
    }
}

/// Parses a sink word.
pub fn sink(word: &str) -> Result<Sink, SpecError> {
    if word == "-" {
        Ok(Sink::Stdout)
    } else if word == "null" {
        Ok(Sink::Null)
    } else if let Some(addr) = word.strip_prefix("tcp:") {
        host_port(addr)?;
        Ok(Sink::Tcp(addr.to_string()))
    } else if word.is_empty() {
        Err(bad("an empty sink"))
    } else {
        Ok(Sink::File(PathBuf::from(word)))
    }
}

/// Parses a stage word.
pub fn stage(word: &str) -> Result<Stage, SpecError> {
    let (name, arg) = match word.split_once(':') {
        Some((n, a)) => (n, Some(a)),
        None => (word, None),
    };
    let need = |what: &str| arg.ok_or_else(|| bad(format!("{name}: needs {what} ({name}:{what})")));
    let none = |stage: Stage| match arg {
        None => Ok(stage),
        Some(a) => Err(bad(format!("{name} takes no argument, got {name}:{a}"))),
    };
    let level = |default: u32, max: u32| -> Result<u32, SpecError> {
        match arg {
            None => Ok(default),
            Some(a) => match a.parse::<u32>() {
                Ok(l) if l <= max => Ok(l),
                _ => Err(bad(format!(
                    "{name}:{a}: the level must be a number from 0 to {max}"
                ))),
            },
        }
    };
    match name {
        "gzip" => Ok(Stage::Gzip(level(6, 9)?)),
        "gunzip" => none(Stage::Gunzip),
        "zstd" => Ok(Stage::Zstd(level(3, 22)?)),
        "unzstd" => none(Stage::Unzstd),
        "decode" => Ok(Stage::Decode(need("ENCODING")?.to_string())),
        "lines" => none(Stage::Lines),
        "grep" => Ok(Stage::Grep(need("PATTERN")?.to_string())),
        "head" => {
            let n = need("N")?;
            let (digits, bytes) = match n.strip_suffix('c') {
                Some(d) => (d, true),
                None => (n, false),
            };
            let count = if bytes {
                size_of(digits)
            } else {
                digits.parse::<u64>().map_err(|_| "not a number".to_string())
            }
            .map_err(|e| bad(format!("head:{n}: {e} (head:N for lines, head:Nc for bytes)")))?;
            Ok(Stage::Head(if bytes { Head::Bytes(count) } else { Head::Lines(count) }))
        }
        "sha256" => none(Stage::Sha256),
        "throttle" => {
            let r = need("RATE")?;
            let rate = size_of(r.strip_suffix("/s").unwrap_or(r))
                .map_err(|e| bad(format!("throttle:{r}: {e}")))?;
            if rate == 0 {
                return Err(bad(format!("throttle:{r}: the rate must be more than 0")));
            }
            Ok(Stage::Throttle(rate))
        }
        "tee" => Ok(Stage::Tee(PathBuf::from(need("PATH")?))),
        _ => Err(bad(format!(
            "unknown stage {word:?} (stages: gzip, gunzip, zstd, unzstd, decode:ENCODING, lines, grep:PATTERN, head:N, head:Nc, sha256, throttle:RATE, tee:PATH)"
        ))),
    }
}

fn host_port(addr: &str) -> Result<(), SpecError> {
    match addr.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => Ok(()),
        _ => Err(bad(format!("tcp:{addr}: expected tcp:HOST:PORT"))),
    }
}

/// A size: a number with an optional unit, `K`/`KiB` = 1024, `KB` = 1000 (as `dd` reads them),
/// and the same for M, G and T; `B` or no unit for bytes. `1.5GiB` works.
pub fn size_of(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a size (like 4GiB, 100MB, 512K)"))?;
    let multiplier: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "kb" => 1_000,
        "m" | "mib" => 1 << 20,
        "mb" => 1_000_000,
        "g" | "gib" => 1 << 30,
        "gb" => 1_000_000_000,
        "t" | "tib" => 1 << 40,
        "tb" => 1_000_000_000_000,
        _ => {
            return Err(format!(
                "{text:?}: unknown unit {unit:?} (B, K, KB, KiB, M, MB, MiB, G, GB, GiB, T…)"
            ))
        }
    };
    let bytes = number * multiplier as f64;
    if !bytes.is_finite() || bytes < 0.0 || bytes > u64::MAX as f64 {
        return Err(format!("{text:?} is out of range"));
    }
    Ok(bytes.round() as u64)
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::File(p) => write!(f, "{}", p.display()),
            Source::Stdin => f.write_str("-"),
            Source::Tcp(a) => write!(f, "tcp:{a}"),
            Source::Http(u) => f.write_str(u),
            Source::Gen(n) => write!(f, "gen:{}", human_bytes(*n)),
        }
    }
}

impl fmt::Display for Sink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Sink::File(p) => write!(f, "{}", p.display()),
            Sink::Stdout => f.write_str("-"),
            Sink::Tcp(a) => write!(f, "tcp:{a}"),
            Sink::Null => f.write_str("null"),
        }
    }
}

/// `1.5GiB`, `100MiB`, `12B`: a byte count for people.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n}B")
    } else if value.fract() == 0.0 {
        format!("{value:.0}{}", UNITS[unit])
    } else {
        format!("{value:.1}{}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_dd() {
        assert_eq!(size_of("4GiB"), Ok(4 << 30));
        assert_eq!(size_of("100MB"), Ok(100_000_000));
        assert_eq!(size_of("512K"), Ok(512 << 10));
        assert_eq!(size_of("1.5k"), Ok(1536));
        assert_eq!(size_of("17"), Ok(17));
        assert!(size_of("4 parsecs").is_err());
        assert!(size_of("").is_err());
        assert!(size_of("GiB").is_err());
    }

    #[test]
    fn words_parse_into_sources_stages_and_sinks() {
        assert_eq!(source("-"), Ok(Source::Stdin));
        assert_eq!(source("gen:1KiB"), Ok(Source::Gen(1024)));
        assert_eq!(
            source("tcp:localhost:9000"),
            Ok(Source::Tcp("localhost:9000".into()))
        );
        assert!(source("tcp:localhost").is_err());
        assert!(source("https://example.org/").is_err());
        assert_eq!(source("in.txt"), Ok(Source::File("in.txt".into())));
        assert_eq!(sink("null"), Ok(Sink::Null));
        assert_eq!(sink("-"), Ok(Sink::Stdout));
        assert_eq!(stage("gzip"), Ok(Stage::Gzip(6)));
        assert_eq!(stage("gzip:1"), Ok(Stage::Gzip(1)));
        assert!(stage("gzip:10").is_err());
        assert_eq!(stage("head:10"), Ok(Stage::Head(Head::Lines(10))));
        assert_eq!(stage("head:10c"), Ok(Stage::Head(Head::Bytes(10))));
        assert_eq!(stage("head:1Kc"), Ok(Stage::Head(Head::Bytes(1024))));
        assert!(stage("head").is_err());
        assert!(stage("head:ten").is_err());
        assert_eq!(stage("throttle:1MB/s"), Ok(Stage::Throttle(1_000_000)));
        assert!(stage("throttle:0").is_err());
        assert!(stage("lines:3").is_err());
        assert!(stage("frobnicate").is_err());
        assert_eq!(stage("grep:a:b"), Ok(Stage::Grep("a:b".into())));
    }

    #[test]
    fn byte_counts_print_for_people() {
        assert_eq!(human_bytes(12), "12B");
        assert_eq!(human_bytes(4 << 30), "4GiB");
        assert_eq!(human_bytes(1536), "1.5KiB");
    }
}
