//! `Cache-Control` parsing (RFC 9111 §5.2, RFC 5861).
//!
//! The parser reads every field line of the header (RFC 9110 §5.3: several
//! lines are one comma-separated list), never panics, and fails safe: a
//! freshness directive whose argument is missing, malformed or contradicted
//! by a second occurrence is read as `0`, i.e. "already stale". Getting this
//! wrong the other way (reading garbage as "fresh for a long time") leads to
//! serving content the origin never meant to be cached.

use crate::http::headers::Headers;
use crate::http::text::is_tchar;

/// Largest delta-seconds value we keep. RFC 9111 §1.2.2: a recipient that
/// cannot represent a larger value uses 2^31 ("effectively infinite").
pub const DELTA_SECONDS_MAX: u64 = 2_147_483_648;

/// A directive that may carry a list of field names (`private`, `no-cache`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum FieldScope {
    /// The directive is not present.
    #[default]
    Absent,
    /// Present without an argument: applies to the whole response.
    Whole,
    /// Present with a quoted list of field names (lower-cased), e.g.
    /// `private="Set-Cookie"`: only those fields are affected (RFC 9111 §5.2.2.7).
    Fields(Vec<String>),
}

impl FieldScope {
    /// Merges a second occurrence. Fails safe: `Whole` wins over any list.
    fn merge(&mut self, other: FieldScope) {
        *self = match (std::mem::take(self), other) {
            (FieldScope::Whole, _) | (_, FieldScope::Whole) => FieldScope::Whole,
            (FieldScope::Absent, x) | (x, FieldScope::Absent) => x,
            (FieldScope::Fields(mut a), FieldScope::Fields(b)) => {
                for f in b {
                    if !a.contains(&f) {
                        a.push(f);
                    }
                }
                FieldScope::Fields(a)
            }
        }
    }
}

/// Parsed response (or request) `Cache-Control` directives.
///
/// Numeric fields are `None` when the directive is absent and `Some(0)` when it
/// is present but unusable (see module docs). Unknown directives are ignored
/// (RFC 9111 §5.2.3).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CacheControl {
    pub max_age: Option<u64>,
    pub s_maxage: Option<u64>,
    pub stale_while_revalidate: Option<u64>,
    pub stale_if_error: Option<u64>,
    pub no_store: bool,
    pub no_cache: FieldScope,
    pub private: FieldScope,
    pub public: bool,
    pub must_revalidate: bool,
    pub proxy_revalidate: bool,
    pub immutable: bool,
    pub no_transform: bool,
}

/// One list member as written: its lower-cased name and its raw text
/// (trimmed), so callers can drop directives without re-serializing others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawDirective<'a> {
    pub name: String,
    pub argument: Option<String>,
    pub raw: &'a str,
}

impl CacheControl {
    /// Parses every `Cache-Control` field line of `headers`.
    pub fn from_headers(headers: &Headers) -> Self {
        Self::parse_lines(headers.get_all("cache-control"))
    }

    /// Parses one field value.
    pub fn parse(value: &str) -> Self {
        Self::parse_lines(std::iter::once(value))
    }

    /// Parses several field lines as one list.
    pub fn parse_lines<'a>(lines: impl IntoIterator<Item = &'a str>) -> Self {
        let mut cc = CacheControl::default();
        for line in lines {
            for d in split_directives(line) {
                cc.apply(&d);
            }
        }
        cc
    }

    fn apply(&mut self, d: &RawDirective<'_>) {
        let arg = d.argument.as_deref();
        match d.name.as_str() {
            "max-age" => merge_seconds(&mut self.max_age, arg),
            "s-maxage" => merge_seconds(&mut self.s_maxage, arg),
            "stale-while-revalidate" => merge_seconds(&mut self.stale_while_revalidate, arg),
            "stale-if-error" => merge_seconds(&mut self.stale_if_error, arg),
            "no-store" => self.no_store = true,
            "no-cache" => self.no_cache.merge(field_scope(arg)),
            "private" => self.private.merge(field_scope(arg)),
            "public" => self.public = true,
            "must-revalidate" => self.must_revalidate = true,
            "proxy-revalidate" => self.proxy_revalidate = true,
            "immutable" => self.immutable = true,
            "no-transform" => self.no_transform = true,
            _ => {}
        }
    }
}

/// Parses delta-seconds (RFC 9111 §1.2.2): digits only; saturates at
/// [`DELTA_SECONDS_MAX`]. Anything else is `None`.
pub(crate) fn parse_delta_seconds(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut n: u64 = 0;
    for b in s.bytes() {
        n = n.saturating_mul(10).saturating_add(u64::from(b - b'0'));
        if n > DELTA_SECONDS_MAX {
            return Some(DELTA_SECONDS_MAX);
        }
    }
    Some(n)
}

