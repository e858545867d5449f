//! Cloudflare zone purge (the optional layer): what a webhook hands the purge
//! writer ([`ZoneWork`]), the plan's limits ([`PlanLimits`], [`RateLimit`]),
//! and how a refused call is retried ([`retry_delay`]). The writer queues the
//! work (`purge::zone_queue`) and makes the calls from its alarm
//! (`flow::writer_zone`), under one rate limit for the account.
//!
//! API: `POST {api_base}/zones/{zone_id}/purge_cache` with `{"tags": [...]}`
//! or `{"purge_everything": true}`
//! (<https://developers.cloudflare.com/api/resources/cache/methods/purge/>).
//!
//! Why tags only: every Cache API entry the worker stores carries the tags of
//! its purge names (`purge::cache_tag`: route tags as themselves, URL and
//! prefix names as `ec-<id>`), so one purge by tag reaches every variant of a
//! URL (per-user, per-header, compressed copies), which a purge by URL
//! (`files`) does not: the Cache API's key of a variant is not the URL.

use serde::{Deserialize, Serialize};

use super::cache_tag::cache_tag;
use super::generations::GenName;
use crate::config::{PurgeSettings, ZonePlan};
use crate::http::text::digits_u64;
use crate::http::time::UnixMillis;

/// Tags per purge call, on every plan ("max operations per request":
/// <https://developers.cloudflare.com/cache/how-to/purge-cache/>; Enterprise's
/// 500 is for purges by URL, which the writer does not send).
pub const DEFAULT_MAX_PER_CALL: usize = 100;
/// First retry delay when the API gives no `Retry-After`; doubled after each
/// refusal in a row, up to [`MAX_BACKOFF_MS`].
pub const BASE_DELAY_MS: u64 = 500;
/// Longest wait between two attempts without a `Retry-After`.
pub const MAX_BACKOFF_MS: u64 = 60_000;
/// Longest `Retry-After` honoured as given: the writer's alarm can wait
/// longer than `wait_until` could, but a zone purge later than this is of
/// little use; a longer one waits this long (and may be refused again).
pub const MAX_RETRY_AFTER_MS: u64 = 15 * 60 * 1000;

/// What a webhook hands the purge writer for the zone layer (a hard purge,
/// with `purge.zone_id` and `EDGECACHE_ZONE_TOKEN` set): where the API is,
/// the plan's limits, and the tags to purge (or everything).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneWork {
    /// `{api_base}/zones/{zone_id}/purge_cache`.
    pub endpoint: String,
    pub limits: PlanLimits,
    /// The purge names' tags ([`cache_tag`]), deduplicated.
    #[serde(default)]
    pub tags: Vec<String>,
    /// `everything`: one `purge_everything` call.
    #[serde(default)]
    pub everything: bool,
}

/// The zone work of a hard purge of `names` (`everything` when the purge is
/// of everything); `None` when the layer is off (`settings.zone_id` unset).
/// A name without a valid tag (a tag with a comma, say) is left to the purge
/// marks: the zone API could not purge it by tag.
pub fn work(names: &[GenName], everything: bool, settings: &PurgeSettings) -> Option<ZoneWork> {
    let zone_id = settings.zone_id.as_deref()?;
    if !everything && !names.iter().any(|n| cache_tag(n).is_some()) {
        return None;
    }
    let endpoint = format!(
        "{}/zones/{}/purge_cache",
        settings.api_base.trim_end_matches('/'),
        zone_id
    );
    let mut seen = std::collections::HashSet::new();
    let tags = if everything {
        Vec::new()
    } else {
        names
            .iter()
            .filter_map(cache_tag)
            .filter(|t| seen.insert(t.clone()))
            .collect()
    };
    Some(ZoneWork {
        endpoint,
        limits: limits(settings.zone_plan),
        tags,
        everything,
    })
}

impl ZoneWork {
    /// Calls this purge needs on its own (coalescing may share them).
    pub fn calls(&self) -> usize {
        if self.everything {
            return 1;
        }
        self.tags.len().div_ceil(self.limits.per_call.max(1))
    }
}

/// A plan's purge API limits, per account: the sustained rate (one call
/// every `every_ms`), the burst, and the items per call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanLimits {
    pub every_ms: u64,
    pub burst: u64,
    pub per_call: usize,
}

/// The limits of `plan` for purges by tag
/// (<https://developers.cloudflare.com/cache/how-to/purge-cache/#availability-and-limits>):
/// Free 5 a minute with a bucket of 25, Pro 5 a second, Business 10,
/// Enterprise 50; [`DEFAULT_MAX_PER_CALL`] (100) tags per call on every plan
/// (the API refuses a purge by tag with more, Enterprise included).
pub fn limits(plan: ZonePlan) -> PlanLimits {
    let (every_ms, burst) = match plan {
        ZonePlan::Free => (12_000, 25),
        ZonePlan::Pro => (200, 5),
        ZonePlan::Business => (100, 10),
        ZonePlan::Enterprise => (20, 50),
    };
    PlanLimits {
        every_ms,
        burst,
        per_call: DEFAULT_MAX_PER_CALL,
    }
}

