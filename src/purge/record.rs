//! One purgeable name's value in Workers KV: when it was last purged hard and
//! last purged soft. The format, its parser and the merge rule live here and
//! nowhere else (the glue writes and reads the strings; a coalescing writer
//! merges values with [`PurgeRecord::merge`]).
//!
//! # Format
//!
//! | value | means |
//! |---|---|
//! | `<ms>` | hard purge at `<ms>` (Unix milliseconds), no soft purge after it: what every hard purge writes, and the only format of earlier versions |
//! | `v2;s=<ms>` | soft purge at `<ms>`, never purged hard |
//! | `v2;h=<ms>;s=<ms>` | hard purge at `h`, soft purge at `s` (`s > h`) |
//!
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

/// A name's last hard and last soft purge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PurgeRecord {
    pub hard: Option<UnixMillis>,
    pub soft: Option<UnixMillis>,
}

impl PurgeRecord {
    /// A purge of `kind` at `at`.
    pub fn new(kind: PurgeKind, at: UnixMillis) -> PurgeRecord {
        match kind {
            PurgeKind::Hard => PurgeRecord {
                hard: Some(at),
                soft: None,
            },
            PurgeKind::Soft => PurgeRecord {
                hard: None,
                soft: Some(at),
            },
        }
    }

    /// Both purges' facts: the later hard time and the later soft time. The
    /// one merge rule for two values of a name (commutative, associative,
    /// idempotent), whoever merges them.
    pub fn merge(self, other: PurgeRecord) -> PurgeRecord {
        PurgeRecord {
            hard: self.hard.max(other.hard),
            soft: self.soft.max(other.soft),
        }
        .normalized()
    }

    /// The soft time only when it is after the hard one (else the hard purge
    /// covers it).
    fn normalized(self) -> PurgeRecord {
        match (self.hard, self.soft) {
            (Some(h), Some(s)) if s <= h => PurgeRecord {
                hard: Some(h),
                soft: None,
            },
            _ => self,
        }
    }

    /// The KV value (see the module doc); `None` for a record of no purge.
    pub fn encode(&self) -> Option<String> {
        match self.normalized() {
            PurgeRecord {
                hard: None,
                soft: None,
            } => None,
            PurgeRecord {
                hard: Some(h),
                soft: None,
            } => Some(h.0.to_string()),
            PurgeRecord {
                hard: None,
                soft: Some(s),
            } => Some(format!("v2;s={}", s.0)),
            PurgeRecord {
                hard: Some(h),
                soft: Some(s),
            } => Some(format!("v2;h={};s={}", h.0, s.0)),
        }
    }

    /// Strict inverse of [`PurgeRecord::encode`]; `None` for anything else.
    pub fn parse(s: &str) -> Option<PurgeRecord> {
        let record = match s.strip_prefix("v2;") {
            None => PurgeRecord {
                hard: Some(UnixMillis(canonical_u64(s)?)),
                soft: None,
            },
            Some(rest) => {
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
                }
            }
        };
        (record.encode().as_deref() == Some(s)).then_some(record)
    }
}

/// The value a purge of `kind` at `at` writes, given the value read first
/// (`current`: `None` when absent). A hard purge needs no read (pass `None`).
/// An unreadable current value is overwritten as by a hard purge: it made
/// every entry a miss, and a soft purge must not loosen that.
pub fn after_purge(current: Option<&str>, kind: PurgeKind, at: UnixMillis) -> String {
    let mine = PurgeRecord::new(kind, at);
    let merged = match current.map(PurgeRecord::parse) {
        None => mine,
        Some(Some(old)) => old.merge(mine),
        Some(None) => PurgeRecord::new(PurgeKind::Hard, at),
    };
    // A record holding a purge always encodes.
    merged.encode().unwrap_or_else(|| at.0.to_string())
}
