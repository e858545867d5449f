//! Access-log reading for `simulate`: the Combined Log Format (and its prefix,
//! the Common Log Format), Django's `runserver` log and plain one-URL-per-line
//! files.
//!
//! Pure: time comes from the log's own timestamps, or from a synthetic clock
//! (one request every `synthetic_step` seconds) for URL lists. Nothing here
//! reads the system clock.

use crate::http::method::Method;
use std::fmt;

/// One request from a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// 1-based line number in the log.
    pub line: usize,
    /// Unix seconds.
    pub time: u64,
    pub method: Method,
    /// Absolute URL (`https://<host><target>` when the log has only a target).
    pub url: String,
    /// The request carried a credential. In combined/common logs this is the
    /// `%u` (authuser) field: anything but `-`. URL-per-line logs carry no
    /// credentials.
    pub authenticated: bool,
}

/// Which layout a line was read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// `host ident authuser [date] "request" status bytes ["referer" "agent"]`.
    Combined,
    /// Django's `runserver`: `[30/Nov/2026 14:02:03] "GET /api/ HTTP/1.1" 200 1234`.
    /// No client, no authuser (every request counts as anonymous) and no zone
    /// (read as UTC: only the intervals between requests matter here).
    DjangoRunserver,
    /// `GET /path?q` or an absolute URL, one per line.
    UrlPerLine,
}

impl LogFormat {
    pub fn name(&self) -> &'static str {
        match self {
            LogFormat::Combined => "combined/common log",
            LogFormat::DjangoRunserver => "Django runserver log",
            LogFormat::UrlPerLine => "one URL per line",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogError {
    /// A line that looks like a combined-log line (it has `[` or `"`) but
    /// does not parse as one; `reason` names the part.
    BadLine {
        line: usize,
        reason: &'static str,
    },
    BadTimestamp {
        line: usize,
        value: String,
    },
}

/// What `simulate` reads, for error messages and help.
pub const FORMATS: &str = "a combined or common access log, a Django runserver log, \
or one URL (or `METHOD URL`) per line";

impl fmt::Display for LogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogError::BadLine { line, reason } => {
                write!(f, "line {line}: {reason} (simulate reads {FORMATS})")
            }
            LogError::BadTimestamp { line, value } => {
                write!(
                    f,
                    "line {line}: bad timestamp {value:?} (want 10/Oct/2000:13:55:36 -0700, \
                     or 10/Oct/2000 13:55:36 in a Django runserver log)"
                )
            }
        }
    }
}

impl std::error::Error for LogError {}

/// How to turn log lines into absolute URLs and times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogOptions {
    /// Host used for request targets that are only a path (`/api/x`).
    pub host: String,
    /// Seconds between consecutive requests of a URL-per-line log.
    pub synthetic_step: u64,
    /// Time of the first request of a URL-per-line log.
    pub synthetic_start: u64,
}

impl Default for LogOptions {
    /// Host `api.example.com`; URL lists at one request per second from 0.
    fn default() -> Self {
        LogOptions {
            host: "api.example.com".into(),
            synthetic_step: 1,
            synthetic_start: 0,
        }
    }
}

/// A whole log read: its requests, and what was not a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedLog {
    pub entries: Vec<LogEntry>,
    /// The file's layout: that of its first access-log line, else `UrlPerLine`.
    pub format: LogFormat,
    /// Lines skipped as not requests: in a Django runserver log, the server's
    /// own output (start-up banner, warnings, tracebacks) shares the stream.
    pub skipped: usize,
}

/// Reads a whole log (see [`read_log`]) and returns its requests.
pub fn parse_log(text: &str, opts: &LogOptions) -> Result<Vec<LogEntry>, LogError> {
    read_log(text, opts).map(|p| p.entries)
}

/// Reads a whole log. Blank lines and lines starting with `#` are skipped.
/// A Django runserver log (its first access-log line is one) skips every line
/// that is not a request; elsewhere each line is read as the layout it looks
/// like, and one that looks like a log line but does not parse is an error.
/// Timestamps that go backwards (servers log at completion, so order and time
/// can disagree by a little) are raised to the latest time seen: the cache
/// model's clock never runs backwards.
pub fn read_log(text: &str, opts: &LogOptions) -> Result<ParsedLog, LogError> {
    let lines = || {
        text.lines()
            .enumerate()
            .map(|(i, raw)| (i + 1, raw.trim()))
            .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
    };
    let format = lines()
        .map(|(_, l)| detect(l))
        .find(|f| *f != LogFormat::UrlPerLine)
        .unwrap_or(LogFormat::UrlPerLine);
    let mut parsed = ParsedLog {
        entries: Vec::new(),
        format,
        skipped: 0,
    };
    let mut latest = 0u64;
    let mut synthetic = opts.synthetic_start;
    for (n, line) in lines() {
        let mut entry = match (detect(line), format) {
            (LogFormat::Combined, _) => parse_combined(line, n, &opts.host)?,
            (LogFormat::DjangoRunserver, _) => parse_runserver(line, n, &opts.host)?,
            (LogFormat::UrlPerLine, LogFormat::DjangoRunserver) => {
                parsed.skipped += 1;
                continue;
            }
            (LogFormat::UrlPerLine, _) => {
                let e = parse_url_line(line, n, synthetic, &opts.host);
                synthetic += opts.synthetic_step;
                e
            }
        };
        latest = latest.max(entry.time);
        entry.time = latest;
        parsed.entries.push(entry);
    }
    Ok(parsed)
}

