//! One purgeable name's value in Workers KV: when it was last purged hard and
//! last purged soft, and the nonce of the write. The format, its parser and the
//! merge rule live here and nowhere else (the glue writes and reads the
//! strings; a coalescing writer merges values with [`PurgeRecord::merge`]).
//!
//! # Format
//!
//! | value | means |
//! |---|---|
//! | `<ms>.<nonce>` | hard purge at `<ms>` (Unix milliseconds), no soft purge after it: what every hard purge writes |
//! | `<ms>` | the same without a nonce: the format of earlier versions, still read |
//! | `v2;s=<ms>;n=<nonce>` | soft purge at `<ms>`, never purged hard |
//! | `v2;h=<ms>;s=<ms>;n=<nonce>` | hard purge at `h`, soft purge at `s` (`s > h`) |
//!
//! `<nonce>` is 16 lower-case hex digits drawn at random by the worker that
//! writes the value, once per write (see [`crate::purge::mark`]: finding the
//! very value an entry recorded before its fetch proves no purge since).
//! Canonical only (decimal digits, no leading zeros, keys in that order): any
//! other shape is unreadable, and an entry checked against it is a miss
//! (fail safe). A soft purge at or before the hard one is dropped when
//! encoding: a hard purge covers everything a soft purge before it does.
//!
//! # Why a hard purge may write blind, and a soft one reads first
//!
//! A hard purge at `t` covers every entry fetched before `t`, whatever soft
//! purges came earlier, so it writes `<t>` without reading (a blind write
//! cannot be lost to a stale read). A soft purge must keep the last hard
//! purge, so the glue reads the value and writes [`after_purge`]'s merge.
//! HAZARD: Workers KV reads are eventually consistent (up to 60 s); a soft
//! purge in one data centre within that time of a hard purge of the same name
//! in another may write the older hard time, turning that hard purge into a
//! soft one for entries fetched between the two. Such entries are then served
//! only inside their stale-while-revalidate window while they revalidate.

use super::mark::{encode_mark, parse_nonce, PurgeMark};
use crate::http::text::canonical_u64;
use crate::http::time::UnixMillis;

/// Hard or soft (see `docs/purge.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PurgeKind {
    /// Matching entries are gone: a miss everywhere.
    Hard,
    /// Matching entries are stale: served only inside their stale windows
    /// while they revalidate.
    Soft,
}

impl PurgeKind {
    /// The kind a webhook body's (or a hand-off's) `soft` flag names.
    pub fn of(soft: bool) -> PurgeKind {
        if soft {
            PurgeKind::Soft
        } else {
            PurgeKind::Hard
        }
    }
}

/// A name's last hard and last soft purge, and the nonce of the write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PurgeRecord {
    pub hard: Option<UnixMillis>,
    pub soft: Option<UnixMillis>,
    /// Random per write; `None` only in values of earlier versions.
    pub nonce: Option<u64>,
}

impl PurgeRecord {
    /// A purge of `kind` at `at`, without a nonce (add one with
    /// [`PurgeRecord::with_nonce`] before writing).
    pub fn new(kind: PurgeKind, at: UnixMillis) -> PurgeRecord {
        let (hard, soft) = match kind {
            PurgeKind::Hard => (Some(at), None),
            PurgeKind::Soft => (None, Some(at)),
        };
        PurgeRecord {
            hard,
            soft,
            nonce: None,
        }
    }

    /// This record written with `nonce`.
    pub fn with_nonce(self, nonce: u64) -> PurgeRecord {
        PurgeRecord {
            nonce: Some(nonce),
            ..self
        }
    }

    /// Whether writing this record reads the name's value first: it carries a
    /// soft purge, and the value written must keep the name's last hard purge
    /// ([`merge_over`]). A hard-only record covers everything and writes blind.
    pub fn reads_first(&self) -> bool {
        self.soft.is_some()
    }

