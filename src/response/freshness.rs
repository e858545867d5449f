//! Serving decision for a stored entry, the metadata kept beside it, and what
//! the client is told in `Cache-Control`.

use crate::config::Route;
use crate::http::cache_control::split_directives;
use crate::http::time::UnixSecs;
use crate::response::store::StorePlan;

/// Timing facts stored with a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredMeta {
    /// When stored.
    pub stored_at: UnixSecs,
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
    /// Seconds since stored: the value for the `Age` header (RFC 9111 §5.1).
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
            ttl: plan.ttl,
            stale_while_revalidate: plan.stale_while_revalidate,
            stale_if_error: plan.stale_if_error,
        }
    }
}

/// Classifies a stored entry at `now`. Age is `now - stored_at`, or 0 if the
/// clock reads earlier than `stored_at`. Fresh while `age < ttl` (RFC 9111
/// §4.2: fresh if lifetime > age). Both stale windows start at expiry; while
/// inside the revalidate window, stale-if-error is implied.
pub fn freshness(meta: &StoredMeta, now: UnixSecs) -> Freshness {
    let age = now.saturating_sub(meta.stored_at);
    if age < meta.ttl {
        Freshness::Fresh { age }
    } else if age < meta.ttl.saturating_add(meta.stale_while_revalidate) {
        Freshness::StaleWhileRevalidate { age }
    } else if age < meta.ttl.saturating_add(meta.stale_if_error) {
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

/// Shared-cache-only directives (RFC 9111 §5.2.2.6, §5.2.2.10): removed from
/// what the client sees.
const SHARED_ONLY: &[&str] = &["s-maxage", "proxy-revalidate"];

/// The `Cache-Control` to send to the client.
///
/// `route.browser_cache_control` wins when set. Otherwise the origin's value
/// minus `s-maxage` and `proxy-revalidate`, which address shared caches (us),
/// not browsers; other directives are passed through as written. `None` means
/// send no `Cache-Control` (the origin sent none, or only shared-cache ones,
/// in which case a browser would have ignored them anyway).
///
/// Hazard: the origin's `max-age` is passed through unchanged, so a browser
/// may keep a copy for that long after a purge here.
pub fn downstream_cache_control(route: &Route, origin_cc: Option<&str>) -> Option<String> {
    if let Some(b) = &route.browser_cache_control {
        return Some(b.clone());
    }
    let kept: Vec<&str> = split_directives(origin_cc?)
        .into_iter()
        .filter(|d| !SHARED_ONLY.contains(&d.name.as_str()))
        .map(|d| d.raw)
        .collect();
    if kept.is_empty() {
        None
    } else {
        Some(kept.join(", "))
    }
}
