//! The responses the core hands the platform: finished headers
//! (`Cache-Status` with its detail rule applied) and where the body comes
//! from. The worker's own answers (errors, refusals, receipts) are built
//! here, so no header name or status is chosen in the glue.

use super::fetched::{origin_failure, FetchError};
use super::platform::{IoError, Platform, Reply, Source};
use crate::http::cache_status::{CacheStatus, Detail, Fwd};
use crate::http::headers::Headers;
use crate::response::coding::BodyCoding;
use crate::response::delivery::{BodyPart, Delivery};

/// The response field carrying [`CacheStatus`] (RFC 9211).
pub const CACHE_STATUS: &str = "cache-status";

/// The reply to a request, or an I/O error the platform answers with its
/// own 500 (logged).
pub type Replied<P> = Result<Reply<<P as Platform>::Body, <P as Platform>::Whole>, IoError>;

/// `headers` with `cs` appended as `Cache-Status`.
pub fn with_cache_status(mut headers: Headers, cs: &CacheStatus) -> Headers {
    headers.append(CACHE_STATUS, &cs.to_string());
    headers
}

/// The `Cache-Status` of an answer to a lookup that missed: `detail` (why the
/// stored entry, if any, was not used) is said only when the answer is
/// stored, where it explains the new entry; an answer that is not stored
/// already carries its own reason.
pub fn miss_status(cs: CacheStatus, detail: Option<Detail>, stored: bool) -> CacheStatus {
    match detail {
        Some(d) if stored => cs.detail(d),
        _ => cs,
    }
}

/// A whole response from the worker itself: `status`, `headers`, `body`.
pub fn local<B, W>(status: u16, headers: Headers, body: Vec<u8>) -> Reply<B, W> {
    Reply {
        delivery: Delivery {
            status,
            headers,
            body: BodyPart::Whole,
            coding: BodyCoding::AsStored,
        },
        source: Source::Bytes(body),
    }
}

/// A short plain-text answer from the worker, never stored anywhere.
pub fn plain<B, W>(status: u16, message: &str, cache_status: &CacheStatus) -> Reply<B, W> {
    reject(status, message, cache_status, None)
}

/// [`plain`] with the `Allow` of a 405 (`Plan::Reject::allow`) first.
pub fn reject<B, W>(
    status: u16,
    message: &str,
    cache_status: &CacheStatus,
    allow: Option<&str>,
) -> Reply<B, W> {
    let mut h = Headers::new();
    if let Some(a) = allow {
        h.append("allow", a);
    }
    h.append("content-type", "text/plain; charset=utf-8");
    h.append("cache-control", "no-store");
    h.append(CACHE_STATUS, &cache_status.to_string());
    local(status, h, format!("{message}\n").into_bytes())
}

/// [`plain`] with `extra` fields added (`Allow` on a 405, `Retry-After`).
pub fn plain_with<B, W>(
    status: u16,
    message: &str,
    cache_status: &CacheStatus,
    extra: &[(&str, &str)],
) -> Reply<B, W> {
    let mut r = plain(status, message, cache_status);
    for (name, value) in extra {
        r.delivery.headers.append(name, value);
    }
    r
}

/// A JSON body from the worker (receipts, explain), never stored.
pub fn json<B, W>(
    status: u16,
    body: Vec<u8>,
    cache_status: &CacheStatus,
    extra: &[(&str, &str)],
) -> Reply<B, W> {
    let mut h = Headers::new();
    h.append("content-type", "application/json");
    h.append("cache-control", "no-store");
    h.append(CACHE_STATUS, &cache_status.to_string());
    for (name, value) in extra {
        h.append(name, value);
    }
    local(status, h, body)
}

/// The answer to every request while the `EDGECACHE` config is invalid
/// (the reason is in the worker's log).
pub fn config_invalid<B, W>() -> Reply<B, W> {
    let cs = CacheStatus::forward(Fwd::Bypass).detail(Detail::ConfigInvalid);
    plain(
        500,
        "edgecache: configuration invalid (see the worker log)",
        &cs,
    )
}

/// A reserved path (`/__edgecache/…`) the worker has no endpoint for.
pub fn reserved_not_found<B, W>() -> Reply<B, W> {
    let cs = CacheStatus::forward(Fwd::Bypass).detail(Detail::ReservedPath);
    plain(404, "not found", &cs)
}

/// The worker's own 502/504 when the origin gave no answer
/// ([`origin_failure`] decides which), logged with `why`.
pub fn origin_failed<P: Platform>(
    platform: &P,
    error: FetchError,
    why: &str,
    cs: CacheStatus,
) -> Reply<P::Body, P::Whole> {
    let f = origin_failure(error);
    platform.log(
        "origin_failed",
        serde_json::json!({ "status": f.status, "error": why }),
    );
    plain(f.status, f.message, &f.cache_status(cs))
}

/// The purge writer's answer to a hand-off it recorded: its `Stored` as JSON.
pub fn writer_stored<B, W>(json_text: String) -> Reply<B, W> {
    let cs = CacheStatus::forward(Fwd::Bypass).detail(Detail::Purge);
    json(200, json_text.into_bytes(), &cs, &[])
}

/// The purge writer's answer when too many names wait: 503, `Retry-After`.
pub fn writer_full<B, W>(retry_after: u64) -> Reply<B, W> {
    let cs = CacheStatus::forward(Fwd::Bypass).detail(Detail::Purge);
    let secs = retry_after.to_string();
    plain_with(503, "purge writer full", &cs, &[("retry-after", &secs)])
}

/// The purge writer's answer to a body that is not a hand-off.
pub fn writer_bad_handoff<B, W>() -> Reply<B, W> {
    let cs = CacheStatus::forward(Fwd::Bypass).detail(Detail::Purge);
    plain(400, "bad handoff", &cs)
}
