//! The request flow as pure decisions: what to do with an incoming request, with
//! a stored entry, and with an origin answer. The wasm glue performs the I/O
//! each step names (cache get/put, KV reads, origin fetch) and nothing else.
//!
//! ```text
//! plan() ─► Reserved | Reject | Pass | Lookup
//! Lookup: cache.get(key) ─► on_stored() ─► Serve | Revalidate(serve stale) | Miss | Unverifiable
//!         miss: fetch origin_url with origin_headers ─► on_origin() ─► client headers + optional store
//! ```
//!
//! HAZARD: every header added to stored entries under `x-edgecache-` is internal
//! and must be stripped before a response leaves the worker ([`client_headers`]).

use crate::cache_control::CacheControl;
use crate::cache_status::{CacheStatus, Fwd};
use crate::config::{Config, Route, RouteKind};
use crate::freshness::{
    downstream_cache_control, freshness, remaining_ttl, Freshness, StoredMeta, META_HEADER,
};
use crate::generations::{
    is_current, request_names, Currency, GenName, Generations, Stamp, STAMP_HEADER,
};
use crate::headers::Headers;
use crate::key::{cache_key_parsed, CacheKey, KeyOutcome, KeyRequest};
use crate::policy::{decide_store, OriginResponse, RequestFacts, RequestMethod, StoreDecision};
use crate::request_policy::check_limits;

/// Reserved path prefix: never forwarded to the origin, never cached.
pub const RESERVED_PREFIX: &str = "/__edgecache/";
/// The origin's own `Cache-Control`, kept on stored entries (the stored copy's
/// `Cache-Control` is rewritten for the Cache API's expiry).
pub const ORIGIN_CC_HEADER: &str = "x-edgecache-origin-cc";
/// The origin's status, kept on stored entries. Every entry is stored as a 200:
/// the Cache API (and Miniflare's, which follows RFC 9111's list of understood
/// statuses) silently refuses to store some statuses (503...) that a route's
/// `status_ttl` may name, so the real status travels in this header.
pub const STATUS_HEADER: &str = "x-edgecache-status";
/// Status of every object handed to the Cache API (see [`STATUS_HEADER`]).
pub const STORED_AS: u16 = 200;
/// Prefix of every internal header.
const INTERNAL_PREFIX: &str = "x-edgecache-";

/// What the glue knows about a request before any I/O.
#[derive(Debug, Clone, Copy)]
pub struct Incoming<'a> {
    pub method: &'a str,
    pub url: &'a str,
    pub headers: &'a Headers,
    /// The request has a body (`Content-Length` > 0 or `Transfer-Encoding`).
    pub has_body: bool,
    /// Secret for per-user key HMACs (`EDGECACHE_KEY_SECRET`).
    pub user_secret: Option<&'a [u8]>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reserved {
    Purge,
    Explain,
    NotFound,
}

/// The first decision on every request.
#[derive(Debug)]
pub enum Plan<'c> {
    /// `/__edgecache/...`: handled by the worker itself.
    Reserved(Reserved),
    /// Answered by the worker with this status and message; never forwarded, never stored.
    Reject {
        status: u16,
        message: String,
        cache_status: CacheStatus,
    },
    /// Forward the client's request ([`pass_headers`]); nothing read from or
    /// written to the cache.
    Pass {
        cache_status: CacheStatus,
        /// An unsafe method on a cached route: a 2xx answer invalidates this base
        /// key URL (RFC 9111 §4.4).
        invalidate: Option<String>,
        /// Forward the request body. False for GET and HEAD: the Fetch API cannot
        /// send a body with them, so a GET with a body goes forward without it
        /// (and, being uncached, its answer reaches only this client).
        forward_body: bool,
    },
    /// Cacheable: look the key up.
    Lookup(Box<Lookup<'c>>),
}

#[derive(Debug)]
pub struct Lookup<'c> {
    pub key: CacheKey<'c>,
    pub head: bool,
    /// Absolute origin URL: the origin base plus the canonical path and query,
    /// so the origin sees exactly what was keyed.
    pub origin_url: String,
    /// Only the keyed headers (declared `vary`, credentials on per-user routes).
    pub origin_headers: Headers,
    pub host: String,
    pub path: String,
    pub has_credentials: bool,
}

