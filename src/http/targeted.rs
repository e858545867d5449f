//! Targeted cache-control fields (RFC 9213): `Cloudflare-CDN-Cache-Control`
//! and `CDN-Cache-Control`, which address CDN caches (us) separately from
//! `Cache-Control`.
//!
//! RFC 9213 §2.2: a cache keeps a *target list*, most specific first; it uses
//! the first field on the list with a valid, non-empty value and then ignores
//! `Cache-Control` and `Expires` for its own storing and freshness. §2.1: the
//! fields are Structured Field Dictionaries (RFC 8941 §3.2); an empty field, or
//! one that does not parse as a Dictionary, is ignored whole, as if absent, and
//! the next one on the list (finally `Cache-Control`) is used.
//!
//! §2.1 also says values that violate a directive's type (`max-age=1.5`,
//! `max-age="60"`, `max-age=-1`) SHOULD NOT be consumed: such a numeric
//! directive reads as `0` ("already stale"), failing safe as the
//! `Cache-Control` parser does, rather than making the whole field fall back
//! to a possibly laxer `Cache-Control`.

use crate::http::cache_control::{CacheControl, FieldScope, DELTA_SECONDS_MAX};
use crate::http::headers::Headers;

/// The target list, most specific first (RFC 9213 §2.2).
pub const TARGET_LIST: &[&str] = &["cloudflare-cdn-cache-control", "cdn-cache-control"];

/// Targeted fields taken off the answer before it leaves the worker; every
/// other one, `CDN-Cache-Control` included, is passed on as received, on
/// misses, hits and pass-through alike.
///
/// RFC 9213 §3: CDN caches that use `CDN-Cache-Control` "will typically
/// forward this header so that downstream CDN caches can use it as well",
/// and "MAY remove it when this is undesirable (for example, when configured
/// to do so because it is known not to be used downstream)". A worker cannot
/// know that nothing downstream uses it (another CDN in front of the zone
/// does), and the field misleads nobody else: browsers and other shared
/// caches ignore it (only CDN caches have it on their target list), so the
/// default holds. `Cloudflare-CDN-Cache-Control` addresses Cloudflare alone,
/// which is here; Cloudflare's own cache does not proxy it downstream either
/// (its CDN-Cache-Control docs), so neither does the worker. A targeted field
/// not on [`TARGET_LIST`] is passed on untouched, as §2.2 requires.
pub const NOT_FORWARDED: &[&str] = &["cloudflare-cdn-cache-control"];

/// Where the caching policy of a response came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicySource {
    /// A targeted field (its lower-case name): `Cache-Control` and `Expires`
    /// are ignored for storing and freshness.
    Targeted(&'static str),
    /// No usable targeted field: `Cache-Control` and `Expires` (RFC 9111).
    CacheControl,
}

/// The directives that govern storing and freshness here, and their source.
pub fn effective_cache_control(headers: &Headers) -> (CacheControl, PolicySource) {
    for name in TARGET_LIST {
        let lines: Vec<&str> = headers.get_all(name).collect();
        if lines.is_empty() {
            continue;
        }
        if let Some(cc) = parse_targeted(&lines.join(", ")) {
            return (cc, PolicySource::Targeted(name));
        }
    }
    (
        CacheControl::from_headers(headers),
        PolicySource::CacheControl,
    )
}

/// One targeted field's value (its lines joined with `", "`, RFC 8941 §4.2).
/// `None` when it is empty or not a valid Dictionary (RFC 9213 §2.1).
pub fn parse_targeted(value: &str) -> Option<CacheControl> {
    let members = parse_dictionary(value)?;
    if members.is_empty() {
        return None;
    }
    let mut cc = CacheControl::default();
    for (key, item) in members {
        apply(&mut cc, &key, &item);
    }
    Some(cc)
}

fn apply(cc: &mut CacheControl, key: &str, item: &Item) {
    let seconds = || {
        match item {
            Item::Integer(n) => u64::try_from(*n).ok().map(|n| n.min(DELTA_SECONDS_MAX)),
            _ => None,
        }
        .unwrap_or(0)
    };
    let flag = matches!(item, Item::Bool(true));
    match key {
        "max-age" => cc.max_age = Some(seconds()),
        "s-maxage" => cc.s_maxage = Some(seconds()),
        "stale-while-revalidate" => cc.stale_while_revalidate = Some(seconds()),
        "stale-if-error" => cc.stale_if_error = Some(seconds()),
        // Flags: `?0` (false) is the directive's absence.
        "no-store" => cc.no_store |= !matches!(item, Item::Bool(false)),
        "public" => cc.public = flag,
        "must-revalidate" => cc.must_revalidate |= !matches!(item, Item::Bool(false)),
        "proxy-revalidate" => cc.proxy_revalidate |= !matches!(item, Item::Bool(false)),
        "immutable" => cc.immutable = flag,
        "no-transform" => cc.no_transform = flag,
        "no-cache" => cc.no_cache = scope(item),
        "private" => cc.private = scope(item),
        _ => {}
    }
}

