//! Reading the worker's log lines from what an operator has at hand: the
//! lines as the worker printed them (one JSON object a line, maybe behind a
//! prefix such as a timestamp), or `wrangler tail --format json` output (one
//! object per invocation, pretty-printed or not, with the console lines in
//! `logs[].message`).

use crate::flow::observe::{PurgeLine, RequestLine};
use serde_json::Value;

/// The request and purge lines found, in input order.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Lines {
    pub requests: Vec<RequestLine>,
    pub purges: Vec<PurgeLine>,
    /// Input that held no edgecache line of a known version (other log
    /// events, text, another schema version).
    pub skipped: usize,
}

impl Lines {
    /// Adds one JSON value: a line of ours, or a tail event holding some.
    fn take(&mut self, v: Value) {
        if let Some(logs) = v.get("logs").and_then(Value::as_array) {
            for log in logs {
                match log.get("message") {
                    Some(Value::Array(parts)) => parts.iter().for_each(|p| self.take_part(p)),
                    Some(m) => self.take_part(m),
                    None => self.skipped += 1,
                }
            }
            return;
        }
        let event = v.get("edgecache").and_then(Value::as_str);
        let known = v.get("v").and_then(Value::as_u64) == Some(1);
        match (event, known) {
            (Some("request"), true) => match serde_json::from_value(v) {
                Ok(r) => self.requests.push(r),
                Err(_) => self.skipped += 1,
            },
            (Some("purge"), true) => match serde_json::from_value(v) {
                Ok(p) => self.purges.push(p),
                Err(_) => self.skipped += 1,
            },
            _ => self.skipped += 1,
        }
    }

    /// One `console.log` argument: our line as a string, or already an object.
    fn take_part(&mut self, part: &Value) {
        match part {
            Value::String(s) => match serde_json::from_str::<Value>(s) {
                Ok(v) if v.is_object() => self.take(v),
                _ => self.skipped += 1,
            },
            Value::Object(_) => self.take(part.clone()),
            _ => self.skipped += 1,
        }
    }
}

/// Reads `text`: first as a stream of JSON values (JSON lines, or tail
/// output pretty-printed over many lines); if that fails anywhere, line by
/// line, each from its first `{`, skipping lines that hold no JSON.
pub fn read_lines(text: &str) -> Lines {
    let mut out = Lines::default();
    let stream: Result<Vec<Value>, _> = serde_json::Deserializer::from_str(text)
        .into_iter::<Value>()
        .collect();
    match stream {
        Ok(values) => values.into_iter().for_each(|v| out.take(v)),
        Err(_) => {
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                // The first value from the first `{`: what follows it (a
                // terminal's colour reset, say) is not part of the line.
                let parsed = line.find('{').and_then(|i| {
                    serde_json::Deserializer::from_str(&line[i..])
                        .into_iter::<Value>()
                        .next()
                        .and_then(Result::ok)
                });
                match parsed {
                    Some(v) => out.take(v),
                    None => out.skipped += 1,
                }
            }
        }
    }
    out.requests.sort_by_key(|r| r.time);
    out.purges.sort_by_key(|p| p.time);
    out
}
