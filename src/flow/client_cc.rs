//! What the client's request `Cache-Control` (RFC 9111 §5.2.1) may change.
//!
//! - `only-if-cached` (§5.2.1.7) is always honoured: a usable entry answers,
//!   anything else is the worker's 504 and the origin is not asked.
//! - `no-store` (§5.2.1.5) is always honoured for storing: the answer to that
//!   request is not stored (`detail=request_no_store`). It does not stop a
//!   stored entry from answering it: the directive forbids storing, not
//!   reusing, and reusing costs the origin nothing.
//! - `no-cache` (§5.2.1.4) and `max-age` (§5.2.1.1) are ignored unless the
//!   route sets `honor_request_cache_control`: any client could otherwise send
//!   them on every request and turn each one into an origin request (browsers
//!   send `max-age=0` on every reload). Cloudflare's and Fastly's caches ignore
//!   them too. When honoured, `no-cache` refuses the stored entry and `max-age=N`
//!   refuses one aged N seconds or more (ages are whole seconds, so an entry
//!   aged `N` may be up to a second older: `max-age=0` always refetches); the
//!   request then goes to the origin as a miss, and its answer is stored as usual.

use super::fetched::OriginFailure;
use super::plan::Lookup;
use crate::http::cache_status::Detail;

/// `detail=` when a stored entry was refused by the request's `no-cache` / `max-age`.
pub const REQUEST_CACHE_CONTROL: Detail = Detail::Reason("request_cache_control");

/// `detail=` of the 504 answered to `only-if-cached` without a usable entry.
pub const ONLY_IF_CACHED: Detail = Detail::Reason("only_if_cached");

/// The details this module adds (for the token tests).
pub const DETAILS: [Detail; 2] = [REQUEST_CACHE_CONTROL, ONLY_IF_CACHED];

/// RFC 9111 §5.2.1.7: "respond using a stored response ... or respond with a
/// 504 (Gateway Timeout) status code".
const NOT_CACHED: OriginFailure = OriginFailure {
    status: 504,
    detail: ONLY_IF_CACHED,
    message: "edgecache: not in the cache (the request said only-if-cached)",
};

/// Whether the request lets a stored entry of age `age` (seconds, RFC 9111
/// §4.2.3) answer it.
pub fn accepts_stored(lookup: &Lookup, age: u64) -> bool {
    let cc = &lookup.client_cc;
    if !lookup.route().honor_request_cache_control {
        return true;
    }
    !cc.no_cache && cc.max_age.is_none_or(|max| age < max)
}

/// Before a miss goes to the origin: the worker's own answer instead, when the
/// request said `only-if-cached`.
pub fn refuse_miss(lookup: &Lookup) -> Option<OriginFailure> {
    lookup.client_cc.only_if_cached.then_some(NOT_CACHED)
}

/// What a miss whose answer was not stored tells its key's followers and
/// hit-for-pass note (`flow::collapse`): `NotStorable` when the answer itself
/// may not be stored; `StoreFailed` (followers fetch for themselves, no note)
/// when only this request's own `no-store` kept it out, so that no client can
/// turn collapsing off for a key by sending `no-store`.
pub fn not_stored_outcome(lookup: &Lookup) -> super::collapse::LeaderOutcome {
    if may_store(lookup) {
        super::collapse::LeaderOutcome::NotStorable
    } else {
        super::collapse::LeaderOutcome::StoreFailed
    }
}

/// Whether the answer to this request may be stored (`no-store`, always honoured).
pub fn may_store(lookup: &Lookup) -> bool {
    !lookup.client_cc.no_store
}
