//! A route's lifetimes: how long its entries may be served (TTL and stale
//! windows) and kept past freshness to be revalidated (`keep`), within the
//! bounds that keep every entry younger than the purge records covering it.

use super::defaults::{DEFAULT_KEEP, MAX_ENTRY_LIFETIME, MAX_KEEP};
use super::duration::Secs;
use super::error::{ConfigError, Place};
use super::fields::duration;
use std::collections::BTreeMap;

/// `keep`: a duration up to [`MAX_KEEP`], [`DEFAULT_KEEP`] when not given.
/// Not part of [`check_lifetime`]: the Cache API's lifetime of a copy is cut
/// at [`MAX_ENTRY_LIFETIME`] when it is stored (`flow::entry::cache_api_keep`).
pub(super) fn parse_keep(place: &Place, raw: Option<String>) -> Result<Secs, ConfigError> {
    let keep = duration(place, "keep", raw.as_deref(), DEFAULT_KEEP)?;
    if keep > MAX_KEEP {
        return Err(ConfigError::BadValue {
            place: place.clone(),
            field: "keep",
            value: raw.unwrap_or_default(),
            reason: "at most 30d",
        });
    }
    Ok(keep)
}

/// A route's longest lifetime (its `ttl` or a `status_ttl`, plus the longer
/// stale window) is at most [`MAX_ENTRY_LIFETIME`]: purge records are kept
/// just longer than that, so no entry can outlive the purge that covers it.
pub(super) fn check_lifetime(
    place: &Place,
    raw_ttl: &str,
    status_ttl: &BTreeMap<u16, Secs>,
    ttl: Secs,
    window: Secs,
) -> Result<(), ConfigError> {
    let longest = status_ttl.values().copied().fold(ttl, Secs::max);
    if longest.saturating_add(window) <= MAX_ENTRY_LIFETIME {
        return Ok(());
    }
    Err(ConfigError::BadValue {
        place: place.clone(),
        field: "ttl",
        value: raw_ttl.to_string(),
        reason: "the longest ttl (or status_ttl) plus the longer stale window must be at most 365d",
    })
}
