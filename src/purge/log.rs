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

/// Most purges a [`LogOrder`] holds: as many entries as the log itself can
/// (every entry costs at least [`ENTRY_OVERHEAD`] of [`LOG_MAX_BYTES`]).
pub const ORDER_MAX: usize = LOG_MAX_BYTES / ENTRY_OVERHEAD;
/// Most purges written here and not yet seen in the log a [`LogOrder`] holds.
pub const WRITTEN_MAX: usize = 256;

/// The writer's order of the purges an isolate knows of: nonce → sequence
/// number for the entries of its current window of the log, and the purges
/// this isolate itself handed to the writer that its reads have not shown
/// yet. The log is the total order of the writes (a purge answered 200
/// after another has the higher number), so of two purges both known here
/// the one with the higher number is the newer write, whatever the purging
/// clocks said ([`LogOrder::newer`]; `purge::record::PurgeRecord::merge_read`
/// keeps its nonce).
///
/// A purge written here ([`LogOrder::wrote`]) was logged after every read
/// applied so far that does not hold it (a read answered after the logging
/// would hold it), so it is newer than every purge numbered here, until a
/// read asked after the hand-off was answered is applied: that read holds it
/// (it gets its number) or shows it is gone from the window, and it is
/// forgotten either way ([`LogOrder::read`]).
///
/// Bounded as the log is: entries before the window the last read covered
/// are forgotten, never more than [`ORDER_MAX`] (and [`WRITTEN_MAX`]). A log
/// that restarted numbers its purges again: the order is cleared
/// ([`LogOrder::clear`]) so that numbers of two logs are never compared.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogOrder {
    by_nonce: std::collections::HashMap<u64, u64>,
    by_seq: std::collections::BTreeMap<u64, u64>,
    /// Purges written here not yet in a read: nonce, when the hand-off was
    /// answered (this isolate's clock).
    written: Vec<(u64, UnixMillis)>,
}

/// Where a purge stands in a [`LogOrder`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rank {
    Logged(u64),
    /// Written here, after every numbered purge.
    Written,
}

impl LogOrder {
    /// Applies a read asked at `asked_at` whose window starts at sequence
    /// number `first`: learns its entries' numbers, forgets those before the
    /// window, and settles the purges written here that it answers for. An
    /// incomplete read (entries dropped) settles them all.
    pub fn read(&mut self, read: &LogRead, asked_at: UnixMillis) {
        self.keep_from(read.first);
        for e in &read.entries {
            if let Some(old) = self.by_nonce.insert(e.nonce, e.seq) {
                self.by_seq.remove(&old);
            }
            self.by_seq.insert(e.seq, e.nonce);
        }
        while self.by_seq.len() > ORDER_MAX {
            self.drop_first();
        }
        let known = &self.by_nonce;
        self.written
            .retain(|(n, at)| read.complete && *at > asked_at && !known.contains_key(n));
    }

    /// This isolate handed the purge written with `nonce` to the writer,
    /// which logged it; the hand-off was answered at `at`.
    pub fn wrote(&mut self, nonce: u64, at: UnixMillis) {
        if self.by_nonce.contains_key(&nonce) {
            return;
        }
        if self.written.len() >= WRITTEN_MAX {
            self.written.remove(0);
        }
        self.written.push((nonce, at));
    }

    fn keep_from(&mut self, first: u64) {
        while self
            .by_seq
            .first_key_value()
            .is_some_and(|(s, _)| *s < first)
        {
            self.drop_first();
        }
    }

    fn drop_first(&mut self) {
        if let Some((_, nonce)) = self.by_seq.pop_first() {
            self.by_nonce.remove(&nonce);
        }
    }

    /// Forgets everything (the log restarted).
    pub fn clear(&mut self) {
        *self = LogOrder::default();
    }

    fn rank(&self, nonce: u64) -> Option<Rank> {
        match self.by_nonce.get(&nonce) {
            Some(seq) => Some(Rank::Logged(*seq)),
            None => self
                .written
                .iter()
                .any(|(n, _)| *n == nonce)
                .then_some(Rank::Written),
        }
    }

    /// Whether the purge written with `read` is newer than the one written
    /// with `held`: `None` when the order does not say (one is unknown here,
    /// or both were written here and neither is in a read yet).
    pub fn newer(&self, held: u64, read: u64) -> Option<bool> {
        if held == read {
            return Some(false);
        }
        match (self.rank(held)?, self.rank(read)?) {
            (Rank::Logged(h), Rank::Logged(r)) => Some(r > h),
            (Rank::Logged(_), Rank::Written) => Some(true),
            (Rank::Written, Rank::Logged(_)) => Some(false),
            (Rank::Written, Rank::Written) => None,
        }
    }

    /// Purges numbered here.
    pub fn len(&self) -> usize {
        self.by_seq.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_seq.is_empty()
    }
}
