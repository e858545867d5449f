//! Serving decision for a stored entry, the metadata kept beside it, and what
//! the client is told in `Cache-Control`.

use crate::config::Route;
use crate::http::time::UnixSecs;
use crate::response::store::StorePlan;

/// Timing facts stored with a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredMeta {
    /// When stored.
    pub stored_at: UnixSecs,
    /// Its age when stored (RFC 9111 §4.2.3 `corrected_initial_age`); 0 for
    /// entries written before it was recorded.
    pub initial_age: u64,
    /// Freshness left when stored (the lifetime less `initial_age`).
    pub ttl: u64,
    pub stale_while_revalidate: u64,
    pub stale_if_error: u64,
}

/// How a stored entry may be used at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Serve it.
    Fresh { age: u64 },
    /// Serve it and refresh in the background (RFC 5861 §3).
    StaleWhileRevalidate { age: u64 },
    /// Serve it only if the origin fails (RFC 5861 §4); otherwise a miss.
    StaleIfErrorOnly { age: u64 },
    /// Unusable: a miss.
    Expired { age: u64 },
}

impl Freshness {
    /// The current age (RFC 9111 §4.2.3: initial age plus resident time): the
    /// value for the `Age` header (§5.1).
    pub fn age(&self) -> u64 {
        match *self {
            Freshness::Fresh { age }
            | Freshness::StaleWhileRevalidate { age }
            | Freshness::StaleIfErrorOnly { age }
            | Freshness::Expired { age } => age,
        }
    }
}

impl StoredMeta {
    /// Metadata for a response stored at `now` under `plan`.
    pub fn new(now: UnixSecs, plan: &StorePlan) -> Self {
        StoredMeta {
            stored_at: now,
            initial_age: plan.initial_age,
            ttl: plan.ttl,
            stale_while_revalidate: plan.stale_while_revalidate,
            stale_if_error: plan.stale_if_error,
        }
    }
}

/// Classifies a stored entry at `now`. The resident time is `now -
/// stored_at` (0 if the clock reads earlier); the age is `initial_age` plus
/// that (RFC 9111 §4.2.3 `current_age`). Fresh while the age is below the
/// freshness lifetime, `initial_age + ttl` (§4.2), i.e. while the resident
/// time is below `ttl`. Both stale windows start at expiry; while inside the
/// revalidate window, stale-if-error is implied.
pub fn freshness(meta: &StoredMeta, now: UnixSecs) -> Freshness {
    let resident = now.saturating_sub(meta.stored_at);
    let age = meta.initial_age.saturating_add(resident);
    if resident < meta.ttl {
        Freshness::Fresh { age }
    } else if resident < meta.ttl.saturating_add(meta.stale_while_revalidate) {
        Freshness::StaleWhileRevalidate { age }
    } else if resident < meta.ttl.saturating_add(meta.stale_if_error) {
        Freshness::StaleIfErrorOnly { age }
    } else {
        Freshness::Expired { age }
    }
}

/// Remaining freshness at `now` (negative once stale), for `Cache-Status: ttl=`
/// (RFC 9211 §2.5).
pub fn remaining_ttl(meta: &StoredMeta, now: UnixSecs) -> i64 {
    let age = now.saturating_sub(meta.stored_at);
    let ttl = i64::try_from(meta.ttl).unwrap_or(i64::MAX);
    let age = i64::try_from(age).unwrap_or(i64::MAX);
    ttl.saturating_sub(age)
}

/// The `Cache-Control` to send to the client.
///
/// `route.browser_cache_control` wins when set. Otherwise the origin's value
/// exactly as it sent it (its field lines joined), `s-maxage` and
/// `proxy-revalidate` included: they address shared caches, and a browser
/// ignores them, but a shared cache downstream of us must see them. `None`
/// means send no `Cache-Control` (the origin sent none).
///
/// Hazard: the origin's `max-age` is passed through unchanged, so a browser
/// may keep a copy for that long after a purge here.
pub fn downstream_cache_control(route: &Route, origin_cc: Option<&str>) -> Option<String> {
    if let Some(b) = &route.browser_cache_control {
        return Some(b.clone());
    }
    origin_cc.map(str::to_string)
}
