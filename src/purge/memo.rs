//! The isolate's memo of generation reads: each KV value is read at most once
//! per `purge.generation_memo` seconds per isolate. Pure: time is passed in.

use super::generations::{Gen, GenName, Generations};
use super::log::LogOrder;
use super::record::PurgeRecord;
use crate::http::time::UnixSecs;
use std::collections::{BTreeMap, HashMap};

/// Most bytes an isolate's memo holds (1 MiB: thousands of typical names, and
/// at least a hundred of the longest URLs).
pub const MEMO_MAX_BYTES: usize = 1024 * 1024;
/// Per-entry bookkeeping counted besides the name (map slots, the value, the
/// time and sequence number): an estimate, so that short names are not free.
pub const MEMO_ENTRY_OVERHEAD: usize = 64;

/// An isolate-level memo of generation reads. Pure: time is passed in.
/// An entry is valid for `ttl` seconds after it was put (`ttl == 0` disables the memo).
/// When full, the oldest entry is evicted.
#[derive(Debug, Clone)]
pub struct Memo {
    ttl: u64,
    max_bytes: usize,
    /// Bytes held, as [`Memo::entry_cost`] counts them.
    used: usize,
    seq: u64,
    /// The clock-skew allowance (`purge.clock_skew`) in ms: how far apart two
    /// purges' times must be for their order to be certain
    /// ([`PurgeRecord::merge_read`]); unknown (never certain) until
    /// [`Memo::with_clock_skew`].
    skew_ms: u64,
    /// Value, when it was put, and its insertion sequence number.
    entries: HashMap<GenName, (Gen, UnixSecs, u64)>,
    order: BTreeMap<(UnixSecs, u64), GenName>,
}

impl Memo {
    /// `ttl` is `PurgeSettings::generation_memo`; `max_bytes` bounds what the
    /// entries hold (names are URLs of up to 8 KiB: a bound by count would
    /// not bound memory). The glue uses [`MEMO_MAX_BYTES`].
    pub fn new(ttl: u64, max_bytes: usize) -> Memo {
        Memo {
            ttl,
            max_bytes,
            used: 0,
            seq: 0,
            skew_ms: u64::MAX,
            entries: HashMap::new(),
            order: BTreeMap::new(),
        }
    }

    /// The memo of an isolate whose purging clocks differ by at most
    /// `skew_secs` (`purge.clock_skew`).
    pub fn with_clock_skew(self, skew_secs: u64) -> Memo {
        Memo {
            skew_ms: skew_secs.saturating_mul(1000),
            ..self
        }
    }

    /// When to put a purge this isolate was told of (one it received, or an
    /// entry of the purge log) so that it does not vouch for more than it
    /// knows: `now` for a hard purge (it covers everything fetched before it)
    /// or over a fresh value; else already expired, so the next lookup still
    /// reads KV and merges both (the purge itself holds at once: an expired
    /// entry is still merged into every later value). A soft purge put as
    /// fresh over nothing (or over what the isolate knew long ago) would
    /// vouch for entries a hard purge this isolate never read covers (the
    /// simulator's seeds 3868 and 5340 through a received purge, and seed
    /// 695 with soft purges through the log: an isolate started after the
    /// hard purge had left the log's window served a body it covered).
    pub fn told_at(&self, name: &GenName, record: &PurgeRecord, now: UnixSecs) -> UnixSecs {
        if record.hard.is_some() || self.get(name, now).is_some() {
            now
        } else {
            UnixSecs(now.0.saturating_sub(self.ttl))
        }
    }

    /// The memoized value, if put at most `ttl` seconds ago (and not in the future).
    pub fn get(&self, name: &GenName, now: UnixSecs) -> Option<Gen> {
        let (g, at, _) = self.entries.get(name)?;
        (*at <= now && now.saturating_sub(*at) < self.ttl).then_some(*g)
    }