/// Whether a response status is worth retrying: 429 and 5xx. Other errors (400 bad
/// request, 403 bad token) will fail the same way again.
pub fn is_retryable(status: u16) -> bool {
    status == 429 || (500..=599).contains(&status)
}

/// Delay (ms) before the next attempt after `failures` refusals in a row
/// (1 after the first). `Retry-After` in delta-seconds is honoured, up to
/// [`MAX_RETRY_AFTER_MS`]; an HTTP-date or unparseable value falls back to
/// exponential backoff: 500 ms, 1 s, 2 s, ... up to [`MAX_BACKOFF_MS`]. The
/// writer never gives up on a retryable refusal: the work stays queued.
pub fn retry_delay(failures: u32, retry_after: Option<&str>) -> u64 {
    if let Some(secs) = retry_after.and_then(parse_delta_seconds) {
        return secs.saturating_mul(1000).min(MAX_RETRY_AFTER_MS);
    }
    let shift = failures.saturating_sub(1).min(16);
    (BASE_DELAY_MS << shift).min(MAX_BACKOFF_MS)
}

/// `Retry-After: <delay-seconds>` (RFC 9110 §10.2.3): one or more digits.
fn parse_delta_seconds(v: &str) -> Option<u64> {
    digits_u64(v.trim(), 10)
}

/// How one zone purge API call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallResult {
    /// The API answered `status`, with this `Retry-After` if any.
    Answered {
        status: u16,
        retry_after: Option<String>,
    },
    /// No answer: the connection failed or timed out. Worth retrying.
    NoResponse,
}

/// What a call's result means for the work it carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallOutcome {
    /// A 2xx: the items are purged.
    Done,
    /// 429, 5xx or no answer: try again after this many ms (the items stay).
    Retry(u64),
    /// Another status (400, 403): it would fail again; the items fail.
    Refused,
}

/// Decides after a call, the `failures`-th refusal in a row counted if it
/// is one: 2xx is done; 429, 5xx and no response are retried on the
/// [`retry_delay`] schedule; anything else is refused for good.
pub fn outcome(failures: u32, result: &CallResult) -> CallOutcome {
    match result {
        CallResult::Answered { status, .. } if (200..300).contains(status) => CallOutcome::Done,
        CallResult::Answered {
            status,
            retry_after,
        } if is_retryable(*status) => CallOutcome::Retry(retry_delay(
            failures.saturating_add(1),
            retry_after.as_deref(),
        )),
        CallResult::Answered { .. } => CallOutcome::Refused,
        CallResult::NoResponse => CallOutcome::Retry(retry_delay(failures.saturating_add(1), None)),
    }
}

/// The purge API's rate limit for the account, as the writer keeps it (one
/// for the deployment: every webhook's work goes through the one writer): a
/// generic cell rate algorithm (a token bucket written as "theoretical
/// arrival time"). Pure: time is passed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimit {
    /// Milliseconds per call at the sustained rate.
    pub every_ms: u64,
    /// Calls that may go at once.
    pub burst: u64,
    /// When the bucket would be empty again, at the sustained rate.
    pub tat: UnixMillis,
}

impl RateLimit {
    /// The limit of `plan`, its bucket full.
    pub fn for_plan(plan: ZonePlan) -> RateLimit {
        RateLimit::new(limits(plan))
    }

    /// The limit of `limits`, its bucket full.
    pub fn new(limits: PlanLimits) -> RateLimit {
        RateLimit {
            every_ms: limits.every_ms,
            burst: limits.burst,
            tat: UnixMillis(0),
        }
    }

    /// The earliest time the next call may go.
    pub fn earliest(&self, now: UnixMillis) -> UnixMillis {
        let tolerance = self.every_ms.saturating_mul(self.burst.saturating_sub(1));
        let tat = self.tat.max(now);
        UnixMillis(tat.0.saturating_sub(tolerance)).max(now)
    }

    /// Reserves the next call's slot: how many milliseconds to wait before
    /// sending it, or `None` (nothing reserved) when that would be longer than
    /// `max_wait_ms`.
    pub fn reserve(&mut self, now: UnixMillis, max_wait_ms: u64) -> Option<u64> {
        let wait = self.earliest(now).saturating_sub(now);
        if wait > max_wait_ms {
            return None;
        }
        self.tat = self.tat.max(now).saturating_add(self.every_ms);
        Some(wait)
    }
}
