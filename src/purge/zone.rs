//! Cloudflare zone purge (optional layer): builds the API calls; the glue sends them in
//! `wait_until` with the API token secret, and retries per [`retry_delay`].
//!
//! API: `POST {api_base}/zones/{zone_id}/purge_cache` with one of `{"tags": [...]}`,
//! `{"files": [...]}`, `{"prefixes": [...]}` or `{"purge_everything": true}`
//! (<https://developers.cloudflare.com/api/resources/cache/methods/purge/>).
//! Prefixes are sent without a scheme, as `host/path`
//! (<https://developers.cloudflare.com/cache/how-to/purge-cache/purge_by_prefix/>).

use serde_json::{json, Value};

use crate::config::ZonePlan;
use crate::http::text::digits_u64;
use crate::http::time::UnixMillis;

use crate::config::PurgeSettings;
use crate::purge::body::PurgeRequest;

/// Items per purge call on the Free, Pro and Business plans ("max operations
/// per request": <https://developers.cloudflare.com/cache/how-to/purge-cache/>).
pub const DEFAULT_MAX_PER_CALL: usize = 100;
/// The largest per-call figure Cloudflare documents (Enterprise); [`plan`] clamps to it.
pub const MAX_PER_CALL_CEILING: usize = 500;
/// Attempts per call, the first included.
pub const MAX_ATTEMPTS: u32 = 4;
/// First retry delay when the API gives no `Retry-After`; doubled on each attempt.
pub const BASE_DELAY_MS: u64 = 500;
/// Longest `Retry-After` we honour. The calls run in `wait_until`, which Workers allow
/// about 30 s after the response; a longer wait would be cut off, so we give up instead.
pub const MAX_RETRY_AFTER_MS: u64 = 10_000;

/// One API call to make.
#[derive(Debug, Clone, PartialEq)]
pub struct ZonePurgeCall {
    /// Full URL: `{api_base}/zones/{zone_id}/purge_cache`.
    pub url: String,
    /// JSON body.
    pub body: Value,
}

/// Plans the zone purge calls for a request. Empty when the layer is off
/// (`settings.zone_id` is `None`).
///
/// - `everything` → a single `purge_everything` call (anything else is redundant).
/// - `tags` → as given (Cloudflare cache tags are case-insensitive).
/// - `key_urls` → `files`: the key URLs the worker stores under (the request's `urls`
///   mapped by the key module), deduplicated.
/// - `prefixes` → `host/path`, `/path` prefixes resolved against `default_host`.
///
/// Each kind is batched into calls of at most `max_per_call` items (clamped to
/// `1..=MAX_PER_CALL_CEILING`).
pub fn plan(
    req: &PurgeRequest,
    key_urls: &[String],
    settings: &PurgeSettings,
    default_host: &str,
    max_per_call: usize,
) -> Vec<ZonePurgeCall> {
    let Some(zone_id) = settings.zone_id.as_deref() else {
        return Vec::new();
    };
    let url = format!(
        "{}/zones/{}/purge_cache",
        settings.api_base.trim_end_matches('/'),
        zone_id
    );
    let call = |body: Value| ZonePurgeCall {
        url: url.clone(),
        body,
    };
    if req.everything {
        return vec![call(json!({ "purge_everything": true }))];
    }
    let per_call = max_per_call.clamp(1, MAX_PER_CALL_CEILING);
    let mut calls = Vec::new();
    let mut batch = |field: &str, items: Vec<String>| {
        for chunk in items.chunks(per_call) {
            calls.push(call(json!({ field: chunk })));
        }
    };
    batch("tags", req.tags.clone());
    batch("files", dedup(key_urls));
    batch(
        "prefixes",
        dedup(
            &req.prefixes
                .iter()
                .map(|p| {
                    let host = p.host_or(default_host);
                    if p.path == "/" {
                        host.to_string()
                    } else {
                        format!("{host}{}", p.path)
                    }
                })
                .collect::<Vec<_>>(),
        ),
    );
    calls
}

fn dedup(items: &[String]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    items
        .iter()
        .filter(|s| seen.insert(s.as_str()))
        .cloned()
        .collect()
}

/// Whether a response status is worth retrying: 429 and 5xx. Other errors (400 bad
/// request, 403 bad token) will fail the same way again.
pub fn is_retryable(status: u16) -> bool {
    status == 429 || (500..=599).contains(&status)
}

