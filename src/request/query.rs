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
//!
//! Cost: keying runs on every request, so the common case (names and values
//! already canonical, no rule touching them) borrows slices of the query and
//! allocates nothing per parameter; a copy is made only where decoding,
//! a rule or re-encoding changes the bytes (`Cow`).

use crate::config::query_rules::TrackingParams;
use crate::config::QueryRules;
use crate::http::text::pct_byte;

use crate::http::reserved::VARIANT_PARAM;
use std::borrow::Cow;

/// One normalized parameter: the canonical *encoded* name (what pairs are
/// sorted by) and the *decoded*, rule-normalized value (encoded when written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryParam<'a> {
    pub name: Cow<'a, str>,
    pub value: Cow<'a, [u8]>,
    /// Single-valued for the route, and whether it goes (see [`Single`]).
    single: Single,
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes a query name or value as application/x-www-form-urlencoded (as
/// Django reads queries): `%XX` escapes decoded, `+` a space. A `%` not
/// followed by two hex digits is kept as a literal `%`, as `form_urlencoded`
/// and Python's `unquote` do.
pub(crate) fn form_decode(s: &[u8]) -> Vec<u8> {
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
        out.push(if b == b'+' { b' ' } else { b });
        i += 1;
    }
    out
}

/// RFC 3986 §2.3 unreserved.
#[inline]
pub(crate) fn is_unreserved(b: u8) -> bool {
    UNRESERVED[usize::from(b)]
}

/// [`is_unreserved`] as a table: the key path asks once per byte of every URL.
static UNRESERVED: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~');
        b += 1;
    }
    t
};

/// Appends the canonical encoding of `bytes` to `out`: unreserved bytes
/// literal, every other byte `%XX` upper-case. Runs of unreserved bytes are
/// copied as one slice. `out` stays ASCII.
pub(crate) fn encode_into(bytes: &[u8], out: &mut Vec<u8>) {
    let mut rest = bytes;
    while let Some(i) = rest.iter().position(|&b| !is_unreserved(b)) {
        let b = rest[i];
        out.extend_from_slice(&rest[..i]);
        out.extend_from_slice(&pct_byte(b));
        rest = &rest[i + 1..];
    }
    out.extend_from_slice(rest);
}

/// Bytes built by [`encode_into`] (and other ASCII) as a `String`. They are
/// always ASCII; were they ever not, the lossy conversion keeps this panic-free.
pub(crate) fn ascii_string(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Canonical encoding: unreserved bytes literal, every other byte `%XX` upper-case.
pub(crate) fn encode_component(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len());
    encode_into(bytes, &mut out);
    ascii_string(out)
}

/// Number of `&`-separated pieces (what `limits.max_query_params` counts).
pub fn count_params(query: &str) -> usize {
    let b = query.as_bytes();
    if b.is_empty() {
        return 0;
    }
    if b.first() != Some(&b'&') && b.last() != Some(&b'&') && !query.contains("&&") {
        // No empty piece: one more than the separators (a vectorizable count).
        return 1 + b.iter().filter(|&&c| c == b'&').count();
    }
    query.split('&').filter(|p| !p.is_empty()).count()
}

/// The canonical encoding of a raw (still encoded) name, borrowed when the raw
/// name is already canonical (`plain`: only unreserved bytes, nothing to
/// decode, nothing to encode), with its decoded bytes.
fn name_parts(raw: &str, plain: bool) -> (Cow<'_, str>, Cow<'_, [u8]>) {
    if plain {
        return (Cow::Borrowed(raw), Cow::Borrowed(raw.as_bytes()));
    }
    let decoded = form_decode(raw.as_bytes());
    (Cow::Owned(encode_component(&decoded)), Cow::Owned(decoded))
}

/// Byte classes for the one pass [`normalize_query_counted`] makes over a query.
const PLAIN: u8 = 0;
const AMP: u8 = 1;
const EQ: u8 = 2;
/// `%` or `+`: decoding changes the piece.
const DECODE: u8 = 3;
/// Kept by decoding, but not unreserved: a name holding one is re-encoded.
const OTHER: u8 = 4;

static QUERY_CLASS: [u8; 256] = {
    let mut t = [OTHER; 256];
    let mut b = 0;
    while b < 256 {
        if UNRESERVED[b] {
            t[b] = PLAIN;
        }
        b += 1;
    }
    t[b'&' as usize] = AMP;
    t[b'=' as usize] = EQ;
    t[b'%' as usize] = DECODE;
    t[b'+' as usize] = DECODE;
    t
};

