//! The zone purge layer in the purge writer: a hand-off's zone work is
//! queued durably ([`enqueue`], before the webhook's 200) and the alarm
//! sends what the plan's rate limit allows ([`send_due`]), coalescing the
//! tags of every webhook waiting (`purge::zone_queue` decides; this is the
//! I/O around it). Each job's outcome goes into its receipt
//! (`layers.zone_purge`: `queued` → `ok` / `failed`) and the log
//! (`zone_purge_sent`, `zone_purge_retry`, `zone_purge_failed`,
//! `zone_purge_overflow`).

use super::platform::IoError;
use super::writer_host::WriterHost;
use crate::http::headers::Headers;
use crate::http::time::UnixMillis;
use crate::purge::receipt::{Receipt, ZonePurgeStatus};
use crate::purge::writer::ReceiptHandoff;
use crate::purge::zone::{outcome, CallOutcome, CallResult, ZoneWork};
use crate::purge::zone_queue::{
    after_call, due, enqueue as queue_work, next_call, Enqueued, Finished, PlannedCall, ReceiptRef,
};
use std::time::Duration;

/// Longest wait for one zone purge API call.
pub const ZONE_CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Most calls one alarm makes (the rest wait for the next alarm, set at
/// once): an alarm stays short however large the plan's burst.
pub const CALLS_PER_ALARM: usize = 10;

/// Queues a hand-off's zone work (with the receipt to update when it ends)
/// and sets the alarm for when it may be sent.
pub async fn enqueue<H: WriterHost>(
    h: &H,
    work: &ZoneWork,
    receipt: Option<&ReceiptHandoff>,
    now: UnixMillis,
) -> Result<(), IoError> {
    let receipt = receipt.map(|r| ReceiptRef {
        key: r.key.clone(),
        until: now.saturating_add(r.ttl_ms),
    });
    let (queue, how) = queue_work(h.zone_load().await?, work, receipt, now);
    h.zone_store(&queue).await?;
    if how != Enqueued::Queued {
        let fields = serde_json::json!({
            "jobs": queue.jobs.len(),
            "untracked": how == Enqueued::Untracked,
            "then": "purge_everything",
        });
        h.log("zone_purge_overflow", fields);
    }
    if let Some(at) = due(&queue, now) {
        h.schedule(at).await?;
    }
    Ok(())
}

/// Sends the zone calls that are due (at most [`CALLS_PER_ALARM`]); when the
/// next may go, if anything still waits. The queue is stored with the rate
/// limit's reservation before each call and with its outcome after, read
/// again in between (hand-offs may arrive during the call).
pub async fn send_due<H: WriterHost>(h: &H) -> Result<Option<UnixMillis>, IoError> {
    for _ in 0..CALLS_PER_ALARM {
        let Some(mut q) = h.zone_load().await? else {
            return Ok(None);
        };
        let now = h.now();
        let Some(at) = due(&q, now) else {
            return Ok(None);
        };
        let Some(call) = next_call(&q).filter(|_| at <= now) else {
            return Ok(Some(at));
        };
        let Some(token) = h.zone_token() else {
            // No token in the writer: nothing can be sent; the jobs fail.
            let ended = q.jobs.drain(..).map(|j| Finished {
                seq: j.seq,
                receipt: j.receipt,
                ok: false,
            });
            let ended: Vec<Finished> = ended.collect();
            h.zone_store(&q).await?;
            h.log(
                "zone_purge_failed",
                serde_json::json!({ "reason": "EDGECACHE_ZONE_TOKEN unset", "jobs": ended.len() }),
            );
            settle(h, &ended, now).await?;
            return Ok(None);
        };
        q.limit.reserve(now, u64::MAX);
        h.zone_store(&q).await?;
        let result = post(h, &q.endpoint, &token, &call).await;
        let Some(mut q) = h.zone_load().await? else {
            return Ok(None);
        };
        let done = h.now();
        let how = outcome(q.failures, &result);
        let ended = after_call(&mut q, &call, how, done);
        h.zone_store(&q).await?;
        report(h, &call, &result, how, &ended);
        settle(h, &ended, done).await?;
    }
    let q = h.zone_load().await?;
    Ok(q.and_then(|q| due(&q, h.now())))
}

/// One API call (`Authorization: Bearer`, JSON).
async fn post<H: WriterHost>(h: &H, url: &str, token: &str, call: &PlannedCall) -> CallResult {
    let mut headers = Headers::new();
    headers.append("authorization", &format!("Bearer {token}"));
    headers.append("content-type", "application/json");
    let body = call.body.to_string();
    match h.api_post(url, &headers, &body, ZONE_CALL_TIMEOUT).await {
        Ok((status, answer)) => CallResult::Answered {
            status,
            retry_after: answer.get_joined("retry-after"),
        },
        Err(e) => {
            h.log("zone_purge_no_answer", serde_json::json!({ "error": e.0 }));
            CallResult::NoResponse
        }
    }
}

/// The log line of a call.
fn report<H: WriterHost>(
    h: &H,
    call: &PlannedCall,
    result: &CallResult,
    how: CallOutcome,
    ended: &[Finished],
) {
    let status = match result {
        CallResult::Answered { status, .. } => Some(*status),
        CallResult::NoResponse => None,
    };
    let fields = serde_json::json!({
        "status": status,
        "tags": call.tags.len(),
        "everything": call.everything,
        "jobs_done": ended.len(),
    });
    match how {
        CallOutcome::Done => h.log("zone_purge_sent", fields),
        CallOutcome::Retry(ms) => h.log(
            "zone_purge_retry",
            serde_json::json!({ "status": status, "retry_in_ms": ms, "tags": call.tags.len() }),
        ),
        CallOutcome::Refused => h.log("zone_purge_failed", fields),
    }
}

/// Writes each ended job's outcome into its receipt (`layers.zone_purge`),
/// when the receipt is still kept.
async fn settle<H: WriterHost>(h: &H, ended: &[Finished], now: UnixMillis) -> Result<(), IoError> {
    for f in ended {
        let Some(r) = &f.receipt else { continue };
        let Some(text) = h.receipt_get(&r.key, now).await? else {
            continue;
        };
        let Some(mut receipt) = Receipt::parse(&text) else {
            continue;
        };
        receipt.layers.zone_purge.status = match f.ok {
            true => ZonePurgeStatus::Ok,
            false => ZonePurgeStatus::Failed,
        };
        h.receipt_put(&r.key, r.until, &receipt.to_json(), now)
            .await?;
    }
    Ok(())
}
