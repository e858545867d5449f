//! The fast path's purge log, as the `PurgeWriter` keeps it: a short,
//! bounded list of recent purges, each with a sequence number. Pure: the
//! writer's glue stores the index and the entries and answers reads.
//!
//! Why a log beside KV: Workers KV caches a read per location for 60 s, so a
//! purge written there reaches other data centres in about a minute. The
//! writer already holds every purge durably before the webhook is answered
//! (`purge::writer`); appending it to a log in the same request costs
//! nothing more, and each data centre reads "the log of the last few
//! minutes" once per `purge.poll` (`purge::fastview`), so a purge is seen
//! everywhere within poll + one round trip + the clock-skew allowance.
//! Purges older than the log's window are KV's job, as before.
//!
//! Bounds: an entry holds at most [`ENTRY_MAX_BYTES`] of names (a purge with
//! more is not logged: KV's bound applies to it, and its receipt says so);
//! the log holds at most [`LOG_MAX_BYTES`] and nothing older than
//! [`LOG_KEEP_MS`]. When the byte bound drops an entry that a reader's window
//! still covers, reads of that window say `complete: false`, and a reader
//! that had not seen it knows it missed part of the log.

use serde::{Deserialize, Serialize};

use super::record::{PurgeKind, PurgeRecord};
use crate::http::time::UnixMillis;

/// Most bytes of names one log entry holds (64 KiB: a purge of a few hundred
/// URLs). Durable Object storage takes values up to 128 KiB.
pub const ENTRY_MAX_BYTES: usize = 64 * 1024;
/// Most bytes of entries the log holds (the oldest are dropped first).
pub const LOG_MAX_BYTES: usize = 1024 * 1024;
/// Longest an entry is kept, by the writer's clock: longer than any backstop
/// bound `purge.kv_propagation` allows (at most 1 h), so an entry leaves the
/// log only once KV has it everywhere (or the byte bound forces it out).
pub const LOG_KEEP_MS: u64 = 2 * 3600 * 1000;
/// Bookkeeping counted per entry besides its names.
pub const ENTRY_OVERHEAD: usize = 64;

/// One purge in the log: its names (`GenName` text), when it was made (the
/// receiving worker's clock), hard or soft, and its nonce.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogEntry {
    pub seq: u64,
    pub at: UnixMillis,
    #[serde(default)]
    pub soft: bool,
    pub nonce: u64,
    pub names: Vec<String>,
}

impl LogEntry {
    /// The record this purge puts on each of its names (as the writer's KV
    /// write will, `purge::writer::Handoff::record`).
    pub fn record(&self) -> PurgeRecord {
        PurgeRecord::new(PurgeKind::of(self.soft), self.at).with_nonce(self.nonce)
    }

    /// What the entry counts against [`LOG_MAX_BYTES`].
    pub fn cost(names: &[String]) -> usize {
        names.iter().map(String::len).sum::<usize>() + ENTRY_OVERHEAD
    }
}

/// The writer's index of its log: the last sequence number given out, and
/// each entry held (sequence number, when the writer logged it, its cost).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogIndex {
    pub head: u64,
    pub items: Vec<(u64, UnixMillis, usize)>,
    /// When the newest entry dropped for the byte bound was logged: a read
    /// whose window reaches back past it is incomplete.
    #[serde(default)]
    pub evicted_at: Option<UnixMillis>,
}

/// What appending a purge does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Append {
    /// Store `entry` and the new index; delete the entries `drop` names.
    Logged {
        entry: LogEntry,
        index: LogIndex,
        drop: Vec<u64>,
    },
    /// Over [`ENTRY_MAX_BYTES`]: not logged; KV's bound applies to it.
    TooBig,
}

/// Appends a purge (`at`, `soft`, `nonce`, its `names`) at the writer's `now`.
/// Drops entries older than [`LOG_KEEP_MS`], then the oldest while over
/// [`LOG_MAX_BYTES`] (noting when the newest of those was logged).
pub fn append(
    index: &LogIndex,
    names: Vec<String>,
    at: UnixMillis,
    soft: bool,
    nonce: u64,
    now: UnixMillis,
) -> Append {
    let cost = LogEntry::cost(&names);
    if cost > ENTRY_MAX_BYTES {
        return Append::TooBig;
    }
    let mut index = index.clone();
    index.head += 1;
    let entry = LogEntry {
        seq: index.head,
        at,
        soft,
        nonce,
        names,
    };
    index.items.push((entry.seq, now, cost));
    let mut drop = Vec::new();
    let cut = UnixMillis(now.0.saturating_sub(LOG_KEEP_MS));
    while index.items.first().is_some_and(|i| i.1 < cut) {
        drop.push(index.items.remove(0).0);
    }
    let mut bytes: usize = index.items.iter().map(|i| i.2).sum();
    while bytes > LOG_MAX_BYTES && index.items.len() > 1 {
        let (seq, logged, c) = index.items.remove(0);
        bytes -= c;
        index.evicted_at = Some(index.evicted_at.map_or(logged, |e| e.max(logged)));
        drop.push(seq);
    }
    Append::Logged { entry, index, drop }
}

/// The entries a read of the last `window_ms` returns, and whether that
/// window is whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadPlan {
    /// Sequence numbers to load, oldest first.
    pub seqs: Vec<u64>,
    pub head: u64,
    /// The first sequence number the window covers (`head + 1` when empty).
    pub first: u64,
    pub complete: bool,
}

/// Which entries a read of the last `window_ms` (by the writer's clock)
/// returns: every entry logged since `now - window_ms`.
pub fn read_plan(index: &LogIndex, window_ms: u64, now: UnixMillis) -> ReadPlan {
    let cut = UnixMillis(now.0.saturating_sub(window_ms));
    let seqs: Vec<u64> = index
        .items
        .iter()
        .filter(|i| i.1 >= cut)
        .map(|i| i.0)
        .collect();
    ReadPlan {
        first: seqs.first().copied().unwrap_or(index.head + 1),
        head: index.head,
        complete: index.evicted_at.is_none_or(|e| e < cut),
        seqs,
    }
}

/// A read of the log as the writer answers it and data centres share it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogRead {
    /// The last sequence number given out.
    pub head: u64,
    /// The first sequence number of the window; `entries` are `first..=head`
    /// that the writer still holds.
    pub first: u64,
    /// No entry of the window was dropped for the byte bound.
    pub complete: bool,
    pub entries: Vec<LogEntry>,
}

impl LogRead {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn parse(text: &str) -> Option<LogRead> {
        serde_json::from_str(text).ok()
    }
}
