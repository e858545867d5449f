//! The age of a response when it reaches us (RFC 9111 §4.2.3), so an upstream
//! cache's `Age` and the time the answer spent on the way count against its
//! freshness and show in the `Age` we send on hits.
//!
//! ```text
//! apparent_age          = max(0, response_time - date_value)
//! response_delay        = response_time - request_time
//! corrected_age_value   = age_value + response_delay
//! corrected_initial_age = max(apparent_age, corrected_age_value)
//! current_age           = corrected_initial_age + resident_time
//! ```
//!
//! `request_time` is when the origin fetch started, `response_time` when its
//! answer arrived (both from the glue's clock). The stored entry keeps the
//! corrected initial age (`flow::entry`, meta `v2`); `response::freshness`
//! adds the resident time.

use crate::http::cache_control::parse_delta_seconds;
use crate::http::date;
use crate::http::headers::Headers;
use crate::http::time::UnixSecs;

/// The origin's `Age` (RFC 9111 §5.1): the first member of the field, as it
/// is a singleton sent as a list by some senders ("a cache encountering a
/// message with a list-based Age field value SHOULD use the first member of
/// the field value, discarding subsequent ones"); `None` when that member is
/// invalid, anything but a non-negative integer such as `1s`, `-1` or `1.5`
/// ("a cache SHOULD ignore the field"), or when there is no `Age`.
pub fn age_value(headers: &Headers) -> Option<u64> {
    let first = headers
        .get_all("age")
        .flat_map(|line| line.split(','))
        .map(|m| m.trim_matches([' ', '\t']))
        .find(|m| !m.is_empty())?;
    parse_delta_seconds(first)
}

/// `corrected_initial_age` (RFC 9111 §4.2.3) of an answer that arrived at
/// `response_time` after a request that took `response_delay` seconds. An
/// ignored or absent `Age` counts as 0; a missing or invalid `Date` gives an
/// apparent age of 0.
pub fn corrected_initial_age(
    headers: &Headers,
    response_delay: u64,
    response_time: UnixSecs,
) -> u64 {
    let apparent_age = headers
        .get("date")
        .and_then(date::parse)
        .map_or(0, |d| response_time.saturating_sub(d));
    let corrected_age_value = age_value(headers)
        .unwrap_or(0)
        .saturating_add(response_delay);
    apparent_age.max(corrected_age_value)
}

/// The `Age` a client gets with an answer the worker forwards from the origin
/// on a cached route (RFC 9111 §5.1: the sender's estimate of the time since
/// the origin generated or validated the answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForwardedAge {
    /// The answer came without `Age`: the origin made it for this request, and
    /// an `Age` would say a cache answered (§5.1), so none is added.
    Absent,
    /// The answer came through a cache upstream: its age on arrival here, the
    /// `current_age` of §4.2.3 with no resident time yet
    /// ([`corrected_initial_age`]). A hit on the copy stored from it says this
    /// plus its resident time, so a client sees one age that only grows.
    Seconds(u64),
    /// An `Age` this cache ignores (§5.1: not a non-negative integer): passed
    /// on as received, since it is not ours to reinterpret, and dropping it
    /// would hide that a cache answered.
    AsReceived,
}

/// What [`ForwardedAge`] the origin's answer (`headers`, which arrived at
/// `response_time` after a request that took `response_delay` seconds) is
/// forwarded with.
pub fn forwarded_age(
    headers: &Headers,
    response_delay: u64,
    response_time: UnixSecs,
) -> ForwardedAge {
    if !headers.contains("age") {
        return ForwardedAge::Absent;
    }
    match age_value(headers) {
        Some(_) => ForwardedAge::Seconds(corrected_initial_age(
            headers,
            response_delay,
            response_time,
        )),
        None => ForwardedAge::AsReceived,
    }
}
