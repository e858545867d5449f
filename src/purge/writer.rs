//! The single writer of purge records: what the `PurgeWriter` Durable Object
//! decides, as pure functions (its sequence is `flow::writer`).
//!
//! Workers KV takes at most one write per second per key (more gets 429) and
//! 1,000 operations per invocation. A burst of webhooks that all name
//! `course_list` would make a write per webhook to one key; most would fail.
//! So a webhook hands its names to one writer, which records them durably
//! (the webhook is answered 200 only then) and writes each KV key at most once
//! a second, the merge of the name's purges ([`PurgeRecord::merge`]: the later
//! hard and soft times, the newest purge's nonce): fifty purges of one name in
//! a second become one or two writes, and none is lost. A soft purge must keep
//! the name's last hard purge, so a write that carries one first reads the
//! value (in the writer's own location, where its own writes are visible at
//! once) and writes the merge ([`FlushWrite::read_first`]).
//!
//! Each name the writer holds is a [`Slot`], stored under its KV key: the
//! purge record still to be written, when it first waited, and the earliest time
//! its key may be written again. A flush ([`flush_plan`]) writes the due slots,
//! oldest first, at most [`WRITES_PER_FLUSH`] per invocation; a refused write
//! (429) stays pending and is tried again a second later. The writer refuses
//! new names ([`admit`]) when [`MAX_PENDING`] already wait: the webhook then
//! answers 503 with `Retry-After` rather than promise a purge it cannot make
//! within the bound.

use serde::{Deserialize, Serialize};

use super::generations::KV_WRITE_INTERVAL_MS;
use super::record::{PurgeKind, PurgeRecord};
use crate::config::PurgeSettings;
use crate::http::time::UnixMillis;

/// Most KV writes one flush (one alarm invocation) makes: half of the 1,000
/// operations an invocation may make, leaving room for nothing else to fail.
pub const WRITES_PER_FLUSH: usize = 500;
/// Most names waiting to be written; a webhook that would add more is refused
/// (503). Two flushes' worth, so every waiting name is written within
/// [`FLUSH_BOUND_SECS`].
pub const MAX_PENDING: usize = 2 * WRITES_PER_FLUSH;
/// Longest a name waits in the writer before its KV write starts, seconds:
/// its key's one-second spacing, two flushes for the queue ahead of it, and a
/// second for the alarm and the write themselves.
pub const FLUSH_BOUND_SECS: u64 = 3;
/// `Retry-After` when the writer is full: a flush frees up to
/// [`WRITES_PER_FLUSH`] places a second.
pub const FULL_RETRY_AFTER_SECS: u64 = 1;

/// Who writes a purge's records to KV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writer {
    /// The webhook itself, one KV write per name (no Durable Object bound):
    /// a second purge of a name within a second gets 503.
    Direct,
    /// The `PurgeWriter` Durable Object.
    Single,
}

/// Seconds after a purge's 200 by which no data centre serves an entry it
/// covers: the writer's delay (for [`Writer::Single`]), KV propagation to other
/// locations, the isolate memo, and the clock-skew allowance.
pub fn staleness_bound(settings: &PurgeSettings, writer: Writer) -> u64 {
    let flush = match writer {
        Writer::Direct => 0,
        Writer::Single => FLUSH_BOUND_SECS,
    };
    flush
        .saturating_add(settings.kv_propagation)
        .saturating_add(settings.generation_memo)
        .saturating_add(settings.clock_skew)
}

/// What a webhook hands the writer: the KV keys of its names, the purge time,
/// whether it is soft, and the purge's nonce.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Handoff {
    pub at: UnixMillis,
    pub keys: Vec<String>,
    #[serde(default)]
    pub soft: bool,
    pub nonce: u64,
    /// The purge's names (`GenName` text), for the fast path's log
    /// (`purge::log`); logged only when `log` is set (`purge.poll` > 0).
    #[serde(default)]
    pub names: Vec<String>,
    #[serde(default)]
    pub log: bool,
    /// The purge's receipt, for replay detection in the writer's own storage
    /// (exact, unlike KV's eventually consistent reads).
    #[serde(default)]
    pub receipt: Option<ReceiptHandoff>,
    /// The zone purge layer's work (`purge.zone_id` and the token set, a
    /// hard purge): the writer queues it durably and makes the calls
    /// (`purge::zone_queue`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<super::zone::ZoneWork>,
}

