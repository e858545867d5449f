//! Request `Cache-Control` directives (RFC 9111 §5.2.1): the ones a shared
//! cache acts on. What edgecache does with them is decided in
//! `flow::client_cc` (some are honoured only when a route opts in).

use crate::http::cache_control::{parse_delta_seconds, split_directives};
use crate::http::headers::Headers;

/// The client's request directives, from every `Cache-Control` line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestCacheControl {
    /// `no-store` (§5.2.1.5): store no part of the response to this request.
    pub no_store: bool,
    /// `no-cache` (§5.2.1.4): do not use a stored response without validating it.
    pub no_cache: bool,
    /// `max-age=N` (§5.2.1.1): prefer a response no older than N seconds. An
    /// invalid argument reads as `0`, as in the response parser.
    pub max_age: Option<u64>,
    /// `only-if-cached` (§5.2.1.7): answer from the cache or 504, never ask the origin.
    pub only_if_cached: bool,
}

impl RequestCacheControl {
    /// Parses the request's `Cache-Control` lines (names case-insensitive;
    /// `Pragma` is not read: RFC 9111 §5.4 deprecates it).
    pub fn from_headers(headers: &Headers) -> Self {
        let mut out = RequestCacheControl::default();
        for line in headers.get_all("cache-control") {
            for d in split_directives(line) {
                match d.name.as_str() {
                    "no-store" => out.no_store = true,
                    "no-cache" => out.no_cache = true,
                    "only-if-cached" => out.only_if_cached = true,
                    "max-age" => {
                        let v = d
                            .argument
                            .as_deref()
                            .and_then(parse_delta_seconds)
                            .unwrap_or(0);
                        // Several occurrences: the smallest (the strictest) counts.
                        out.max_age = Some(out.max_age.map_or(v, |m| m.min(v)));
                    }
                    _ => {}
                }
            }
        }
        out
    }
}