/// `private` / `no-cache`: `true` is the whole response, a String a list of
/// field names; any other value fails safe to the whole response.
fn scope(item: &Item) -> FieldScope {
    match item {
        Item::Bool(false) => FieldScope::Absent,
        Item::String(list) => {
            let names: Vec<String> = list
                .split(',')
                .map(|n| n.trim().to_ascii_lowercase())
                .filter(|n| !n.is_empty())
                .collect();
            if names.is_empty()
                || names
                    .iter()
                    .any(|n| !n.bytes().all(crate::http::text::is_tchar))
            {
                FieldScope::Whole
            } else {
                FieldScope::Fields(names)
            }
        }
        _ => FieldScope::Whole,
    }
}

/// A member value, as far as cache directives care.
#[derive(Debug, Clone, PartialEq)]
enum Item {
    Bool(bool),
    Integer(i64),
    String(String),
    /// A Decimal, Token, Byte Sequence or Inner List: no directive here takes one.
    Other,
}

/// RFC 8941 §4.2.2, strict: `None` on any parse error. Later duplicates of a
/// key overwrite earlier ones (§4.2.2 step 2.6); parameters are parsed and
/// ignored (RFC 9213 §2.1).
fn parse_dictionary(input: &str) -> Option<Vec<(String, Item)>> {
    let mut p = Parser {
        s: input.as_bytes(),
        i: 0,
    };
    p.skip(b' ');
    let mut out: Vec<(String, Item)> = Vec::new();
    while !p.done() {
        let key = p.key()?;
        let item = if p.eat(b'=') {
            if p.peek() == Some(b'(') {
                p.inner_list()?;
                Item::Other
            } else {
                p.bare_item()?
            }
        } else {
            Item::Bool(true)
        };
        p.params()?;
        out.retain(|(k, _)| *k != key);
        out.push((key, item));
        p.skip_ows();
        if p.done() {
            return Some(out);
        }
        if !p.eat(b',') {
            return None;
        }
        p.skip_ows();
        if p.done() {
            return None; // trailing comma
        }
    }
    Some(out)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn done(&self) -> bool {
        self.i >= self.s.len()
    }
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn eat(&mut self, b: u8) -> bool {
        let hit = self.peek() == Some(b);
        if hit {
            self.i += 1;
        }
        hit
    }
    fn skip(&mut self, b: u8) {
        while self.eat(b) {}
    }
    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }

    fn take_while(&mut self, f: impl Fn(u8) -> bool) -> &str {
        let start = self.i;
        while self.peek().is_some_and(&f) {
            self.i += 1;
        }
        // Only ASCII bytes pass the predicates used here.
        std::str::from_utf8(&self.s[start..self.i]).unwrap_or("")
    }

    /// §4.2.3.3: lcalpha or `*`, then lcalpha, digits, `_ - . *`.
    fn key(&mut self) -> Option<String> {
        if !matches!(self.peek(), Some(b'a'..=b'z' | b'*')) {
            return None;
        }
        let key = self.take_while(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'.' | b'*')
        });
        Some(key.to_string())
    }

    fn params(&mut self) -> Option<()> {
        while self.eat(b';') {
            self.skip(b' ');
            self.key()?;
            if self.eat(b'=') {
                self.bare_item()?;
            }
        }
        Some(())
    }

    fn inner_list(&mut self) -> Option<()> {
        self.eat(b'(');
        loop {
            self.skip(b' ');
            if self.eat(b')') {
                return self.params();
            }
            self.bare_item()?;
            self.params()?;
            if !matches!(self.peek(), Some(b' ' | b')')) {
                return None;
            }
        }
    }

    /// §4.2.3.1.
    fn bare_item(&mut self) -> Option<Item> {
        match self.peek()? {
            b'-' | b'0'..=b'9' => self.number(),
            b'"' => self.string(),
            b'?' => {
                self.i += 1;
                let v = match self.peek()? {
                    b'0' => false,
                    b'1' => true,
                    _ => return None,
                };
                self.i += 1;
                Some(Item::Bool(v))
            }
            b':' => {
                self.i += 1;
                self.take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
                self.eat(b':').then_some(Item::Other)
            }
            b'*' | b'A'..=b'Z' | b'a'..=b'z' => {
                self.take_while(|b| crate::http::text::is_tchar(b) || matches!(b, b':' | b'/'));
                Some(Item::Other)
            }
            _ => None,
        }
    }

    /// §4.2.4: an Integer (at most 15 digits) or a Decimal.
    fn number(&mut self) -> Option<Item> {
        let negative = self.eat(b'-');
        let int = self.take_while(|b| b.is_ascii_digit()).to_string();
        if int.is_empty() || int.len() > 15 {
            return None;
        }
        if self.eat(b'.') {
            let frac = self.take_while(|b| b.is_ascii_digit());
            if int.len() > 12 || frac.is_empty() || frac.len() > 3 {
                return None;
            }
            return Some(Item::Other);
        }
        let n: i64 = int.parse().ok()?;
        Some(Item::Integer(if negative { -n } else { n }))
    }

    /// §4.2.5: printable ASCII; `\` escapes only `"` and `\`.
    fn string(&mut self) -> Option<Item> {
        self.eat(b'"');
        let mut out = String::new();
        loop {
            let b = self.peek()?;
            self.i += 1;
            match b {
                b'\\' => {
                    let e = self.peek()?;
                    if e != b'"' && e != b'\\' {
                        return None;
                    }
                    self.i += 1;
                    out.push(char::from(e));
                }
                b'"' => return Some(Item::String(out)),
                0x20..=0x7e => out.push(char::from(b)),
                _ => return None,
            }
        }
    }
}
