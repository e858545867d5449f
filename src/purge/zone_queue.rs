//! The purge writer's zone purge queue: the zone work of every webhook
//! (`purge::zone::ZoneWork`), kept durably in the writer until the API has
//! taken it, and sent as few calls as the plan allows. Pure: the writer's
//! sequence (`flow::writer_zone`) loads it, asks what to send, makes the
//! call, and stores what this module makes of the answer.
//!
//! - **One rate limit.** The queue holds the account's [`RateLimit`]; every
//!   call of the deployment goes through the one writer, so the plan's
//!   limit holds however many isolates receive webhooks.
//! - **Coalescing.** A call carries the tags of the oldest jobs first, each
//!   tag once, up to the plan's items per call ([`next_call`]): a tag named by
//!   fifty webhooks while the limit holds calls back is sent once.
//! - **Nothing lost.** A job leaves the queue only when every tag it named was
//!   in a call the API accepted (or refused for good: a 400 or 403 would be
//!   refused again), or a `purge_everything` covered it. A call that gets
//!   429, 5xx or no answer leaves the queue as it was, and the next attempt
//!   waits for `Retry-After` (or backs off). The queue is stored before and
//!   after each call, so an alarm that fails in between only sends the call
//!   again (purging is idempotent).
//! - **Bounded.** At most [`ZONE_MAX_BYTES`] of jobs (Durable Object storage
//!   takes values up to 128 KiB). A job that would pass it turns the queue
//!   into one `purge_everything` (every job's tags are dropped, the jobs
//!   stay to learn the outcome): the zone's whole cache is purged, which is
//!   more than was asked, never less ([`Enqueued::Overflowed`]). Past
//!   [`MAX_JOBS`] jobs the newcomer is folded into the newest job and its
//!   receipt is not updated ([`Enqueued::Untracked`]; the log says it).

use serde::{Deserialize, Serialize};

use super::zone::{CallOutcome, RateLimit, ZoneWork};
use crate::http::time::UnixMillis;

/// Most bytes the queue holds (its JSON, estimated by [`ZoneJob::cost`]).
pub const ZONE_MAX_BYTES: usize = 96 * 1024;
/// What a job costs besides its tags (its receipt key, numbers, JSON).
pub const JOB_OVERHEAD: usize = 160;
/// Most jobs whose receipts are updated.
pub const MAX_JOBS: usize = ZONE_MAX_BYTES / JOB_OVERHEAD;

/// A receipt to update when a job ends: its key in the writer's storage and
/// how long it is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptRef {
    pub key: String,
    pub until: UnixMillis,
}

/// One webhook's zone work, waiting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneJob {
    pub seq: u64,
    #[serde(default)]
    pub receipt: Option<ReceiptRef>,
    /// Tags not yet taken by the API.
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub everything: bool,
    /// A call carrying some of its tags was refused for good.
    #[serde(default)]
    pub failed: bool,
    pub since: UnixMillis,
}

impl ZoneJob {
    fn cost(&self) -> usize {
        JOB_OVERHEAD + self.tags.iter().map(|t| t.len() + 3).sum::<usize>()
    }
}

/// The writer's zone queue (one per deployment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneQueue {
    /// The API endpoint of the newest work.
    pub endpoint: String,
    pub per_call: usize,
    pub limit: RateLimit,
    pub next_seq: u64,
    pub jobs: Vec<ZoneJob>,
    /// No call before this (`Retry-After`, or backoff after a refusal).
    pub not_before: UnixMillis,
    /// Refusals (429, 5xx, no answer) in a row.
    pub failures: u32,
}

/// What enqueuing a webhook's work did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    Queued,
    /// The queue was full: everything is purged instead.
    Overflowed,
    /// Past [`MAX_JOBS`]: folded into the newest job (purge everything),
    /// its receipt not updated.
    Untracked,
}

