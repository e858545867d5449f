//! What to do with an entry found in the cache (or the memory tier).

use super::entry::{
    restore_origin_tag, StoredEntry, CODING_HEADER, INTERNAL_PREFIX, ORIGIN_CC_HEADER,
};
use super::plan::Lookup;
use crate::config::{Config, Route};
use crate::http::cache_status::{CacheStatus, Detail, Fwd};
use crate::http::headers::Headers;
use crate::http::targeted::NOT_FORWARDED;
use crate::http::time::UnixMillis;
use crate::http::time::UnixSecs;
use crate::purge::generations::{is_current, Currency, Generations};
use crate::response::freshness::{
    downstream_cache_control, freshness, remaining_ttl, Freshness, StoredMeta,
};
use crate::response::revalidation::{validator, Validator};

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
    /// `validator`: revalidate it (a conditional request; a 304 serves its body,
    /// `flow::revalidate`); `None` when it has none or was purged hard.
    Miss {
        detail: Detail,
        stale_if_error: bool,
        validator: Option<Validator>,
    },
    /// Its generations could not be read: never serve it, pass through (fail safe).
    Unverifiable,
}

/// Decides on a stored entry given the current generations of its names.
pub fn on_stored(
    config: &Config,
    lookup: &Lookup,
    entry: &StoredEntry,
    stored_headers: &Headers,
    generations: &Generations,
    now: UnixSecs,
) -> StoredDecision {
    let names = lookup.names(&entry.stamp);
    let skew_ms = config.purge.clock_skew.saturating_mul(1000);
    let (meta, stale_detail) = match is_current(&entry.stamp, &names, generations, skew_ms) {
        Currency::Current => (entry.meta, None),
        // A purge stamped by a clock ahead of this one has happened all the
        // same: stale from now, not fresh until this clock reaches its time
        // (a later soft purge of an entry an earlier one made stale would
        // otherwise make it fresh again; the simulator's seed 474).
        Currency::SoftPurged { at } => {
            let at = at.min(now.to_millis());
            (stale_since(&entry.meta, at), Some(Detail::SoftPurged))
        }
        Currency::Moved { .. } => {
            return StoredDecision::Miss {
                detail: Detail::Purged,
                stale_if_error: false,
                validator: None,
            }
        }
        Currency::Unknown { .. } => return StoredDecision::Unverifiable,
    };
    let miss = |stale_if_error| StoredDecision::Miss {
        detail: stale_detail.unwrap_or(Detail::Expired),
        stale_if_error,
        validator: validator(stored_headers),
    };
    let (revalidate, age) = match freshness(&meta, now) {
        Freshness::Fresh { age } => (false, age),
        Freshness::StaleWhileRevalidate { age } => (true, age),
        Freshness::StaleIfErrorOnly { .. } => return miss(true),
        Freshness::Expired { .. } => return miss(false),
    };
    if !super::client_cc::accepts_stored(lookup, age) {
        return StoredDecision::Miss {
            detail: super::client_cc::REQUEST_CACHE_CONTROL,
            stale_if_error: false,
            validator: validator(stored_headers),
        };
    }
    let mut headers = client_headers(config, lookup.route(), stored_headers);
    headers.append("age", &age.to_string());
    let ttl = remaining_ttl(&meta, now);
    let mut status = CacheStatus::hit().ttl(ttl).key(debug_key(config, lookup));
    if revalidate {
        status = status.detail(stale_detail.unwrap_or(Detail::StaleWhileRevalidate));
    }
    StoredDecision::Serve {
        status: entry.status,
        headers,
        cache_status: status,
        revalidate,
    }
}

/// A soft-purged entry's timing: stale from the purge at `purged_at` on (its
/// freshness ends there, if not before), so its stale windows count from the
/// purge.
pub fn stale_since(meta: &StoredMeta, purged_at: UnixMillis) -> StoredMeta {
    let fresh_for = purged_at.to_secs().saturating_sub(meta.stored_at);
    StoredMeta {
        ttl: meta.ttl.min(fresh_for),
        ..*meta
    }
}

/// A stored entry served because the origin failed inside its stale-if-error window.
pub fn stale_on_error(
    config: &Config,
    lookup: &Lookup,
    entry: &StoredEntry,
    stored_headers: &Headers,
    now: UnixSecs,
    origin_failure: Detail,
) -> (Headers, CacheStatus) {
    let mut headers = client_headers(config, lookup.route(), stored_headers);
    headers.append("age", &freshness(&entry.meta, now).age().to_string());
    let status = CacheStatus::forward(Fwd::Stale)
        .ttl(remaining_ttl(&entry.meta, now))
        .key(debug_key(config, lookup))
        .detail(origin_failure);
    (headers, status)
}

pub(super) fn debug_key<'a>(config: &Config, lookup: &'a Lookup) -> Option<&'a str> {
    config.debug.then_some(lookup.key.url())
}

/// The stored (or origin) headers as a client may see them: internal headers
/// removed, `Cache-Control` as configured for browsers, and
/// `Cloudflare-CDN-Cache-Control`, which addresses only us, consumed;
/// `CDN-Cache-Control` is passed on for CDN caches downstream
/// ([`NOT_FORWARDED`] says why, from RFC 9213). A stored body's coding
/// ([`CODING_HEADER`]) is `Content-Encoding` again, and its `Cache-Tag` the
/// origin's again (`entry::restore_origin_tag`: the stored one is the
/// worker's). The origin's tag fields are removed ([`without_tag_headers`]).
pub fn client_headers(config: &Config, route: &Route, stored: &Headers) -> Headers {
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
                && !NOT_FORWARDED.contains(n)
        })
        .collect();
    if let Some(coding) = stored.get(CODING_HEADER) {
        out.append("content-encoding", coding);
    }
    if let Some(cc) = downstream_cache_control(route, origin_cc.as_deref()) {
        out.append("cache-control", &cc);
    }
    // A stored `Cache-Tag` is the worker's (the entry's purge names): the
    // origin's own goes back in its place, then is removed unless exposed.
    restore_origin_tag(stored, &mut out);
    without_tag_headers(config, &mut out);
    out
}

/// Removes the origin's tag fields (`config.tag_headers`: `Cache-Tag`,
/// `Surrogate-Key`) from an answer, unless `config.expose_tag_headers`. They
/// are addressed to the cache (purging by tag), and their names often say
/// what a client should not learn (`user-42-orders`, `internal-tenant-7`):
/// Cloudflare and Fastly strip them the same way.
pub fn without_tag_headers(config: &Config, headers: &mut Headers) {
    if config.expose_tag_headers {
        return;
    }
    for name in &config.tag_headers {
        headers.remove(name);
    }
}
