//! Query rules as configured, and how each applies itself: the tracking
//! list (prepared once at load) and a route's value rules (lower-casing,
//! clamps). The key module (`request::query`) runs them on every parameter;
//! config validation runs them on declared defaults, so a default compares
//! with a value normalized the same way.

use std::borrow::Cow;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamFilter {
    /// Only these names are kept.
    Allow(Vec<String>),
    /// These names are dropped; everything else kept.
    Deny(Vec<String>),
    /// Neither given: every non-tracking name kept.
    All,
}

impl ParamFilter {
    /// Does the filter keep a parameter with this (decoded) name?
    pub fn keeps(&self, name: &str) -> bool {
        self.keeps_bytes(name.as_bytes())
    }

    /// `keeps` on raw decoded bytes (query names need not be UTF-8).
    pub(crate) fn keeps_bytes(&self, name: &[u8]) -> bool {
        match self {
            ParamFilter::Allow(list) => list.iter().any(|n| n.as_bytes() == name),
            ParamFilter::Deny(list) => !list.iter().any(|n| n.as_bytes() == name),
            ParamFilter::All => true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryRules {
    pub filter: ParamFilter,
    /// A parameter whose (normalized) value equals its default is dropped.
    pub defaults: BTreeMap<String, String>,
    /// Numeric clamps, inclusive [min, max].
    pub clamp: BTreeMap<String, (i64, i64)>,
    /// Values of these names are lower-cased.
    pub lowercase: Vec<String>,
}

/// The tracking list (`tracking_params`), with the first bytes its entries
/// start with precomputed when config is loaded: most parameter names start
/// with none of them, and are cleared without a look at the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackingParams {
    names: Vec<String>,
    /// Bit `b` set when an entry can match a name whose first byte is `b`
    /// (all set when one matches any name: an entry of `*` alone).
    first: [u64; 4],
}

impl TrackingParams {
    pub fn new(names: Vec<String>) -> Self {
        let mut first = [0u64; 4];
        for t in &names {
            match t.as_bytes() {
                [b'*'] | [] => first = [u64::MAX; 4],
                [b, ..] => first[usize::from(b >> 6)] |= 1 << (b & 63),
            }
        }
        TrackingParams { names, first }
    }

    /// The entries as configured.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// [`is_tracking`] against this list.
    pub fn matches(&self, name: &[u8]) -> bool {
        let may = match name.first() {
            Some(&b) => self.first[usize::from(b >> 6)] & (1 << (b & 63)) != 0,
            // Only an empty entry or `*` can match an empty name.
            None => self.first == [u64::MAX; 4],
        };
        may && is_tracking(&self.names, name)
    }
}

/// True when a (decoded) parameter name matches the tracking list
/// (`utm_*` is a prefix match, anything else exact, case-sensitive).
pub(crate) fn is_tracking(tracking: &[String], name: &[u8]) -> bool {
    tracking.iter().any(|t| {
        let (pattern, prefix) = match t.as_bytes().split_last() {
            Some((b'*', prefix)) => (prefix, true),
            _ => (t.as_bytes(), false),
        };
        // Most names differ from most entries in the first byte: decide those
        // without a call to `memcmp` (every parameter asks this).
        if pattern.first().is_some_and(|f| name.first() != Some(f)) {
            return false;
        }
        if prefix {
            name.starts_with(pattern)
        } else {
            name == pattern
        }
    })
}

impl QueryRules {
    /// Lower-cases (Unicode when the bytes are UTF-8, ASCII otherwise) and clamps a
    /// decoded value as the route declares for `name`.
    pub(crate) fn normalize_value(&self, name: &[u8], value: &[u8]) -> Vec<u8> {
        let name_str = std::str::from_utf8(name).ok();
        self.normalize_value_cow(name, name_str, Cow::Borrowed(value))
            .into_owned()
    }

    /// [`QueryRules::normalize_value`] that returns `value` itself when no rule changes it;
    /// `name_str` is `name` as a `str` when it is UTF-8 (the rule maps are keyed by `String`).
    pub(crate) fn normalize_value_cow<'a>(
        &self,
        name: &[u8],
        name_str: Option<&str>,
        value: Cow<'a, [u8]>,
    ) -> Cow<'a, [u8]> {
        let mut v = value;
        if self.lowercase.iter().any(|n| n.as_bytes() == name) {
            // ASCII without upper case is already lower case in both readings.
            if !v.iter().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
                v = Cow::Owned(match std::str::from_utf8(&v) {
                    Ok(s) => s.to_lowercase().into_bytes(),
                    Err(_) => v.to_ascii_lowercase(),
                });
            }
        }
        if self.clamp.is_empty() {
            return v;
        }
        let clamp = name_str.and_then(|n| self.clamp.get(n));
        if let Some(&(min, max)) = clamp {
            // Non-numeric values are kept as they are: we do not guess what the
            // origin makes of them (DRF answers 404 or falls back to the default).
            if let Some(n) = std::str::from_utf8(&v)
                .ok()
                .and_then(|s| s.parse::<i64>().ok())
            {
                let clamped = n.clamp(min, max);
                // The number is written back in its shortest form (`010` → `10`),
                // so a value that is in range and already so written stays as it is.
                if clamped != n || !is_shortest_decimal(&v) {
                    v = Cow::Owned(clamped.to_string().into_bytes());
                }
            }
        }
        v
    }
}

/// True when `s` is how `i64::to_string` writes its number: an optional `-`,
/// then digits without a leading zero (`0` alone, never `-0`, no `+`).
fn is_shortest_decimal(s: &[u8]) -> bool {
    let digits = s.strip_prefix(b"-").unwrap_or(s);
    match digits {
        [] => false,
        [b'0'] => digits.len() == s.len(),
        [first, ..] => *first != b'0' && digits.iter().all(u8::is_ascii_digit),
    }
}
