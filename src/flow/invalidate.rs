//! What an unsafe request's answer invalidates in this data centre (RFC 9111
//! §4.4), once it is known: the target URI after any non-error answer (2xx
//! and 3xx), and the URIs in `Location` and `Content-Location` when they are
//! on the request's host ("a cache MUST NOT invalidate a URI from a Location
//! or Content-Location response header field if the host part of that URI
//! differs from the host part in the target URI": an origin must not be able
//! to evict another host's entries). Relative references are resolved
//! against the request URL. Each is keyed as a GET of that URL with the
//! request's headers, as the target is (`plan::Invalidation`).

use super::plan::{unsafe_invalidation, Incoming, Invalidation};
use crate::config::Config;
use crate::http::headers::Headers;

/// The invalidations to perform after the origin answered `status` with
/// `response` headers to `inc`, an unsafe request whose plan named `pending`
/// (`None`: not on a cached route, or a safe method: nothing). Empty after an
/// error (4xx, 5xx) or an interim status.
pub fn after_answer(
    config: &Config,
    inc: &Incoming,
    pending: Option<Invalidation>,
    status: u16,
    response: &Headers,
) -> Vec<Invalidation> {
    let Some(target) = invalidation(pending, status) else {
        return Vec::new();
    };
    let mut out = vec![target];
    let Ok(base) = url::Url::parse(inc.url) else {
        return out;
    };
    for name in ["location", "content-location"] {
        let Some(value) = response.get(name) else {
            continue;
        };
        let Ok(resolved) = base.join(value.trim()) else {
            continue;
        };
        if resolved.host_str() != base.host_str() {
            continue;
        }
        let related = Incoming {
            url: resolved.as_str(),
            ..*inc
        };
        if let Some(inv) = unsafe_invalidation(config, &related) {
            if !out.contains(&inv) {
                out.push(inv);
            }
        }
    }
    out
}

/// For a pass-through that named what to invalidate (`plan::Plan::Pass`),
/// whether to once the origin answered `status`: any non-error answer does
/// (RFC 9111 §4.4: "a non-error status code (in the 2xx or 3xx range)"); an
/// error changed nothing.
pub fn invalidation(pending: Option<Invalidation>, status: u16) -> Option<Invalidation> {
    pending.filter(|_| (200..400).contains(&status))
}