/// A receipt the writer keeps: under `key` (`purge::receipt::receipt_key`)
/// for `ttl_ms` (`purge::receipt::receipt_ttl`), the receipt's JSON as it is
/// when the purge is recorded (the writer settles which bound applies).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptHandoff {
    pub key: String,
    pub ttl_ms: u64,
    pub json: String,
}

/// The writer's answer to an accepted handoff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stored {
    /// The purge went into the fast path's log (its receipt states the fast
    /// bound only then).
    pub logged: bool,
    /// The same `webhook-id` was recorded before: nothing was done, and
    /// `receipt` is the first one.
    #[serde(default)]
    pub replayed: bool,
    /// The receipt the writer keeps (JSON).
    #[serde(default)]
    pub receipt: Option<String>,
}

impl Stored {
    /// The answer to a new purge: `receipt` settled for `logged`.
    pub fn recorded(logged: bool, receipt: Option<&ReceiptHandoff>) -> Stored {
        let receipt = receipt
            .and_then(|r| super::receipt::Receipt::parse(&r.json))
            .map(|r| r.settled(logged).to_json());
        Stored {
            logged,
            replayed: false,
            receipt,
        }
    }

    /// The answer to a redelivery: the receipt stored the first time.
    pub fn replay(stored: String) -> Stored {
        Stored {
            logged: false,
            replayed: true,
            receipt: Some(stored),
        }
    }
}

impl Handoff {
    /// The record this purge adds to each of its names.
    pub fn record(&self) -> PurgeRecord {
        PurgeRecord::new(PurgeKind::of(self.soft), self.at).with_nonce(self.nonce)
    }
}

/// One KV key the writer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    /// The purge record still to be written (the merge of those received),
    /// if any; stored as its KV value text.
    #[serde(rename = "p", with = "record_text")]
    pub pending: Option<PurgeRecord>,
    /// When the oldest purge not yet written arrived: the queue's order.
    #[serde(rename = "s")]
    pub since: UnixMillis,
    /// The earliest time this key may be written again.
    #[serde(rename = "n")]
    pub not_before: UnixMillis,
}

/// The writer's answer to a handoff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// Store these slots; only then may the webhook be answered 200.
    Accept(Vec<(String, Slot)>),
    /// Too many names wait already: 503, `Retry-After` seconds.
    Full { retry_after: u64 },
}

/// Merges `handoff` into the slots it names (`current`: every slot held, by
/// key). Refuses it whole when it would make more than [`MAX_PENDING`] names
/// wait; names already waiting cost no place (they coalesce).
pub fn admit(
    current: &std::collections::BTreeMap<String, Slot>,
    handoff: &Handoff,
    now: UnixMillis,
) -> Admission {
    let waiting = current.values().filter(|s| s.pending.is_some()).count();
    let mut keys: Vec<&String> = handoff.keys.iter().collect();
    keys.sort();
    keys.dedup();
    let new = keys
        .iter()
        .filter(|k| current.get(**k).is_none_or(|s| s.pending.is_none()))
        .count();
    if new > 0 && waiting.saturating_add(new) > MAX_PENDING {
        return Admission::Full {
            retry_after: FULL_RETRY_AFTER_SECS,
        };
    }
    let slots = keys
        .into_iter()
        .map(|k| {
            (
                k.clone(),
                enqueue(current.get(k).copied(), handoff.record(), now),
            )
        })
        .collect();
    Admission::Accept(slots)
}