/// Normalizes a raw query (without `?`) into canonical pairs, sorted by encoded
/// name (stable: repeated names keep their relative order, which Django's
/// `getlist` exposes and `get` resolves to the last one).
///
/// `rules` is the route's query rules (`None` for URLs outside any route: then
/// only tracking and variant params are dropped). Dropped: empty
/// names, the reserved variant param, tracking params, params the allow/deny
/// list removes, params whose normalized value equals their declared default.
pub(crate) fn normalize_query<'a>(
    query: &'a str,
    rules: Option<&QueryRules>,
    tracking: &TrackingParams,
) -> Vec<QueryParam<'a>> {
    normalize_query_counted(query, rules, tracking).0
}

/// [`normalize_query`], with the [`count_params`] of `query` (what the limit
/// counts), from the same pass.
///
/// One pass over the bytes finds the pieces, the first `=` of each, and
/// whether the name is already canonical and the value needs decoding; the
/// query is not scanned again per piece (keying runs on every request).
pub(crate) fn normalize_query_counted<'a>(
    query: &'a str,
    rules: Option<&QueryRules>,
    tracking: &TrackingParams,
) -> (Vec<QueryParam<'a>>, usize) {
    let b = query.as_bytes();
    let mut pairs: Vec<QueryParam<'a>> = Vec::new();
    let mut any_single = false;
    let mut count = 0;
    let mut start = 0;
    // Of the current piece: where its first `=` is, whether the bytes before
    // it are all unreserved, whether the bytes after it hold `%` or `+`.
    let mut eq = None;
    let mut name_plain = true;
    let mut value_decode = false;
    let mut i = 0;
    loop {
        // Unreserved bytes change nothing: skip to the next byte that does.
        i += b
            .get(i..)
            .and_then(|r| r.iter().position(|&c| QUERY_CLASS[usize::from(c)] != PLAIN))
            .unwrap_or(b.len() - i.min(b.len()));
        // The end of the query ends the last piece as a `&` would.
        let class = b.get(i).map_or(AMP, |&c| QUERY_CLASS[usize::from(c)]);
        if class == AMP {
            if i > start {
                count += 1;
                // `&` and `=` are ASCII: the slices are on char boundaries.
                let (raw_name, raw_value) = match eq {
                    Some(e) => (query.get(start..e), query.get(e + 1..i)),
                    None => (query.get(start..i), Some("")),
                };
                if let (Some(raw_name), Some(raw_value)) = (raw_name, raw_value) {
                    if let Some(p) = normalize_pair(
                        raw_name,
                        name_plain,
                        raw_value,
                        value_decode,
                        rules,
                        tracking,
                    ) {
                        any_single |= p.single != Single::No;
                        pairs.push(p);
                    }
                }
            }
            if i >= b.len() {
                break;
            }
            start = i + 1;
            eq = None;
            name_plain = true;
            value_decode = false;
        } else if eq.is_some() {
            // In the value a later `=` is kept as it is (encoded when written).
            value_decode |= class == DECODE;
        } else if class == EQ {
            eq = Some(i);
        } else {
            name_plain = false;
        }
        i += 1;
    }
    if any_single {
        keep_last_single(&mut pairs);
    }
    pairs.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    (pairs, count)
}

