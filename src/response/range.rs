//! Single byte-range requests served from a stored representation of known
//! length (RFC 9110 §14).
//!
//! Only one `bytes` range is served; anything else (other units, several
//! ranges, malformed syntax) is ignored and the full 200 is served, which RFC
//! 9110 §14.2 permits. Numbers saturate rather than overflow.

use crate::http::date;
use crate::http::headers::Headers;
use crate::http::method::Method;
use crate::response::conditional::EntityTag;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeOutcome {
    /// Serve 200 with the whole representation.
    Full,
    /// Serve 206 with bytes `start..=end` and `Content-Range: bytes start-end/total`.
    Partial { start: u64, end: u64, total: u64 },
    /// Serve 416 with `Content-Range: bytes */total`.
    Unsatisfiable { total: u64 },
}

impl RangeOutcome {
    /// The `Content-Range` value for 206/416, `None` for `Full`.
    pub fn content_range(&self) -> Option<String> {
        match *self {
            RangeOutcome::Full => None,
            RangeOutcome::Partial { start, end, total } => Some(content_range(start, end, total)),
            RangeOutcome::Unsatisfiable { total } => Some(unsatisfied_content_range(total)),
        }
    }

    /// HTTP status to answer with.
    pub fn status(&self) -> u16 {
        match self {
            RangeOutcome::Full => 200,
            RangeOutcome::Partial { .. } => 206,
            RangeOutcome::Unsatisfiable { .. } => 416,
        }
    }
}

/// `bytes 0-99/1000` (RFC 9110 §14.4).
pub fn content_range(start: u64, end: u64, total: u64) -> String {
    format!("bytes {start}-{end}/{total}")
}

/// `bytes */1000`, for 416 (RFC 9110 §14.4).
pub(crate) fn unsatisfied_content_range(total: u64) -> String {
    format!("bytes */{total}")
}

/// Full evaluation for a request against a stored response of `total` bytes:
/// `Range` applies only to GET (RFC 9110 §14.2); `If-Range` that does not
/// match the stored validator turns the request into a plain 200 (§13.1.5).
pub fn evaluate(method: &Method, request: &Headers, stored: &Headers, total: u64) -> RangeOutcome {
    if *method != Method::Get {
        return RangeOutcome::Full;
    }
    let mut lines = request.get_all("range");
    let (Some(range), None) = (lines.next(), lines.next()) else {
        return RangeOutcome::Full;
    };
    if let Some(if_range) = request.get("if-range") {
        if !if_range_matches(if_range, stored) {
            return RangeOutcome::Full;
        }
    }
    parse_range(range, total)
}

/// `If-Range` (RFC 9110 §13.1.5): an entity-tag must strongly match the
/// stored `ETag`; a date must equal the stored `Last-Modified` exactly.
/// Anything malformed or absent is a mismatch (serve the full response).
pub(crate) fn if_range_matches(if_range: &str, stored: &Headers) -> bool {
    let v = if_range.trim();
    if v.starts_with('"') || v.starts_with("W/") {
        let (Some(want), Some(have)) = (
            EntityTag::parse(v),
            stored.get("etag").and_then(|e| EntityTag::parse(e.trim())),
        ) else {
            return false;
        };
        return want.strong_eq(&have);
    }
    match (
        date::parse(v),
        stored.get("last-modified").and_then(date::parse),
    ) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// Parses a `Range` value against a representation of `total` bytes.
pub fn parse_range(value: &str, total: u64) -> RangeOutcome {
    let Some((unit, set)) = value.trim().split_once('=') else {
        return RangeOutcome::Full;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return RangeOutcome::Full;
    }
    let mut specs = set.split(',').map(str::trim).filter(|s| !s.is_empty());
    let (Some(spec), None) = (specs.next(), specs.next()) else {
        return RangeOutcome::Full;
    };
    let Some((first, last)) = spec.split_once('-') else {
        return RangeOutcome::Full;
    };
    let (first, last) = (first.trim(), last.trim());
    if first.is_empty() {
        // suffix-range: the last n bytes.
        let Some(n) = number(last) else {
            return RangeOutcome::Full;
        };
        if n == 0 || total == 0 {
            return RangeOutcome::Unsatisfiable { total };
        }
        let n = n.min(total);
        return RangeOutcome::Partial {
            start: total - n,
            end: total - 1,
            total,
        };
    }
    let Some(start) = number(first) else {
        return RangeOutcome::Full;
    };
    let end = if last.is_empty() {
        u64::MAX
    } else {
        match number(last) {
            Some(e) if e >= start => e,
            _ => return RangeOutcome::Full,
        }
    };
    if start >= total {
        return RangeOutcome::Unsatisfiable { total };
    }
    RangeOutcome::Partial {
        start,
        end: end.min(total - 1),
        total,
    }
}

/// 1*DIGIT, saturating at u64::MAX.
fn number(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.bytes().fold(0u64, |n, b| {
        n.saturating_mul(10).saturating_add(u64::from(b - b'0'))
    }))
}
