//! Query string normalization for keys.
//!
//! Django reads `request.GET` with `QueryDict`, which splits on `&` only and
//! form-decodes (`+` is a space). We read the query the same way, so the key
//! sees exactly the parameters the origin sees. HAZARD: splitting on `;` as
//! well (as some caches do) enables *parameter cloaking*: `?q=a&utm_x=1;q=evil`
//! is, to Django, `q=a` plus `utm_x="1;q=evil"`; a cache that saw `q=evil`
//! would store the response for `q=a` under a key an attacker chose.
//!
//! Every name and value is decoded to bytes and re-encoded canonically
//! (RFC 3986 §2.3 unreserved bytes literal, everything else `%XX` upper-case),
//! so `%41` = `A`, `+` = `%20`, and `%2B`, `%26`, `%3D`, `%23` stay encoded:
//! a decoded `&` or `=` can never become a separator. Invalid UTF-8 is kept
//! byte for byte (never collapsed into U+FFFD, which would merge distinct values).

use crate::config::{QueryRules, VARIANT_PARAM};

/// One normalized parameter: canonical encoded name and value.
pub type EncodedPair = (String, String);

/// True when a (decoded) parameter name matches the tracking list
/// (`utm_*` is a prefix match, anything else exact, case-sensitive).
pub fn is_tracking(tracking: &[String], name: &[u8]) -> bool {
    tracking.iter().any(|t| match t.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix.as_bytes()),
        None => name == t.as_bytes(),
    })
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-decodes; with `plus_is_space`, `+` becomes a space
/// (application/x-www-form-urlencoded). A `%` not followed by two hex digits
/// is kept as a literal `%`, as `form_urlencoded` and Python's `unquote` do.
pub(crate) fn percent_decode(s: &[u8], plus_is_space: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        if b == b'%' && i + 2 < s.len() {
            if let (Some(h), Some(l)) = (hex_val(s[i + 1]), hex_val(s[i + 2])) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(if plus_is_space && b == b'+' { b' ' } else { b });
        i += 1;
    }
    out
}

/// RFC 3986 §2.3 unreserved.
pub(crate) fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Canonical encoding: unreserved bytes literal, every other byte `%XX` upper-case.
pub(crate) fn encode_component(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if is_unreserved(b) {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b >> 4)]));
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b & 15)]));
        }
    }
    out
}

/// Number of `&`-separated pieces (what `limits.max_query_params` counts).
pub fn count_params(query: &str) -> usize {
    query.split('&').filter(|p| !p.is_empty()).count()
}

/// Lower-cases (Unicode when the bytes are UTF-8, ASCII otherwise) and clamps a
/// decoded value as the route declares for `name`.
pub fn normalize_value(rules: &QueryRules, name: &[u8], value: &[u8]) -> Vec<u8> {
    let mut v = value.to_vec();
    if rules.lowercase.iter().any(|n| n.as_bytes() == name) {
        v = match std::str::from_utf8(&v) {
            Ok(s) => s.to_lowercase().into_bytes(),
            Err(_) => v.to_ascii_lowercase(),
        };
    }
    let clamp = std::str::from_utf8(name)
        .ok()
        .and_then(|n| rules.clamp.get(n));
    if let Some(&(min, max)) = clamp {
        // Non-numeric values are kept as they are: we do not guess what the
        // origin makes of them (DRF answers 404 or falls back to the default).
        if let Some(n) = std::str::from_utf8(&v)
            .ok()
            .and_then(|s| s.parse::<i64>().ok())
        {
            v = n.clamp(min, max).to_string().into_bytes();
        }
    }
    v
}

/// Normalizes a raw query (without `?`) into canonical pairs, sorted by encoded
/// name (stable: repeated names keep their relative order, which Django's
/// `getlist` exposes and `get` resolves to the last one).
///
/// `rules` is the route's query rules (`None` for URLs outside any route: then
/// only tracking and variant params are dropped). Dropped, in order: empty
/// names, the reserved variant param, tracking params, params the allow/deny
/// list removes, params whose normalized value equals their declared default.
pub fn normalize_query(
    query: &str,
    rules: Option<&QueryRules>,
    tracking: &[String],
) -> Vec<EncodedPair> {
    let mut pairs: Vec<EncodedPair> = Vec::new();
    for piece in query.split('&') {
        if piece.is_empty() {
            continue;
        }
        let (raw_name, raw_value) = piece.split_once('=').unwrap_or((piece, ""));
        let name = percent_decode(raw_name.as_bytes(), true);
        if name.is_empty() {
            // `?=x`: no name Django could read it under.
            continue;
        }
        // HAZARD: the variant part of a key is computed from headers and
        // credentials only. If a client could send `__edgecache=user.<hash>`,
        // it could pick another user's variant and read their cached data, or
        // write a response into it. So any incoming one is always dropped.
        if name.eq_ignore_ascii_case(VARIANT_PARAM.as_bytes()) {
            continue;
        }
        if is_tracking(tracking, &name) {
            continue;
        }
        let mut value = percent_decode(raw_value.as_bytes(), true);
        if let Some(rules) = rules {
            if !rules.filter.keeps_bytes(&name) {
                continue;
            }
            value = normalize_value(rules, &name, &value);
            let default = std::str::from_utf8(&name)
                .ok()
                .and_then(|n| rules.defaults.get(n));
            if default.is_some_and(|d| d.as_bytes() == value.as_slice()) {
                continue;
            }
        }
        pairs.push((encode_component(&name), encode_component(&value)));
    }
    pairs.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    pairs
}

/// `a=1&b=2` from pairs (empty string for none).
pub fn join_pairs(pairs: &[EncodedPair]) -> String {
    let mut out = String::new();
    for (i, (n, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(n);
        out.push('=');
        out.push_str(v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_plus_and_percent_and_keeps_bad_escapes() {
        assert_eq!(
            percent_decode(b"a+b%41%2b%zz%4", true),
            b"a bA+%zz%4".to_vec()
        );
        assert_eq!(percent_decode(b"a+b", false), b"a+b".to_vec());
        assert_eq!(percent_decode(b"%", true), b"%".to_vec());
    }

    #[test]
    fn encodes_everything_but_unreserved() {
        assert_eq!(
            encode_component(b"aZ0-._~ +&=/#?\xff"),
            "aZ0-._~%20%2B%26%3D%2F%23%3F%FF"
        );
    }
}