/// Delay (ms) before the next attempt, after attempt number `attempt` (1-based) failed
/// with a retryable status; `None` = give up.
///
/// `Retry-After` in delta-seconds is honoured when it is at most [`MAX_RETRY_AFTER_MS`]
/// (longer: give up). An HTTP-date or unparseable value falls back to exponential backoff:
/// 500 ms, 1 s, 2 s. No jitter: the core has no randomness; calls from one webhook are
/// sequential, so there is no thundering herd to spread.
pub fn retry_delay(attempt: u32, retry_after: Option<&str>) -> Option<u64> {
    if attempt == 0 || attempt >= MAX_ATTEMPTS {
        return None;
    }
    if let Some(secs) = retry_after.and_then(parse_delta_seconds) {
        let ms = secs.saturating_mul(1000);
        return (ms <= MAX_RETRY_AFTER_MS).then_some(ms);
    }
    Some(BASE_DELAY_MS << (attempt - 1))
}

/// `Retry-After: <delay-seconds>` (RFC 9110 §10.2.3): one or more digits.
fn parse_delta_seconds(v: &str) -> Option<u64> {
    digits_u64(v.trim(), 10)
}

/// How one zone purge API call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallResult<'a> {
    /// The API answered `status`, with this `Retry-After` if any.
    Answered {
        status: u16,
        retry_after: Option<&'a str>,
    },
    /// No answer: the connection failed or timed out. Worth retrying.
    NoResponse,
}

/// What to do after attempt number `attempt` (1-based) of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    /// A 2xx: the call is done.
    Done,
    /// Try again after this many milliseconds.
    RetryAfter(u64),
    /// Stop: a status that will fail again, or no attempts (or time) left.
    GiveUp,
}

/// Decides after each attempt: 2xx is done; 429, 5xx and no response are
/// retried on the [`retry_delay`] schedule; anything else gives up at once.
pub fn next_step(attempt: u32, result: CallResult<'_>) -> NextStep {
    let retry_after = match result {
        CallResult::Answered { status, .. } if (200..300).contains(&status) => {
            return NextStep::Done
        }
        CallResult::Answered {
            status,
            retry_after,
        } if is_retryable(status) => retry_after,
        CallResult::Answered { .. } => return NextStep::GiveUp,
        CallResult::NoResponse => None,
    };
    retry_delay(attempt, retry_after).map_or(NextStep::GiveUp, NextStep::RetryAfter)
}

/// Items per call on `plan` (Enterprise 500, every other plan 100).
pub fn max_per_call(plan: ZonePlan) -> usize {
    match plan {
        ZonePlan::Enterprise => MAX_PER_CALL_CEILING,
        _ => DEFAULT_MAX_PER_CALL,
    }
}

/// Longest a zone purge call may wait for the rate limit: the calls run in
/// `wait_until`, which Workers allow about 30 s after the response, and the
/// call itself needs time too. One that would wait longer is skipped (and
/// logged): the zone layer is the optional one, generations hold regardless.
pub const MAX_RATE_WAIT_MS: u64 = 20_000;

/// The purge API's rate limit as one isolate sees it: a generic cell rate
/// algorithm (a token bucket written as "theoretical arrival time"), so calls
/// from every webhook this isolate handles share the plan's budget. Pure:
/// time is passed in. Other isolates have budgets of their own; a 429 they
/// cause is retried by [`next_step`].
#[derive(Debug, Clone)]
pub struct RateLimit {
    /// Milliseconds per call at the sustained rate.
    every_ms: u64,
    /// Calls that may go at once.
    burst: u64,
    /// When the bucket would be empty again, at the sustained rate.
    tat: UnixMillis,
}

impl RateLimit {
    /// The limit of `plan`: Free 5 a minute with a burst of 25, Pro 5 a
    /// second, Business 10, Enterprise 50.
    pub fn for_plan(plan: ZonePlan) -> RateLimit {
        let (every_ms, burst) = match plan {
            ZonePlan::Free => (12_000, 25),
            ZonePlan::Pro => (200, 5),
            ZonePlan::Business => (100, 10),
            ZonePlan::Enterprise => (20, 50),
        };
        RateLimit {
            every_ms,
            burst,
            tat: UnixMillis(0),
        }
    }

    /// Reserves the next call's slot: how many milliseconds to wait before
    /// sending it, or `None` (nothing reserved) when that would be longer than
    /// `max_wait_ms`.
    pub fn reserve(&mut self, now: UnixMillis, max_wait_ms: u64) -> Option<u64> {
        let tolerance = self.every_ms.saturating_mul(self.burst.saturating_sub(1));
        let tat = self.tat.max(now);
        let earliest = UnixMillis(tat.0.saturating_sub(tolerance)).max(now);
        let wait = earliest.saturating_sub(now);
        if wait > max_wait_ms {
            return None;
        }
        self.tat = tat.saturating_add(self.every_ms);
        Some(wait)
    }
}