    /// The record's mark: its latest purge time and its nonce. Two reads with
    /// the same mark (and a nonce) read the same write.
    pub fn mark(&self) -> PurgeMark {
        PurgeMark {
            at: self.hard.max(self.soft).unwrap_or(UnixMillis(0)),
            nonce: self.nonce,
        }
    }

    /// Both purges' facts: the later hard time and the later soft time
    /// (commutative, associative and idempotent in the times), written with
    /// `newer`'s nonce. The one merge rule for two values of a name, whoever
    /// merges them. HAZARD: the result must carry the nonce of a purge not
    /// written before (`newer`'s), never an old value's: when the times do
    /// not grow (a purging clock behind), only the nonce tells readers that
    /// the name was purged again (see [`crate::purge::mark`]).
    pub fn merge(self, newer: PurgeRecord) -> PurgeRecord {
        PurgeRecord {
            hard: self.hard.max(newer.hard),
            soft: self.soft.max(newer.soft),
            nonce: newer.nonce,
        }
        .normalized()
    }

    /// What an isolate holds after reading `read` (from KV, or from the
    /// writer's purge log) while it held `self` (a purge it received, or an
    /// earlier read): both purges' facts, as [`PurgeRecord::merge`], and a
    /// nonce only where the order of the two writes is certain.
    ///
    /// - Same mark: both records' times, that mark's nonce (a log entry of a
    ///   soft purge has the same mark as the held merge of that purge with an
    ///   earlier hard one; taking the entry whole dropped the hard time, and a
    ///   hard-purged entry was served `soft_purged`: the simulator with soft
    ///   purges, seeds 187, 440, 528 and 15 more of 1,000).
    /// - The writer's log orders the two purges (`newer(held, read)`:
    ///   whether `read`'s nonce is the newer write, `purge::log::LogOrder`):
    ///   the newer write's nonce is kept. The log
    ///   orders the writes totally, so no clock enters; without it two purges
    ///   within the skew window left no nonce, and every entry of the name
    ///   failed rule 2 and was fetched again for the skew window (an origin
    ///   stampede, found by the simulator: 318 of 10,000 seeds).
    /// - `read`'s mark more than `skew_ms` (the clock-skew allowance) before
    ///   `self`'s: `read` is an older write (a later one, stamped by a clock at
    ///   most `skew_ms` behind, would carry a later time), so the result keeps
    ///   `self`'s own mark. Dropping it would make every entry that recorded
    ///   the real purge fail rule 2 and be fetched again for the skew window
    ///   (found by the simulator, seeds 9084 and 9730).
    /// - `read`'s mark at least `skew_ms` after `self`'s: `read` is the newer
    ///   write (an older one could not carry a time that much later), so its
    ///   nonce is the one KV keeps.
    /// - Otherwise the isolate cannot tell which write is newer (purging
    ///   clocks may be behind, and KV may still show a value older than a
    ///   purge received here), so the result carries no nonce: a mark without
    ///   one never proves "no purge since" (rule 2 of `purge::generations`),
    ///   and every entry falls back to the time rule, which fails safe.
    ///   Keeping `read`'s nonce would rebuild an older write's exact mark when
    ///   that write's times are the later ones, and an entry fetched between
    ///   the two purges would pass as current.
    pub fn merge_read(
        self,
        read: PurgeRecord,
        skew_ms: u64,
        newer: impl Fn(u64, u64) -> Option<bool>,
    ) -> PurgeRecord {
        if self.mark() == read.mark() {
            // The same write's mark: keep both records' times (a soft purge's
            // log entry carries only its soft time, and the hard purge the
            // held record also knows must not be dropped).
            return self.merge(read);
        }
        let ordered = match (self.nonce, read.nonce) {
            (Some(h), Some(r)) => newer(h, r),
            _ => None,
        };
        let (held_at, read_at) = (self.mark().at.0, read.mark().at.0);
        let nonce = if let Some(read_is_newer) = ordered {
            match read_is_newer {
                true => read.nonce,
                false => self.nonce,
            }
        } else if read_at.saturating_add(skew_ms) < held_at {
            self.nonce
        } else if read_at >= held_at.saturating_add(skew_ms) {
            read.nonce
        } else {
            None
        };
        PurgeRecord {
            nonce,
            ..self.merge(read)
        }
    }