/// One `name=value` piece of a query (still encoded), or `None` when it is
/// dropped (see [`normalize_query`]). `name_plain`: the raw name is all
/// unreserved; `value_decode`: the raw value holds `%` or `+`.
fn normalize_pair<'a>(
    raw_name: &'a str,
    name_plain: bool,
    raw_value: &'a str,
    value_decode: bool,
    rules: Option<&QueryRules>,
    tracking: &TrackingParams,
) -> Option<QueryParam<'a>> {
    let (encoded_name, name) = name_parts(raw_name, name_plain);
    if name.is_empty() {
        // `?=x`: no name Django could read it under.
        return None;
    }
    // HAZARD: the variant part of a key is computed from headers and
    // credentials only. If a client could send `__edgecache=user.<hash>`,
    // it could pick another user's variant and read their cached data, or
    // write a response into it. So any incoming one is always dropped.
    if name.eq_ignore_ascii_case(VARIANT_PARAM.as_bytes()) {
        return None;
    }
    // Each check only drops, so their order does not change the result:
    // the route's list (short, often an allow list) goes first.
    if rules.is_some_and(|r| !r.filter.keeps_bytes(&name)) || tracking.matches(&name) {
        return None;
    }
    let mut value = if value_decode {
        Cow::Owned(form_decode(raw_value.as_bytes()))
    } else {
        Cow::Borrowed(raw_value.as_bytes())
    };
    let mut single = Single::No;
    if let Some(rules) = rules {
        // A borrowed encoded name is the raw name, all unreserved: the
        // decoded name itself, already a `str`.
        let name_str = match &encoded_name {
            Cow::Borrowed(n) => Some(*n),
            Cow::Owned(_) => std::str::from_utf8(&name).ok(),
        };
        value = rules.normalize_value_cow(&name, name_str, value);
        let default = name_str.and_then(|n| rules.defaults.get(n));
        if default.is_some() || name_str.is_some_and(|n| rules.clamp.contains_key(n)) {
            single = if default.is_some_and(|d| d.as_bytes() == &*value) {
                Single::Drop
            } else {
                Single::Value
            };
        }
    }
    Some(QueryParam {
        name: encoded_name,
        value,
        single,
    })
}

/// Whether a parameter is single-valued for the route (it has a default or a
/// clamp: `page`, `perpage`), and if so whether it is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Single {
    No,
    Value,
    /// Equal to the default, or superseded by a later occurrence: dropped.
    Drop,
}

/// Django's `QueryDict` reads a repeated single-valued parameter's last value
/// (`?page=2&page=1` is page 1). So of each single-valued name only the last
/// occurrence counts, and it is dropped when it equals the default: the key
/// (and the origin) see what the view will read. Other names keep every
/// occurrence in order (`?id=1&id=2` is not `?id=2&id=1`). In place: runs on
/// most list URLs (`page`), so nothing is allocated.
fn keep_last_single(pairs: &mut Vec<QueryParam<'_>>) {
    for i in 0..pairs.len() {
        let superseded = pairs[i].single == Single::Value
            && pairs[i + 1..]
                .iter()
                .any(|q| q.single != Single::No && q.name == pairs[i].name);
        if superseded {
            pairs[i].single = Single::Drop;
        }
    }
    pairs.retain(|p| p.single != Single::Drop);
}

/// Appends `a=1&b=2` for `pairs` to `out` (nothing for none), values encoded canonically.
pub(crate) fn join_pairs(pairs: &[QueryParam<'_>], out: &mut Vec<u8>) {
    for (i, p) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(b'&');
        }
        out.extend_from_slice(p.name.as_bytes());
        out.push(b'=');
        encode_into(&p.value, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_plus_and_percent_and_keeps_bad_escapes() {
        assert_eq!(form_decode(b"a+b%41%2b%zz%4"), b"a bA+%zz%4".to_vec());
        assert_eq!(form_decode(b"%"), b"%".to_vec());
    }

    #[test]
    fn encodes_everything_but_unreserved() {
        assert_eq!(
            encode_component(b"aZ0-._~ +&=/#?\xff"),
            "aZ0-._~%20%2B%26%3D%2F%23%3F%FF"
        );
    }

    #[test]
    fn counts_non_empty_pieces() {
        for q in ["", "a", "a=1&b", "&a", "a&", "&&", "a&&b", "&a&&b&", "=&="] {
            let want = q.split('&').filter(|p| !p.is_empty()).count();
            assert_eq!(count_params(q), want, "{q:?}");
        }
    }

    #[test]
    fn borrows_canonical_names_and_values() {
        let pairs = normalize_query("b=2&a=x-y", None, &TrackingParams::new(vec![]));
        assert!(pairs
            .iter()
            .all(|p| matches!((&p.name, &p.value), (Cow::Borrowed(_), Cow::Borrowed(_)))));
        let mut out = Vec::new();
        join_pairs(&pairs, &mut out);
        assert_eq!(out, b"a=x-y&b=2");
    }

    #[test]
    fn encodes_names_that_need_it() {
        let pairs = normalize_query("%61+b=1&a%2Bc=%7e", None, &TrackingParams::new(vec![]));
        let mut out = Vec::new();
        join_pairs(&pairs, &mut out);
        assert_eq!(out, b"a%20b=1&a%2Bc=~");
    }
}
