//! Conditional requests answered from a stored response (RFC 9110 §13).

use crate::http::date;
use crate::http::headers::Headers;
use crate::http::method::Method;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conditional {
    /// Answer 304 with [`not_modified_headers`].
    NotModified,
    /// Answer with the full (or ranged) stored response.
    Proceed,
}

/// Fields a 304 carries from the stored response (RFC 9110 §15.4.5), plus the
/// cache's own `Age` and `Cache-Status`.
pub const NOT_MODIFIED_FIELDS: &[&str] = &[
    "cache-control",
    "content-location",
    "date",
    "etag",
    "expires",
    "vary",
    "age",
    "cache-status",
];

/// Evaluates `If-None-Match` / `If-Modified-Since` against a stored response.
///
/// Only GET and HEAD can yield `NotModified` (other methods would need 412,
/// which a cache hit never produces here). `If-None-Match` takes precedence:
/// when present, `If-Modified-Since` is not looked at (RFC 9110 §13.2.2).
/// Fail safe throughout: a malformed field never yields `NotModified`.
pub fn evaluate(
    method: &Method,
    request_headers: &Headers,
    stored_headers: &Headers,
) -> Conditional {
    if !method.is_get_or_head() {
        return Conditional::Proceed;
    }
    if let Some(inm) = request_headers.get_joined("if-none-match") {
        return if if_none_match_matches(&inm, stored_headers.get("etag")) {
            Conditional::NotModified
        } else {
            Conditional::Proceed
        };
    }
    // RFC 9110 §13.1.3: ignore unless exactly one valid HTTP-date.
    let mut ims_lines = request_headers.get_all("if-modified-since");
    let (Some(ims), None) = (ims_lines.next(), ims_lines.next()) else {
        return Conditional::Proceed;
    };
    let (Some(ims), Some(lm)) = (
        date::parse(ims),
        stored_headers.get("last-modified").and_then(date::parse),
    ) else {
        return Conditional::Proceed;
    };
    if lm <= ims {
        Conditional::NotModified
    } else {
        Conditional::Proceed
    }
}

/// The 304 response's fields: [`NOT_MODIFIED_FIELDS`] copied from `stored`.
pub fn not_modified_headers(stored: &Headers) -> Headers {
    stored
        .iter()
        .filter(|(n, _)| NOT_MODIFIED_FIELDS.contains(n))
        .collect()
}

/// `If-None-Match` with weak comparison (RFC 9110 §8.8.3.2): `*` matches any
/// stored response; otherwise any listed tag whose opaque part equals the
/// stored ETag's. An unparseable list matches nothing.
fn if_none_match_matches(value: &str, stored_etag: Option<&str>) -> bool {
    if value.trim() == "*" {
        return true;
    }
    let Some(stored) = stored_etag.and_then(|e| EntityTag::parse(e.trim())) else {
        return false;
    };
    match parse_etag_list(value) {
        Some(tags) => tags.iter().any(|t| t.opaque == stored.opaque),
        None => false,
    }
}

/// An entity-tag (RFC 9110 §8.8.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityTag<'a> {
    pub weak: bool,
    /// The quoted part, quotes included.
    pub opaque: &'a str,
}

impl<'a> EntityTag<'a> {
    /// Parses exactly one entity-tag; `None` if malformed.
    pub fn parse(s: &'a str) -> Option<Self> {
        let (weak, rest) = match s.strip_prefix("W/") {
            Some(r) => (true, r),
            None => (false, s),
        };
        let inner = rest.strip_prefix('"')?.strip_suffix('"')?;
        // etagc = %x21 / %x23-7E / obs-text
        if inner
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x7e).contains(&b) || b >= 0x80)
        {
            Some(EntityTag { weak, opaque: rest })
        } else {
            None
        }
    }

    /// Strong comparison (RFC 9110 §8.8.3.2): both strong and identical.
    pub(crate) fn strong_eq(&self, other: &EntityTag<'_>) -> bool {
        !self.weak && !other.weak && self.opaque == other.opaque
    }
}

/// A comma-separated list of entity-tags; empty members allowed (RFC 9110
/// §5.6.1), any malformed member fails the whole list. Entity-tags may
/// contain commas (`"a,b"`), so members are delimited by quotes, not commas.
fn parse_etag_list(value: &str) -> Option<Vec<EntityTag<'_>>> {
    let mut tags = Vec::new();
    let mut rest = value;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            break;
        }
        let body_start = if rest.starts_with("W/") { 2 } else { 0 };
        if !rest[body_start..].starts_with('"') {
            return None;
        }
        let close = rest[body_start + 1..].find('"')? + body_start + 1;
        tags.push(EntityTag::parse(&rest[..=close])?);
        rest = rest[close + 1..].trim_start_matches([' ', '\t']);
        if !(rest.is_empty() || rest.starts_with(',')) {
            return None;
        }
    }
    (!tags.is_empty()).then_some(tags)
}