impl Lookup<'_> {
    pub fn route(&self) -> &Route {
        self.key.route
    }

    /// Generation names that apply to an entry of this key carrying `stamp`.
    pub fn names(&self, stamp: &Stamp) -> Vec<GenName> {
        let mut tags = self.key.tags().into_owned();
        tags.extend(stamp.tags().iter().cloned());
        request_names(&self.host, &self.path, self.key.base_url(), &tags)
    }
}

/// Decides what to do with a request before any I/O.
pub fn plan<'c>(config: &'c Config, inc: &Incoming) -> Plan<'c> {
    let parsed = url::Url::parse(inc.url).ok();
    let path = parsed.as_ref().map(|u| u.path()).unwrap_or("");
    if let Some(rest) = path.strip_prefix(RESERVED_PREFIX) {
        return Plan::Reserved(match rest {
            "purge" => Reserved::Purge,
            "explain" => Reserved::Explain,
            _ => Reserved::NotFound,
        });
    }
    let param_count = parsed
        .as_ref()
        .and_then(|u| u.query())
        .map(crate::query::count_params)
        .unwrap_or(0);
    if let Err(v) = check_limits(inc.url.len(), param_count, inc.headers, &config.limits) {
        return Plan::Reject {
            status: v.status(),
            message: v.message().to_string(),
            cache_status: CacheStatus::forward(Fwd::Bypass).detail("limits"),
        };
    }
    let req = KeyRequest {
        method: inc.method,
        url: inc.url,
        headers: inc.headers,
        user_secret: inc.user_secret,
    };
    let outcome = match cache_key_parsed(config, &req, parsed.as_ref()) {
        Ok(o) => o,
        Err(e) => {
            return Plan::Reject {
                status: 400,
                message: e.to_string(),
                cache_status: CacheStatus::forward(Fwd::Bypass).detail("bad_request"),
            }
        }
    };
    // Not `has_body`: an HTTP/2 request body may come without `Content-Length`.
    let forward_body = !matches!(inc.method, "GET" | "HEAD");
    match outcome {
        KeyOutcome::NoRoute => Plan::Pass {
            cache_status: CacheStatus::forward(Fwd::UriMiss).detail("no_route"),
            invalidate: None,
            forward_body,
        },
        KeyOutcome::Bypass { route, reason } => {
            let unsafe_method = !matches!(inc.method, "GET" | "HEAD" | "OPTIONS" | "TRACE");
            let invalidate = match (route, unsafe_method) {
                (Some(_), true) => crate::key::normalize_url_for_purge(config, inc.url)
                    .ok()
                    .map(|(_, base)| base),
                _ => None,
            };
            let fwd = if reason == crate::key::BypassReason::Method {
                Fwd::Method
            } else {
                Fwd::Bypass
            };
            Plan::Pass {
                cache_status: CacheStatus::forward(fwd).detail(reason.as_str()),
                invalidate,
                forward_body,
            }
        }
        KeyOutcome::Cache(key) => {
            if inc.has_body {
                // A GET with a body: the body is not in the key, so it must not shape an entry.
                return Plan::Pass {
                    cache_status: CacheStatus::forward(Fwd::Bypass).detail("request_body"),
                    invalidate: None,
                    forward_body,
                };
            }
            let origin = config.origin.as_str().trim_end_matches('/');
            let origin_url = format!("{origin}{}", key.origin_path_and_query());
            let origin_headers = crate::variant::origin_headers(key.route, inc.headers);
            let (host, path) = (key.host().to_string(), key.path().to_string());
            let has_credentials =
                !crate::variant::present_credentials(key.route, inc.headers).is_empty();
            Plan::Lookup(Box::new(Lookup {
                head: inc.method == "HEAD",
                origin_url,
                origin_headers,
                host,
                path,
                has_credentials,
                key,
            }))
        }
    }
}

