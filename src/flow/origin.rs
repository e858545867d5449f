//! What to do with an origin answer to a lookup that missed: store it or not,
//! and the headers of the client's copy and of the stored copy.

use super::entry::{stored_headers, tag_entry, STORED_AS};
use super::plan::Lookup;
use super::stored::{client_headers, debug_key};
use crate::config::Config;
use crate::config::{Route, RouteKind};
use crate::http::cache_status::{CacheStatus, Detail, Fwd};
use crate::http::headers::Headers;
use crate::http::method::Method;
use crate::http::time::{UnixMillis, UnixSecs};
use crate::purge::generations::{Generations, Stamp};
use crate::response::age::{forwarded_age, ForwardedAge};
use crate::response::freshness::StoredMeta;
use crate::response::store::{
    decide_store, NotStoredReason, OriginResponse, RequestFacts, StoreDecision,
};

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

/// When the origin fetch started, and the purge marks read before it.
#[derive(Debug, Clone, Copy)]
pub struct FetchStart<'a> {
    /// Taken *before* the origin fetch (see [`crate::purge::generations`]: a
    /// purge landing during the fetch must invalidate it).
    pub at: UnixMillis,
    /// Values of generation names whose reads finished before the fetch
    /// started (the stored half's reads, or the memo's): recorded in the
    /// stamp so that a hit can prove a name unpurged by equality. Never
    /// values read during or after the fetch.
    pub seen: &'a Generations,
}

impl FetchStart<'static> {
    /// A fetch start with no values recorded (every name keeps the time rule).
    pub fn unrecorded(at: UnixMillis) -> FetchStart<'static> {
        static NONE: Generations = Generations::new();
        FetchStart { at, seen: &NONE }
    }
}

/// Decides whether an origin answer is stored, and the headers of both copies.
pub fn on_origin(
    config: &Config,
    lookup: &Lookup,
    status: u16,
    origin_headers: &Headers,
    start: FetchStart,
    now: UnixSecs,
) -> OriginDecision {
    let forwarded = CacheStatus::forward(Fwd::Miss).fwd_status(status);
    decide(
        config,
        lookup,
        status,
        origin_headers,
        start,
        now,
        forwarded,
    )
}

/// [`on_origin`] for a response with `status` and `origin_headers` (an
/// origin answer, or a stored one a 304 updated), its `Cache-Status` built on
/// `forwarded` (`fwd` and `fwd-status`).
pub(super) fn decide(
    config: &Config,
    lookup: &Lookup,
    status: u16,
    origin_headers: &Headers,
    start: FetchStart,
    now: UnixSecs,
    forwarded: CacheStatus,
) -> OriginDecision {
    let facts = RequestFacts {
        // A HEAD miss is fetched from the origin as GET, so it can fill the GET entry.
        method: Method::Get,
        path: &lookup.path,
        has_credentials: lookup.has_credentials,
        has_body: false,
        is_range: false,
    };
    let route = lookup.route();
    // RFC 9111 §4.2.3 `response_delay`: whole seconds from the fetch's start
    // to `now` (rounded down, so never more than it took).
    let response_delay = now.to_millis().saturating_sub(start.at) / 1000;
    let mut client = client_headers(config, route, origin_headers);
    add_age(
        &mut client,
        origin_headers,
        forwarded_age(origin_headers, response_delay, now),
    );
    let key = debug_key(config, lookup);
    let not_stored = |detail: Detail| OriginDecision {
        client: client.clone(),
        cache_status: forwarded.clone().key(key).detail(detail),
        store: None,
    };
    if !super::client_cc::may_store(lookup) {
        return not_stored(Detail::from(&NotStoredReason::RequestNoStore));
    }
    let resp = OriginResponse {
        status,
        headers: origin_headers,
        response_delay,
    };
    let plan = match decide_store(route, &config.tag_headers, &facts, &resp, now) {
        StoreDecision::Store(plan) => plan,
        StoreDecision::DontStore(reason) => return not_stored(Detail::from(&reason)),
    };
    let too_big = origin_headers
        .content_length()
        .is_some_and(|n| n > MAX_CACHE_OBJECT_BYTES);
    if too_big {
        return not_stored(Detail::TooLarge);
    }
    if route.kind == RouteKind::Media && origin_headers.contains("content-range") {
        return not_stored(Detail::from(&NotStoredReason::PartialContent));
    }
    let Ok(mut stamp) = Stamp::new(start.at, &plan.tags) else {
        return not_stored(Detail::TooManyTags);
    };
    let names = lookup.names(&stamp);
    stamp.record_seen(&names, start.seen);
    let meta = StoredMeta::new(now, &plan);
    let mut stored = stored_headers(origin_headers, &plan, &meta, &stamp, status);
    tag_entry(&mut stored, &names); // its purge names as `Cache-Tag`
                                    // `private="Set-Cookie"` (RFC 9111 §5.2.2.7) forbids *storing* the field; this
                                    // answer is the origin's reply to this very client, so it keeps the field.
                                    // No `stored` (RFC 9211 §2.6: the cache *did* store it): the copy is
                                    // written from a tee of the body after these fields leave, and may yet
                                    // fail (a body that ends short, a refused put). A `ttl` without a
                                    // `detail` says a copy is being written; the outcome is logged
                                    // (`glue::store`) and the next request's `hit` shows it.
    OriginDecision {
        client,
        cache_status: forwarded
            .ttl(i64::try_from(plan.ttl).unwrap_or(i64::MAX))
            .key(key),
        store: Some(StoredCopy {
            status: STORED_AS,
            headers: stored,
        }),
    }
}

/// The client's headers for an origin answer on a cached route that the
/// worker forwards without the cache (purge generations unreadable: nothing
/// read from or written to it). The worker is no cache for that exchange, so
/// like a pass-through it sends the origin's `Age` as received (docs/caching.md,
/// "Age").
pub fn uncached_client_headers(
    config: &Config,
    route: &Route,
    origin_headers: &Headers,
) -> Headers {
    let mut client = client_headers(config, route, origin_headers);
    add_age(&mut client, origin_headers, ForwardedAge::AsReceived);
    client
}

/// Appends to `client` the `Age` that `age` says (its lines from `origin`
/// when [`ForwardedAge::AsReceived`]).
fn add_age(client: &mut Headers, origin: &Headers, age: ForwardedAge) {
    match age {
        ForwardedAge::Absent => {}
        ForwardedAge::Seconds(s) => client.append("age", &s.to_string()),
        ForwardedAge::AsReceived => {
            for line in origin.get_all("age") {
                client.append("age", line);
            }
        }
    }
}