/// Fail safe: a missing/invalid argument, or a second occurrence with a
/// different value, makes the directive `0`.
fn merge_seconds(slot: &mut Option<u64>, arg: Option<&str>) {
    let v = arg.and_then(parse_delta_seconds).unwrap_or(0);
    *slot = match *slot {
        None => Some(v),
        Some(prev) if prev == v => Some(v),
        Some(_) => Some(0),
    };
}

fn field_scope(arg: Option<&str>) -> FieldScope {
    match arg {
        None => FieldScope::Whole,
        Some(list) => {
            let mut names: Vec<String> = Vec::new();
            for name in list.split(',') {
                let name = name.trim();
                if name.is_empty() {
                    continue;
                }
                if !name.bytes().all(is_tchar) {
                    // A field list we cannot read: fail safe to the whole response.
                    return FieldScope::Whole;
                }
                let name = name.to_ascii_lowercase();
                if !names.contains(&name) {
                    names.push(name);
                }
            }
            if names.is_empty() {
                FieldScope::Whole
            } else {
                FieldScope::Fields(names)
            }
        }
    }
}

/// Splits one field value into directives, honouring quoted strings (a comma
/// inside `private="a, b"` does not split). Members whose name is not a token
/// are skipped. Quoted arguments are unescaped (RFC 9110 §5.6.4); both token
/// and quoted forms are accepted for every directive (RFC 9111 §5.2).
pub fn split_directives(value: &str) -> Vec<RawDirective<'_>> {
    let mut out = Vec::new();
    let mut from = 0;
    // Hazard: an unterminated quote would swallow everything after it,
    // `no-store` included. Fail safe: the open member ends at its quote (its
    // argument reads as malformed, `""`, either way) and the tail after the quote
    // is split again, quotes and all. So the members' raw texts never overlap
    // and re-joining them (`downstream_cache_control`) gives the same members
    // (both found by fuzzing). Each pass costs a scan of the tail, so after
    // `MAX_OPEN_QUOTES` passes the rest of a value that broken is ignored.
    for _ in 0..=MAX_OPEN_QUOTES {
        match split_pass(value, from, &mut out) {
            Some(quote) => from = quote + 1,
            None => break,
        }
    }
    out
}

/// Unterminated quotes [`split_directives`] reads past in one field value.
const MAX_OPEN_QUOTES: usize = 16;

/// Splits `value[from..]` into `out`; returns the position of an unterminated
/// quote, if one is left open (its member then ends at the quote).
fn split_pass<'a>(value: &'a str, from: usize, out: &mut Vec<RawDirective<'a>>) -> Option<usize> {
    let bytes = value.as_bytes();
    let mut start = from;
    let mut quote_start = None;
    let mut i = from;
    while i < bytes.len() {
        match (quote_start, bytes[i]) {
            (Some(_), b'\\') => i += 1,
            (Some(_), b'"') => quote_start = None,
            (Some(_), _) => {}
            (None, b'"') => quote_start = Some(i),
            (None, b',') => {
                // Split points are ASCII, so these slices are on char boundaries.
                out.extend(parse_member(&value[start..i]));
                start = i + 1;
            }
            (None, _) => {}
        }
        i += 1;
    }
    let end = quote_start.map_or(value.len(), |q| q + 1);
    out.extend(value.get(start..end).and_then(parse_member));
    quote_start
}

fn parse_member(raw: &str) -> Option<RawDirective<'_>> {
    let raw = raw.trim_matches(|c| c == ' ' || c == '\t');
    if raw.is_empty() {
        return None;
    }
    let (name, argument) = match raw.find('=') {
        None => (raw, None),
        Some(eq) => {
            let name = raw[..eq].trim_end_matches([' ', '\t']);
            let arg = raw[eq + 1..].trim_start_matches([' ', '\t']);
            (name, Some(unquote(arg)))
        }
    };
    if name.is_empty() || !name.bytes().all(is_tchar) {
        return None;
    }
    Some(RawDirective {
        name: name.to_ascii_lowercase(),
        argument,
        raw,
    })
}

/// Token as is; quoted-string unescaped. A malformed argument (unterminated
/// quote, trailing garbage) gives `""`, which numeric directives read as
/// invalid (fail safe) and list directives read as "whole response".
fn unquote(arg: &str) -> String {
    let Some(rest) = arg.strip_prefix('"') else {
        if arg.bytes().all(is_tchar) {
            return arg.to_string();
        }
        return String::new();
    };
    let mut out = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e) => out.push(e),
                None => return String::new(),
            },
            '"' => {
                return if chars.as_str().trim().is_empty() {
                    out
                } else {
                    String::new()
                };
            }
            c => out.push(c),
        }
    }
    String::new()
}