/// Headers sent to the origin on pass-through: the client's, minus hop-by-hop
/// fields and the host/path/method-rewriting ones
/// ([`crate::request_policy::POISONING_HEADERS`]: the answer is not stored, but
/// the origin should never be steered by them), minus `Host` (the fetch sets
/// the origin's), and minus the body framing when the body is not forwarded.
pub fn pass_headers(incoming: &Headers, forward_body: bool) -> Headers {
    let names: Vec<String> = incoming.iter().map(|(n, _)| n.to_string()).collect();
    let mut out = crate::request_policy::forwarded_headers(incoming, &names);
    out.remove("host");
    if !forward_body {
        out.remove("content-length");
        out.remove("content-type");
    }
    out
}

/// What to do with an entry found in the cache.
#[derive(Debug)]
pub enum StoredDecision {
    /// Serve it; `revalidate` = stale-while-revalidate: also refresh it in the background.
    Serve {
        /// The origin's status when stored.
        status: u16,
        headers: Headers,
        cache_status: CacheStatus,
        revalidate: bool,
    },
    /// Not usable: go to the origin. `stale_if_error` = it may still answer if the origin fails.
    Miss {
        detail: &'static str,
        stale_if_error: bool,
    },
    /// Its generations could not be read: never serve it, pass through (fail safe).
    Unverifiable,
}

/// The parts of a stored entry the decision needs, parsed once.
#[derive(Debug)]
pub struct StoredEntry {
    pub meta: StoredMeta,
    pub stamp: Stamp,
    /// The origin's status (from [`STATUS_HEADER`]).
    pub status: u16,
}

impl StoredEntry {
    /// `None` when the internal headers are missing or garbled: treat as a miss.
    pub fn parse(headers: &Headers) -> Option<StoredEntry> {
        Some(StoredEntry {
            meta: StoredMeta::from_header_value(headers.get(META_HEADER)?)?,
            stamp: Stamp::parse(headers.get(STAMP_HEADER)?)?,
            status: headers
                .get(STATUS_HEADER)?
                .parse()
                .ok()
                .filter(|s| (200..=599).contains(s))?,
        })
    }
}

/// Decides on a stored entry given the current generations of its names.
pub fn on_stored(
    config: &Config,
    lookup: &Lookup,
    entry: &StoredEntry,
    stored_headers: &Headers,
    generations: &Generations,
    now: u64,
) -> StoredDecision {
    let names = lookup.names(&entry.stamp);
    let skew_ms = config.purge.clock_skew.saturating_mul(1000);
    match is_current(&entry.stamp, &names, generations, skew_ms) {
        Currency::Current => {}
        Currency::Moved { .. } => {
            return StoredDecision::Miss {
                detail: "purged",
                stale_if_error: false,
            }
        }
        Currency::Unknown { .. } => return StoredDecision::Unverifiable,
    }
    let (revalidate, age) = match freshness(&entry.meta, now) {
        Freshness::Fresh { age } => (false, age),
        Freshness::StaleWhileRevalidate { age } => (true, age),
        Freshness::StaleIfErrorOnly { .. } => {
            return StoredDecision::Miss {
                detail: "expired",
                stale_if_error: true,
            }
        }
        Freshness::Expired { .. } => {
            return StoredDecision::Miss {
                detail: "expired",
                stale_if_error: false,
            }
        }
    };
    let mut headers = client_headers(lookup.route(), stored_headers);
    headers.append("age", &age.to_string());
    let ttl = remaining_ttl(&entry.meta, now);
    let mut status = CacheStatus::hit().ttl(ttl).key(debug_key(config, lookup));
    if revalidate {
        status = status.detail("stale_while_revalidate");
    }
    StoredDecision::Serve {
        status: entry.status,
        headers,
        cache_status: status,
        revalidate,
    }
}