    /// The soft time only when it is after the hard one (else the hard purge
    /// covers it).
    fn normalized(self) -> PurgeRecord {
        match (self.hard, self.soft) {
            (Some(h), Some(s)) if s <= h => PurgeRecord { soft: None, ..self },
            _ => self,
        }
    }

    /// The KV value (see the module doc); `None` for a record of no purge.
    pub fn encode(&self) -> Option<String> {
        let r = self.normalized();
        let nonce = |prefix: &str| match r.nonce {
            Some(n) => format!("{prefix}{n:016x}"),
            None => String::new(),
        };
        match (r.hard, r.soft) {
            (None, None) => None,
            (Some(h), None) => Some(encode_mark(&PurgeMark {
                at: h,
                nonce: r.nonce,
            })),
            (None, Some(s)) => Some(format!("v2;s={}{}", s.0, nonce(";n="))),
            (Some(h), Some(s)) => Some(format!("v2;h={};s={}{}", h.0, s.0, nonce(";n="))),
        }
    }

    /// Strict inverse of [`PurgeRecord::encode`]; `None` for anything else.
    pub fn parse(s: &str) -> Option<PurgeRecord> {
        let record = match s.strip_prefix("v2;") {
            None => {
                let mark = super::mark::parse_mark(s)?;
                PurgeRecord {
                    hard: Some(mark.at),
                    soft: None,
                    nonce: mark.nonce,
                }
            }
            Some(rest) => {
                let (rest, nonce) = match rest.rsplit_once(";n=") {
                    Some((rest, hex)) => (rest, Some(parse_nonce(hex)?)),
                    None => (rest, None),
                };
                let (hard, soft) = match rest.split_once(';') {
                    Some((h, s)) => (Some(h.strip_prefix("h=")?), s),
                    None => (None, rest),
                };
                PurgeRecord {
                    hard: match hard {
                        Some(h) => Some(UnixMillis(canonical_u64(h)?)),
                        None => None,
                    },
                    soft: Some(UnixMillis(canonical_u64(soft.strip_prefix("s=")?)?)),
                    nonce,
                }
            }
        };
        (record.encode().as_deref() == Some(s)).then_some(record)
    }
}

/// Parses a KV value strictly ([`PurgeRecord::parse`]).
pub fn parse_value(s: &str) -> Option<PurgeRecord> {
    PurgeRecord::parse(s)
}

/// The value a purge of `kind` at `at` writes with `nonce` (fresh, drawn for
/// this write), given the value read first (`current`: `None` when absent). A
/// hard purge needs no read (pass `None`). An unreadable current value is
/// overwritten as by a hard purge: it made every entry a miss, and a soft
/// purge must not loosen that.
pub fn after_purge(current: Option<&str>, kind: PurgeKind, at: UnixMillis, nonce: u64) -> String {
    merge_over(current, PurgeRecord::new(kind, at).with_nonce(nonce))
}

/// The value that writes `record` (purges not yet written, with a fresh
/// nonce) over the value read first (`current`: `None` when absent or not
/// read). An unreadable current value is overwritten as by a hard purge at
/// the record's latest time: it made every entry a miss, and a soft purge
/// must not loosen that.
pub fn merge_over(current: Option<&str>, record: PurgeRecord) -> String {
    let merged = match current.map(PurgeRecord::parse) {
        None => record,
        Some(Some(old)) => old.merge(record),
        Some(None) => PurgeRecord {
            hard: Some(record.mark().at),
            soft: None,
            nonce: record.nonce,
        },
    };
    // A record holding a purge always encodes.
    merged
        .encode()
        .unwrap_or_else(|| record.mark().at.0.to_string())
}