/// A slot after a purge (`record`) arrives: the merge waits
/// ([`PurgeRecord::merge`], the newest purge's nonce).
pub fn enqueue(slot: Option<Slot>, record: PurgeRecord, now: UnixMillis) -> Slot {
    match slot {
        Some(s) => Slot {
            pending: Some(s.pending.map_or(record, |p| p.merge(record))),
            since: if s.pending.is_some() { s.since } else { now },
            not_before: s.not_before,
        },
        None => Slot {
            pending: Some(record),
            since: now,
            not_before: now,
        },
    }
}

/// One KV write of a flush.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlushWrite {
    pub key: String,
    /// The record to write (merged with the value read, when `read_first`).
    pub record: PurgeRecord,
    /// The record carries a soft purge: read the value first and write
    /// `current.merge(record)`, so the name's last hard purge is kept.
    pub read_first: bool,
}

/// What one flush does.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FlushPlan {
    /// KV writes, oldest first; at most [`WRITES_PER_FLUSH`] KV operations in
    /// all (a write that reads first costs two).
    pub writes: Vec<FlushWrite>,
    /// Slots with nothing waiting whose spacing has passed: forget them.
    pub forget: Vec<String>,
}

/// The due slots (something waiting, spacing passed), oldest first, up to
/// [`WRITES_PER_FLUSH`]; and the idle slots to forget.
pub fn flush_plan(slots: &std::collections::BTreeMap<String, Slot>, now: UnixMillis) -> FlushPlan {
    let mut due: Vec<(&String, &Slot, PurgeRecord)> = slots
        .iter()
        .filter(|(_, s)| s.not_before <= now)
        .filter_map(|(k, s)| s.pending.map(|p| (k, s, p)))
        .collect();
    due.sort_by(|a, b| (a.1.since, a.0).cmp(&(b.1.since, b.0)));
    let mut ops = 0;
    let writes = due
        .into_iter()
        .map(|(k, _, p)| FlushWrite {
            key: k.clone(),
            record: p,
            read_first: p.reads_first(),
        })
        .take_while(|w| {
            ops += if w.read_first { 2 } else { 1 };
            ops <= WRITES_PER_FLUSH
        })
        .collect();
    let forget = slots
        .iter()
        .filter(|(_, s)| s.pending.is_none() && s.not_before <= now)
        .map(|(k, _)| k.clone())
        .collect();
    FlushPlan { writes, forget }
}

/// How a KV write went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    Written,
    /// Refused (429, the operation limit) or failed: try again later.
    Failed,
}

/// A slot after the write of the pending record `written` (the slot read
/// again after the write: a newer purge may have arrived meanwhile, and it
/// stays waiting). Either way the key is not written again within a second.
pub fn after_write(
    slot: Slot,
    written: &PurgeRecord,
    outcome: WriteOutcome,
    now: UnixMillis,
) -> Slot {
    let pending = match (outcome, slot.pending) {
        (WriteOutcome::Written, Some(p)) if p == *written => None,
        (_, p) => p,
    };
    Slot {
        pending,
        since: slot.since,
        not_before: now.saturating_add(KV_WRITE_INTERVAL_MS),
    }
}

/// When the next flush should run: the earliest time a slot is due or can be
/// forgotten; `None` when the writer holds nothing.
pub fn next_flush(
    slots: &std::collections::BTreeMap<String, Slot>,
    now: UnixMillis,
) -> Option<UnixMillis> {
    slots.values().map(|s| s.not_before.max(now)).min()
}

/// [`Slot::pending`] as its KV value text (`PurgeRecord::encode`), strictly
/// parsed back.
mod record_text {
    use super::PurgeRecord;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(r: &Option<PurgeRecord>, s: S) -> Result<S::Ok, S::Error> {
        match r.and_then(|r| r.encode()) {
            Some(text) => s.serialize_some(&text),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PurgeRecord>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(text) => PurgeRecord::parse(&text)
                .map(Some)
                .ok_or_else(|| serde::de::Error::custom("not a purge record")),
        }
    }
}