/// A stored entry served because the origin failed inside its stale-if-error window.
pub fn stale_on_error(
    config: &Config,
    lookup: &Lookup,
    entry: &StoredEntry,
    stored_headers: &Headers,
    now: u64,
    origin_failure: &str,
) -> (Headers, CacheStatus) {
    let mut headers = client_headers(lookup.route(), stored_headers);
    headers.append("age", &freshness(&entry.meta, now).age().to_string());
    let status = CacheStatus::forward(Fwd::Stale)
        .ttl(remaining_ttl(&entry.meta, now))
        .key(debug_key(config, lookup))
        .detail(origin_failure);
    (headers, status)
}

fn debug_key<'a>(config: &Config, lookup: &'a Lookup) -> Option<&'a str> {
    config.debug.then_some(lookup.key.url())
}

/// The stored (or origin) headers as a client may see them: internal headers
/// removed, `Cache-Control` as configured for browsers.
pub fn client_headers(route: &Route, stored: &Headers) -> Headers {
    let origin_cc = stored
        .get(ORIGIN_CC_HEADER)
        .map(str::to_string)
        .or_else(|| stored.get_joined("cache-control"));
    let mut out: Headers = stored
        .iter()
        .filter(|(n, _)| {
            // `cf-cache-status` is added by the Cache API on `match`; ours is `Cache-Status`.
            !n.starts_with(INTERNAL_PREFIX)
                && !matches!(*n, "cache-control" | "age" | "cf-cache-status")
        })
        .collect();
    if let Some(cc) = downstream_cache_control(route, origin_cc.as_deref()) {
        out.append("cache-control", &cc);
    }
    out
}

/// What to do with an origin answer to a lookup that missed.
#[derive(Debug)]
pub struct OriginDecision {
    /// Headers for the client's response.
    pub client: Headers,
    pub cache_status: CacheStatus,
    /// The stored copy (its body is a tee of the client's), when storing.
    pub store: Option<StoredCopy>,
}

/// The response handed to the Cache API: always status [`STORED_AS`]; the
/// origin's status is in [`STATUS_HEADER`].
#[derive(Debug)]
pub struct StoredCopy {
    pub status: u16,
    pub headers: Headers,
}

/// Largest body the Workers Cache API stores (512 MB on every plan at the time of
/// writing: <https://developers.cloudflare.com/workers/platform/limits/#cache-api-limits>).
pub const MAX_CACHE_OBJECT_BYTES: u64 = 512 * 1024 * 1024;