/// Adds `work` to `queue` (a new queue when `None`): the endpoint and limits
/// become the newest work's (the rate limit's state is kept while the plan
/// stays the same).
pub fn enqueue(
    queue: Option<ZoneQueue>,
    work: &ZoneWork,
    receipt: Option<ReceiptRef>,
    now: UnixMillis,
) -> (ZoneQueue, Enqueued) {
    let fresh = RateLimit::new(work.limits);
    let mut q = queue.unwrap_or(ZoneQueue {
        endpoint: String::new(),
        per_call: work.limits.per_call,
        limit: fresh,
        next_seq: 0,
        jobs: Vec::new(),
        not_before: UnixMillis(0),
        failures: 0,
    });
    q.endpoint = work.endpoint.clone();
    q.per_call = work.limits.per_call.max(1);
    if (q.limit.every_ms, q.limit.burst) != (fresh.every_ms, fresh.burst) {
        q.limit = RateLimit {
            tat: q.limit.tat,
            ..fresh
        };
    }
    if q.jobs.len() >= MAX_JOBS {
        for j in &mut q.jobs {
            j.tags.clear();
        }
        if let Some(last) = q.jobs.last_mut() {
            last.everything = true;
        }
        return (q, Enqueued::Untracked);
    }
    if work.tags.is_empty() && !work.everything {
        // Nothing the API could purge (`zone::work` makes no such work).
        return (q, Enqueued::Queued);
    }
    q.next_seq += 1;
    let mut job = ZoneJob {
        seq: q.next_seq,
        receipt,
        tags: work.tags.clone(),
        everything: work.everything,
        failed: false,
        since: now,
    };
    let used: usize = q.jobs.iter().map(ZoneJob::cost).sum();
    let mut outcome = Enqueued::Queued;
    if used + job.cost() > ZONE_MAX_BYTES {
        for j in &mut q.jobs {
            j.tags.clear();
        }
        job.tags.clear();
        job.everything = true;
        outcome = Enqueued::Overflowed;
    }
    q.jobs.push(job);
    (q, outcome)
}

/// One call to make: its JSON body, the jobs it covers (`seq` up to `upto`)
/// and what it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedCall {
    pub body: serde_json::Value,
    pub upto: u64,
    pub tags: Vec<String>,
    pub everything: bool,
}

/// The next call: `purge_everything` when any job asks for it (it covers
/// every job), else the waiting tags, oldest job first, each once, up to the
/// plan's items per call. `None` when nothing waits.
pub fn next_call(q: &ZoneQueue) -> Option<PlannedCall> {
    let upto = q.jobs.iter().map(|j| j.seq).max()?;
    if q.jobs.iter().any(|j| j.everything) {
        return Some(PlannedCall {
            body: serde_json::json!({ "purge_everything": true }),
            upto,
            tags: Vec::new(),
            everything: true,
        });
    }
    let mut tags: Vec<String> = Vec::new();
    for tag in q.jobs.iter().flat_map(|j| &j.tags) {
        if tags.len() >= q.per_call {
            break;
        }
        if !tags.contains(tag) {
            tags.push(tag.clone());
        }
    }
    Some(PlannedCall {
        body: serde_json::json!({ "tags": tags }),
        upto,
        tags,
        everything: false,
    })
}

/// When the next call may go: the later of the backoff and the rate limit;
/// `None` when nothing waits.
pub fn due(q: &ZoneQueue, now: UnixMillis) -> Option<UnixMillis> {
    if q.jobs.is_empty() {
        return None;
    }
    Some(q.limit.earliest(now).max(q.not_before))
}

/// A job that ended, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    pub seq: u64,
    pub receipt: Option<ReceiptRef>,
    /// Every tag it named was purged (else one was refused for good).
    pub ok: bool,
}

/// The queue after `call` ended with `outcome` at `now` (`q`: the queue as
/// stored now, which may hold jobs that arrived during the call: those keep
/// their tags). The jobs that ended, oldest first.
pub fn after_call(
    q: &mut ZoneQueue,
    call: &PlannedCall,
    outcome: CallOutcome,
    now: UnixMillis,
) -> Vec<Finished> {
    let refused = match outcome {
        CallOutcome::Retry(ms) => {
            q.failures = q.failures.saturating_add(1);
            q.not_before = now.saturating_add(ms);
            return Vec::new();
        }
        CallOutcome::Done => false,
        CallOutcome::Refused => true,
    };
    q.failures = 0;
    q.not_before = UnixMillis(0);
    let mut finished = Vec::new();
    q.jobs.retain_mut(|j| {
        if j.seq > call.upto {
            return true;
        }
        let before = j.tags.len();
        if !call.everything {
            j.tags.retain(|t| !call.tags.contains(t));
        }
        if refused && (call.everything || j.tags.len() < before) {
            j.failed = true;
        }
        let covered = if call.everything {
            true
        } else {
            j.tags.is_empty() && !j.everything
        };
        if covered {
            finished.push(Finished {
                seq: j.seq,
                receipt: j.receipt.clone(),
                ok: !j.failed,
            });
        }
        !covered
    });
    finished
}
