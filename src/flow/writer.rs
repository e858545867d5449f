//! The purge writer's sequence (the `PurgeWriter` Durable Object), written
//! once over [`WriterHost`]: the hand-off ([`accept`], answered by
//! [`serve`]), the log read ([`read_log`]) and the alarm ([`alarm`]: the
//! flush to KV, then the zone purge calls of `flow::writer_zone`). The
//! decisions are `purge::writer` (slots), `purge::log` (the fast path's log)
//! and `purge::zone_queue`; the wasm glue (`glue::writer`) implements the
//! host over Durable Object storage and the simulator (`sim::writer`) over
//! its model, so both run this code. What a host must guarantee is
//! `flow::writer_host`'s doc.

use super::platform::{IoError, Reply};
use super::reply::{writer_bad_handoff, writer_full, writer_stored};
pub use super::writer_host::WriterHost;
use super::writer_zone;
use crate::http::time::UnixMillis;
use crate::purge::generations::kv_expiration_ttl;
use crate::purge::log::{append, read_plan, Append, LogRead};
use crate::purge::record::merge_over;
use crate::purge::webhook::generation_ttl;
use crate::purge::writer::{
    admit, after_write, flush_plan, next_flush, Admission, FlushWrite, Handoff, Slot, Stored,
    WriteOutcome,
};
use futures_util::future::join_all;
use std::collections::BTreeMap;

/// What the writer made of a hand-off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    /// Recorded durably (or a replay: `Stored::replayed`).
    Stored(Stored),
    /// Too many names wait already: try again after `retry_after` seconds.
    Full { retry_after: u64 },
}

/// A request to the writer, as the host received it.
pub enum WriterRequest<'a> {
    /// `POST /handoff` with this body text.
    Handoff(&'a str),
    /// `GET /log?window_ms=N` (`None` when absent or not a number: 0).
    Log { window_ms: Option<u64> },
}

/// Answers a request to the writer: the hand-off's 200 (its [`Stored`] as
/// JSON), 503 with `Retry-After` when full, 400 for a body that is not a
/// hand-off; the log read's JSON.
pub async fn serve<H: WriterHost, B, W>(
    h: &H,
    req: WriterRequest<'_>,
) -> Result<Reply<B, W>, IoError> {
    let text = match req {
        WriterRequest::Log { window_ms } => read_log(h, window_ms.unwrap_or(0)).await?.to_json(),
        WriterRequest::Handoff(body) => {
            let Ok(handoff) = serde_json::from_str::<Handoff>(body) else {
                return Ok(writer_bad_handoff());
            };
            match accept(h, &handoff).await? {
                Accepted::Full { retry_after } => return Ok(writer_full(retry_after)),
                Accepted::Stored(stored) => {
                    serde_json::to_string(&stored).map_err(|e| IoError(e.to_string()))?
                }
            }
        }
    };
    Ok(writer_stored(text))
}

/// A hand-off: a redelivered webhook gets its first receipt; else the names
/// are admitted into their slots (`purge::writer::admit`), the alarm set,
/// the purge logged for the fast path, its zone work queued, and its
/// receipt stored. `Stored` only once all of that is durable.
pub async fn accept<H: WriterHost>(h: &H, handoff: &Handoff) -> Result<Accepted, IoError> {
    let now = h.now();
    if let Some(r) = &handoff.receipt {
        if let Some(text) = h.receipt_get(&r.key, now).await? {
            return Ok(Accepted::Stored(Stored::replay(text)));
        }
    }
    let slots = h.load().await?;
    let updates: BTreeMap<String, Slot> = match admit(&slots, handoff, now) {
        Admission::Full { retry_after } => {
            let fields = serde_json::json!({ "names": handoff.keys.len() });
            h.log("writer_full", fields);
            return Ok(Accepted::Full { retry_after });
        }
        Admission::Accept(updates) => updates.into_iter().collect(),
    };
    h.store(&updates).await?;
    if let Some(at) = next_flush(&updates, now) {
        h.schedule(at).await?;
    }
    let logged = handoff.log && log_append(h, handoff, now).await?;
    if let Some(work) = &handoff.zone {
        writer_zone::enqueue(h, work, handoff.receipt.as_ref(), now).await?;
    }
    let stored = Stored::recorded(logged, handoff.receipt.as_ref());
    if let (Some(r), Some(text)) = (&handoff.receipt, &stored.receipt) {
        h.receipt_put(&r.key, now.saturating_add(r.ttl_ms), text, now)
            .await?;
    }
    Ok(Accepted::Stored(stored))
}