/// Decides whether an origin answer is stored, and the headers of both copies.
/// `fetch_started_ms` is the time taken *before* the origin fetch (see
/// [`crate::generations`]: a purge landing during the fetch must invalidate it).
pub fn on_origin(
    config: &Config,
    lookup: &Lookup,
    status: u16,
    origin_headers: &Headers,
    fetch_started_ms: u64,
    now: u64,
) -> OriginDecision {
    let facts = RequestFacts {
        // A HEAD miss is fetched from the origin as GET, so it can fill the GET entry.
        method: RequestMethod::Get,
        path: &lookup.path,
        has_credentials: lookup.has_credentials,
        has_body: false,
        is_range: false,
    };
    let route = lookup.route();
    let client = client_headers(route, origin_headers);
    let key = debug_key(config, lookup);
    let not_stored = |detail: &str| OriginDecision {
        client: client.clone(),
        cache_status: CacheStatus::forward(Fwd::Miss)
            .fwd_status(status)
            .key(key)
            .detail(detail),
        store: None,
    };
    let resp = OriginResponse {
        status,
        headers: origin_headers,
    };
    let plan = match decide_store(route, &config.tag_headers, &facts, &resp, now) {
        StoreDecision::Store(plan) => plan,
        StoreDecision::DontStore(reason) => return not_stored(reason.as_str()),
    };
    let too_big = origin_headers
        .content_length()
        .is_some_and(|n| n > MAX_CACHE_OBJECT_BYTES);
    if too_big {
        return not_stored("too_large");
    }
    if route.kind == RouteKind::Media && origin_headers.contains("content-range") {
        return not_stored("partial_content");
    }
    let Ok(stamp) = Stamp::new(fetch_started_ms, &plan.tags) else {
        return not_stored("too_many_tags");
    };
    let meta = StoredMeta::new(now, &plan);
    // RFC 9111 §3.1: hop-by-hop fields and those the origin's `Connection`
    // names are never stored (a stored `Transfer-Encoding` beside the length
    // of the stored body would frame a hit wrongly).
    let nominated = crate::request_policy::connection_nominated(origin_headers);
    let mut stored: Headers = origin_headers
        .iter()
        .filter(|(n, _)| {
            !crate::request_policy::HOP_BY_HOP.contains(n)
                && !nominated.iter().any(|x| x == n)
                && !n.starts_with(INTERNAL_PREFIX)
                && *n != "cache-control"
                && *n != "age"
                && *n != "set-cookie"
                && !plan.strip_headers.iter().any(|s| s.eq_ignore_ascii_case(n))
        })
        .collect();
    if let Some(cc) = origin_headers.get_joined("cache-control") {
        stored.append(ORIGIN_CC_HEADER, &cc);
    }
    // The Cache API expires the object itself; keep it through the stale windows.
    let keep = plan
        .ttl
        .saturating_add(plan.stale_while_revalidate.max(plan.stale_if_error));
    stored.append("cache-control", &format!("max-age={keep}"));
    stored.append(META_HEADER, &meta.to_header_value());
    stored.append(STAMP_HEADER, &stamp.encode());
    stored.append(STATUS_HEADER, &status.to_string());
    // `private="Set-Cookie"` (RFC 9111 §5.2.2.7) forbids *storing* the field; this
    // answer is the origin's reply to this very client, so it keeps the field.
    OriginDecision {
        client,
        cache_status: CacheStatus::forward(Fwd::Miss)
            .fwd_status(status)
            .stored()
            .ttl(i64::try_from(plan.ttl).unwrap_or(i64::MAX))
            .key(key),
        store: Some(StoredCopy {
            status: STORED_AS,
            headers: stored,
        }),
    }
}

/// `Cache-Control` parsed from stored headers (the origin's own, if kept).
pub fn stored_cache_control(stored: &Headers) -> CacheControl {
    match stored.get(ORIGIN_CC_HEADER) {
        Some(v) => CacheControl::parse(v),
        None => CacheControl::from_headers(stored),
    }
}

/// Checks `Authorization: Bearer <token>` against the configured token in
/// constant time (no early exit on the first differing byte). A missing
/// configured token refuses everything.
pub fn bearer_matches(configured: Option<&str>, authorization: Option<&str>) -> bool {
    let (Some(want), Some(got)) = (configured, authorization) else {
        return false;
    };
    let Some(got) = got.strip_prefix("Bearer ") else {
        return false;
    };
    if want.is_empty() {
        return false;
    }
    let (a, b) = (want.as_bytes(), got.trim().as_bytes());
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= usize::from(x ^ y);
    }
    diff == 0
}

/// How the cache's copy of an origin body is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyStrategy {
    /// Read whole (in JS memory, never Wasm) and put only if complete: a
    /// truncated or errored body never reaches the cache.
    Buffered { expected: Option<u64>, limit: u64 },
    /// Too large to hold: stream into `cache.put`, with a guard that errors the
    /// stream on a short body, and delete the entry if it was incomplete. Best
    /// effort: a runtime that commits what it got may briefly hold a partial
    /// entry before the delete lands.
    Streamed { expected: u64 },
}

/// Bodies up to this size are buffered for the cache's copy (4 MiB: API
/// responses; large media streams).
pub const BUFFERED_COPY_LIMIT: u64 = 4 * 1024 * 1024;

/// Chooses how to write the cache's copy from the stored `Content-Length`.
/// Unknown length (chunked) is buffered up to the limit; past it, not stored.
pub fn copy_strategy(content_length: Option<u64>) -> CopyStrategy {
    match content_length {
        Some(n) if n > BUFFERED_COPY_LIMIT => CopyStrategy::Streamed { expected: n },
        expected => CopyStrategy::Buffered {
            expected,
            limit: BUFFERED_COPY_LIMIT,
        },
    }
}
