//! Revalidation (RFC 9111 §4.3): a stale entry with a validator is fetched
//! with a conditional request; a 304 updates the stored entry's fields and
//! freshness and its body is served (and stored again) without downloading it.
//!
//! ```text
//! on_stored ─► Miss{validator} (foreground) | Serve{revalidate} (background)
//!   ─► fetch with validator.header() ─► 304 ─► on_not_modified ─► serve stored body
//!                                                               + store it again
//!                                    └► anything else: on_origin / after_fetch as a miss
//! ```
//!
//! The entry is stored again with a new stamp, the fetch start of the
//! revalidation: a purge during that fetch still invalidates it, and a
//! soft-purged entry is current again once revalidated.

use super::entry::{origin_fields, StoredEntry, INTERNAL_PREFIX};
use super::origin::{decide, FetchStart, OriginDecision};
use super::plan::Lookup;
use crate::config::Config;
use crate::http::cache_status::{CacheStatus, Fwd};
use crate::http::headers::Headers;
use crate::http::time::UnixSecs;
use crate::response::revalidation::{merge_not_modified, not_modified_matches, Validator};

/// The headers of a conditional request: the lookup's origin headers and the
/// validator's field.
pub fn conditional_headers(origin_headers: &Headers, validator: &Validator) -> Headers {
    let mut h = origin_headers.clone();
    let (name, value) = validator.header();
    h.append(name, value);
    h
}

/// What an answer to a (possibly conditional) request means for the kept
/// entry: the one revalidation outcome, foreground and background alike.
#[derive(Debug)]
pub enum Revalidation {
    /// A 304 about the stored response: its body answers. Serve it with
    /// `decision.client`, and store it again with `decision.store` (new
    /// fields, freshness and stamp). With no `store` (the updated fields
    /// forbid storing), the old entry is deleted.
    NotModified(OriginDecision),
    /// Not a 304 to a validator this worker sent: an ordinary answer
    /// (`on_origin` decides it).
    Modified,
    /// A 304 about another response (another `ETag`): fetch again without a
    /// validator.
    Refetch,
}

/// Decides on a 304 (`not_modified`: its header fields) to a conditional
/// request for the stored entry (`entry`, `stored`: its parsed and raw
/// fields) whose fetch started at `start` (with the marks read before it). The updated response is
/// then decided as an origin answer with the stored status (`on_origin`);
/// its `Cache-Status` says `fwd=stale; fwd-status=304`.
pub fn on_not_modified(
    config: &Config,
    lookup: &Lookup,
    entry: &StoredEntry,
    stored: &Headers,
    not_modified: &Headers,
    start: FetchStart,
    now: UnixSecs,
) -> Revalidation {
    let origin = origin_fields(stored);
    if !not_modified_matches(&origin, not_modified) {
        return Revalidation::Refetch;
    }
    let updated = merge_not_modified(&origin, not_modified, INTERNAL_PREFIX);
    let forwarded = CacheStatus::forward(Fwd::Stale).fwd_status(304);
    Revalidation::NotModified(decide(
        config,
        lookup,
        entry.status,
        &updated,
        start,
        now,
        forwarded,
    ))
}

/// Whether an origin answer with `status` is a 304 to a conditional request
/// this worker sent (`sent`: the validator it carried). A 304 to a request
/// without one is an ordinary answer (never stored, passed on).
pub fn answers_revalidation(status: u16, sent: Option<&Validator>) -> bool {
    status == 304 && sent.is_some()
}