    /// Remembers a value read (or written, by a purge in this isolate) at `now`.
    /// [`Gen::Unreadable`] is never memoized.
    /// A name whose entry alone is over `max_bytes` is not memoized.
    ///
    /// A purge this isolate knows of is never forgotten for an older value:
    /// the entry keeps the merge of what it held (even expired) and `value`
    /// ([`crate::purge::record::PurgeRecord::merge_read`]: the later times;
    /// when the two marks differ, the held mark if the read one is certainly
    /// older, else no nonce, so that no merge can rebuild an older write's
    /// mark and vouch for an entry a later purge covers). KV may still show
    /// an older value after a purge this
    /// isolate received (the purge writer has not written it yet, or this
    /// location's cached read has not expired), and serving the purged entry
    /// again then would undo the purge here until KV catches up.
    ///
    /// Returns the value the memo now holds for `name` (`value` itself when
    /// it is not memoized): what a decision should use.
    pub fn put(&mut self, name: GenName, value: Gen, now: UnixSecs) -> Gen {
        self.put_ordered(name, value, now, &LogOrder::default())
    }

    /// [`Memo::put`] where the isolate knows the writer's order of the purges
    /// it read from the log (`order`): of two marks whose purges are both
    /// there, the later-numbered one is the newer write and keeps its nonce
    /// (rule 2 keeps working through back-to-back purges); otherwise the
    /// time rule of [`PurgeRecord::merge_read`]. Both the log's entries and
    /// KV reads are put this way (a KV read older than a purge the log
    /// brought must not drop its nonce either).
    pub fn put_ordered(
        &mut self,
        name: GenName,
        value: Gen,
        now: UnixSecs,
        order: &LogOrder,
    ) -> Gen {
        let skew_ms = self.skew_ms;
        self.insert(name, value, now, |held, read| {
            held.merge_read(read, skew_ms, |h, r| order.newer(h, r))
        })
    }

    /// Remembers a purge this isolate wrote (or handed to the purge writer)
    /// just now: newer than anything it held for `name`, so the merge keeps
    /// the purge's own nonce ([`PurgeRecord::merge`]), and entries fetched
    /// after it here record that mark (rule 2 holds for them at once).
    pub fn put_written(&mut self, name: GenName, value: Gen, now: UnixSecs) -> Gen {
        self.insert(name, value, now, PurgeRecord::merge)
    }

    fn insert(
        &mut self,
        name: GenName,
        value: Gen,
        now: UnixSecs,
        merge: impl Fn(PurgeRecord, PurgeRecord) -> PurgeRecord,
    ) -> Gen {
        let cost = Memo::entry_cost(&name);
        if self.ttl == 0 || cost > self.max_bytes || value == Gen::Unreadable {
            return value;
        }
        let mut value = value;
        if let Some((old, at, seq)) = self.entries.remove(&name) {
            self.order.remove(&(at, seq));
            self.used -= cost;
            value = match (old, value) {
                (Gen::Purged(a), Gen::Purged(b)) => Gen::Purged(merge(a, b)),
                (Gen::Purged(a), _) => Gen::Purged(a),
                (_, v) => v,
            };
        }
        while self.used + cost > self.max_bytes {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            self.entries.remove(&oldest);
            self.used -= Memo::entry_cost(&oldest);
        }
        self.used += cost;
        self.seq += 1;
        self.order.insert((now, self.seq), name.clone());
        self.entries.insert(name, (value, now, self.seq));
        value
    }

    /// What one entry counts against `max_bytes`: the name, held twice (the
    /// map and the age order), and [`MEMO_ENTRY_OVERHEAD`].
    pub fn entry_cost(name: &GenName) -> usize {
        2 * name.as_str().len() + MEMO_ENTRY_OVERHEAD
    }

    /// Bytes held, as counted against `max_bytes`.
    pub fn used_bytes(&self) -> usize {
        self.used
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Splits `names` into values the memo still holds and names the glue must read from KV
/// (`GenName::kv_key`). After reading, the glue inserts each result into both the returned
/// [`Generations`] and the memo (except [`Gen::Unreadable`], which [`Memo::put`] ignores).
pub fn plan_reads(names: &[GenName], memo: &Memo, now: UnixSecs) -> (Generations, Vec<GenName>) {
    let mut known = Generations::new();
    let mut to_read = Vec::new();
    for n in names {
        match memo.get(n, now) {
            Some(g) => known.insert(n.clone(), g),
            None => to_read.push(n.clone()),
        }
    }
    (known, to_read)
}