/// Appends `handoff` to the log (`purge::log::append`); whether it was logged.
async fn log_append<H: WriterHost>(
    h: &H,
    handoff: &Handoff,
    now: UnixMillis,
) -> Result<bool, IoError> {
    let index = h.log_index().await?;
    let names = handoff.names.clone();
    let (at, soft, nonce) = (handoff.at, handoff.soft, handoff.nonce);
    let Append::Logged { entry, index, drop } = append(&index, names, at, soft, nonce, now) else {
        return Ok(false);
    };
    h.log_append(&index, &entry, &drop).await?;
    Ok(true)
}

/// The log of the last `window_ms` by the writer's clock (`GET /log`).
pub async fn read_log<H: WriterHost>(h: &H, window_ms: u64) -> Result<LogRead, IoError> {
    let index = h.log_index().await?;
    let plan = read_plan(&index, window_ms, h.now());
    let entries = h.log_entries(&plan.seqs).await?;
    Ok(LogRead {
        head: plan.head,
        first: plan.first,
        complete: plan.complete,
        entries,
    })
}

/// The alarm: one flush of the due slots to KV (`purge::writer::flush_plan`,
/// the writes concurrent), the zone calls that are due, then the next alarm
/// if anything is still waiting. `Err` (a storage failure) leaves what was
/// not done waiting; the host runs the alarm again.
pub async fn alarm<H: WriterHost>(h: &H) -> Result<(), IoError> {
    let slots = h.load().await?;
    let plan = flush_plan(&slots, h.now());
    if !plan.forget.is_empty() {
        h.forget(&plan.forget).await?;
    }
    let outcomes = join_all(plan.writes.iter().map(|w| write_one(h, w))).await;
    // Read the written slots again: a purge may have arrived during the writes.
    let keys: Vec<String> = plan.writes.iter().map(|w| w.key.clone()).collect();
    let again = h.load_some(&keys).await?;
    let done = h.now();
    let updates: BTreeMap<String, Slot> = plan
        .writes
        .iter()
        .zip(&outcomes)
        .filter_map(|(w, o)| {
            again
                .get(&w.key)
                .map(|s| (w.key.clone(), after_write(*s, &w.record, *o, done)))
        })
        .collect();
    if !updates.is_empty() {
        h.store(&updates).await?;
    }
    let failed = outcomes
        .iter()
        .filter(|o| **o == WriteOutcome::Failed)
        .count();
    let fields = serde_json::json!({
        "written": outcomes.len() - failed,
        "failed": failed,
        "forgot": plan.forget.len(),
    });
    h.log("writer_flush", fields);
    let zone_next = writer_zone::send_due(h).await?;
    let now = h.now();
    let next = next_flush(&h.load().await?, now);
    let next = match (next, zone_next) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    if let Some(at) = next {
        h.schedule(at).await?;
    }
    Ok(())
}

/// One KV write of a flush (reading the value first when it says so, and
/// writing the merge: `purge::record::merge_over`).
async fn write_one<H: WriterHost>(h: &H, w: &FlushWrite) -> WriteOutcome {
    let current = if w.read_first {
        match h.kv_get(&w.key).await {
            Ok(v) => v,
            Err(e) => return failed(h, &e),
        }
    } else {
        None
    };
    let value = merge_over(current.as_deref(), w.record);
    let ttl = kv_expiration_ttl(generation_ttl());
    match h.kv_put(&w.key, &value, ttl).await {
        Ok(()) => WriteOutcome::Written,
        Err(e) => failed(h, &e),
    }
}

fn failed<H: WriterHost>(h: &H, e: &IoError) -> WriteOutcome {
    h.log("writer_write_failed", serde_json::json!({ "error": e.0 }));
    WriteOutcome::Failed
}