/// An access-log line has a bracketed date and a quoted request; a runserver
/// line starts with its date.
pub(crate) fn detect(line: &str) -> LogFormat {
    if !(line.contains('[') && line.contains('"')) {
        LogFormat::UrlPerLine
    } else if line.starts_with('[') {
        LogFormat::DjangoRunserver
    } else {
        LogFormat::Combined
    }
}

fn absolute(target: &str, host: &str) -> String {
    if target.starts_with("http://") || target.starts_with("https://") {
        target.to_string()
    } else if target.starts_with('/') {
        format!("https://{host}{target}")
    } else {
        format!("https://{host}/{target}")
    }
}

fn parse_url_line(line: &str, n: usize, time: u64, host: &str) -> LogEntry {
    let (method, target) = match line.split_once(' ') {
        Some((m, t)) if m.bytes().all(|b| b.is_ascii_uppercase()) => (m, t.trim()),
        _ => ("GET", line),
    };
    LogEntry {
        line: n,
        time,
        method: Method::parse(method),
        url: absolute(target, host),
        authenticated: false,
    }
}

fn parse_combined(line: &str, n: usize, host: &str) -> Result<LogEntry, LogError> {
    let bad = |reason| LogError::BadLine { line: n, reason };
    let open = line.find('[').ok_or(bad("no [date]"))?;
    let close = open + line[open..].find(']').ok_or(bad("unterminated [date]"))?;
    let mut head = line[..open].split_whitespace();
    let (_client, _ident) = (head.next(), head.next());
    let authuser = head.next().ok_or(bad("no authuser field"))?;
    let stamp = &line[open + 1..close];
    let time = parse_clf_time(stamp).ok_or_else(|| LogError::BadTimestamp {
        line: n,
        value: stamp.to_string(),
    })?;
    let (method, target) = request_line(&line[close + 1..]).map_err(bad)?;
    Ok(entry(n, time, method, target, host, authuser != "-"))
}

fn entry(
    line: usize,
    time: u64,
    method: &str,
    target: &str,
    host: &str,
    authenticated: bool,
) -> LogEntry {
    LogEntry {
        line,
        time,
        method: Method::parse(method),
        url: absolute(target, host),
        authenticated,
    }
}

/// `[30/Nov/2026 14:02:03] "GET /api/courses/ HTTP/1.1" 200 1234`.
fn parse_runserver(line: &str, n: usize, host: &str) -> Result<LogEntry, LogError> {
    let bad = |reason| LogError::BadLine { line: n, reason };
    let close = line.find(']').ok_or(bad("unterminated [date]"))?;
    let stamp = &line[1..close];
    // runserver writes local time without a zone: read it as UTC.
    let time = stamp
        .split_once(' ')
        .and_then(|(date, clock)| parse_clf_time(&format!("{date}:{clock} +0000")))
        .ok_or_else(|| LogError::BadTimestamp {
            line: n,
            value: stamp.to_string(),
        })?;
    let (method, target) = request_line(&line[close + 1..]).map_err(bad)?;
    // runserver logs no user.
    Ok(entry(n, time, method, target, host, false))
}

/// Method and target of the first quoted request (`"GET /x HTTP/1.1"`) in `rest`.
fn request_line(rest: &str) -> Result<(&str, &str), &'static str> {
    let q = rest.find('"').ok_or("no quoted request")?;
    let request = quoted(&rest[q + 1..]).ok_or("unterminated request")?;
    let mut parts = request.split(' ');
    let method = parts
        .next()
        .filter(|m| !m.is_empty())
        .ok_or("empty request")?;
    let target = parts.next().ok_or("request has no target")?;
    Ok((method, target))
}

/// The text up to the closing `"`, skipping `\"` (Apache's escape).
fn quoted(s: &str) -> Option<&str> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return Some(&s[..i]),
            _ => i += 1,
        }
    }
    None
}

/// `10/Oct/2000:13:55:36 -0700` → Unix seconds (UTC).
pub fn parse_clf_time(s: &str) -> Option<u64> {
    let (dt, zone) = s.split_once(' ')?;
    let mut it = dt.splitn(3, '/');
    let day: u64 = it.next()?.parse().ok()?;
    let mname = it.next()?;
    let month = crate::http::date::MONTHS.iter().position(|m| *m == mname)? as u64 + 1;
    let rest = it.next()?;
    let mut f = rest.split(':');
    let year: u64 = f.next()?.parse().ok()?;
    let h: u64 = f.next()?.parse().ok()?;
    let mi: u64 = f.next()?.parse().ok()?;
    let sec: u64 = f.next()?.parse().ok()?;
    if f.next().is_some() || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let local = crate::http::date::to_unix(year, month, day, h, mi, sec)?;
    let zb = zone.as_bytes();
    if zb.len() != 5 || !matches!(zb[0], b'+' | b'-') || !zb[1..].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let offset = zone[1..3].parse::<u64>().ok()? * 3600 + zone[3..5].parse::<u64>().ok()? * 60;
    // Local time = UTC + offset, so UTC = local - offset.
    if zb[0] == b'+' {
        local.checked_sub(offset)
    } else {
        Some(local + offset)
    }
}
