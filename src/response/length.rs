//! The exact byte length of a stored body, when its fields state it.

use crate::http::headers::Headers;

/// The length of the body as a client receives it: one valid `Content-Length`
/// and no content coding other than `identity` (a coded body's
/// `Content-Length` counts the coded bytes, which the runtime decodes and may
/// code again). `None` when unknown: the body is sent without a stated length.
pub fn identity_length(headers: &Headers) -> Option<u64> {
    let coded = headers
        .get_all("content-encoding")
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|c| !c.is_empty() && !c.eq_ignore_ascii_case("identity"));
    if coded {
        return None;
    }
    let mut lengths = headers.get_all("content-length");
    let (Some(len), None) = (lengths.next(), lengths.next()) else {
        return None;
    };
    let len = len.trim();
    if len.is_empty() || !len.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    len.parse().ok()
}
