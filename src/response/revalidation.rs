//! Revalidating a stored response with the origin (RFC 9111 §4.3): which
//! validator the conditional request carries, whether a 304 answers for the
//! stored response, and the stored header fields after it (§3.2, §4.3.4).
//!
//! The headers here are the origin's fields as stored (no internal fields;
//! the flow layer takes those off and puts them back).

use crate::http::date;
use crate::http::fields::{connection_nominated, HOP_BY_HOP};
use crate::http::headers::Headers;
use crate::response::conditional::EntityTag;

/// The validator a conditional request to the origin carries (RFC 9111
/// §4.3.1): the stored `ETag` as `If-None-Match`, else the stored
/// `Last-Modified` as `If-Modified-Since`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Validator {
    ETag(String),
    LastModified(String),
}

impl Validator {
    /// The request header field and its value.
    pub fn header(&self) -> (&'static str, &str) {
        match self {
            Validator::ETag(v) => ("if-none-match", v),
            Validator::LastModified(v) => ("if-modified-since", v),
        }
    }
}

/// The validator of a stored response, if it has a usable one: exactly one
/// well-formed `ETag`, else exactly one `Last-Modified` that is an HTTP-date.
/// A malformed field is not sent (a request the origin cannot evaluate would
/// only ever answer 200).
pub fn validator(stored: &Headers) -> Option<Validator> {
    if let Some(etag) = single(stored, "etag") {
        if EntityTag::parse(etag).is_some() {
            return Some(Validator::ETag(etag.to_string()));
        }
    }
    let lm = single(stored, "last-modified")?;
    date::parse(lm).map(|_| Validator::LastModified(lm.to_string()))
}

fn single<'a>(h: &'a Headers, name: &'a str) -> Option<&'a str> {
    let mut all = h.get_all(name);
    match (all.next(), all.next()) {
        (Some(v), None) => Some(v.trim()),
        _ => None,
    }
}

/// Whether a 304 answers for the stored response (RFC 9111 §4.3.4): when it
/// carries an `ETag`, the stored one must be the same entity-tag (weak
/// comparison: the request may have named a weak one); without one, a
/// `Last-Modified` it carries must equal the stored one when there is one.
/// A 304 with no validator answers for the one stored response asked about.
pub fn not_modified_matches(stored: &Headers, not_modified: &Headers) -> bool {
    if let Some(new) = single(not_modified, "etag") {
        let old = single(stored, "etag").and_then(EntityTag::parse);
        return match (EntityTag::parse(new), old) {
            (Some(new), Some(old)) => new.opaque == old.opaque,
            _ => false,
        };
    }
    match (
        single(not_modified, "last-modified").and_then(date::parse),
        single(stored, "last-modified").and_then(date::parse),
    ) {
        (Some(new), Some(old)) => new == old,
        _ => true,
    }
}

/// Fields a 304 never replaces in the stored response (RFC 9111 §3.2): they
/// describe the stored body, which the 304 does not carry (`Content-Length`,
/// and the coding, type and range of the stored bytes), or they are not
/// stored at all (hop-by-hop fields, `Set-Cookie`; §3.1).
pub const NOT_UPDATED: &[&str] = &[
    "content-length",
    "content-encoding",
    "content-type",
    "content-range",
    "set-cookie",
];

/// The stored response's fields after a 304 (RFC 9111 §3.2): every field the
/// 304 carries replaces the stored field of that name (all its lines), except
/// [`NOT_UPDATED`], hop-by-hop fields, those its `Connection` names, and
/// `internal` ones (names starting with that prefix). `Cache-Control`,
/// `Expires`, `Date`, `ETag` and `Last-Modified` from the 304 thus give the
/// stored response its new freshness.
pub fn merge_not_modified(stored: &Headers, not_modified: &Headers, internal: &str) -> Headers {
    let nominated = connection_nominated(not_modified);
    let updates: Vec<(&str, &str)> = not_modified
        .iter()
        .filter(|(n, _)| {
            !NOT_UPDATED.contains(n)
                && !HOP_BY_HOP.contains(n)
                && !nominated.iter().any(|x| x == n)
                && !n.starts_with(internal)
        })
        .collect();
    let mut out: Headers = stored
        .iter()
        .filter(|(n, _)| !updates.iter().any(|(u, _)| u == n))
        .collect();
    for (n, v) in updates {
        out.append(n, v);
    }
    out
}
