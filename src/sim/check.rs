//! The invariants, checked as the run goes (the first violation ends it):
//!
//! 1. **Staleness.** No read begun more than the bound its receipt states
//!    after a purge was answered 200 serves a body older than the purge
//!    (a read in flight may get what the origin or cache gave it before): the fast bound
//!    (`PurgeSettings::fast_bound_ms`) when the writer logged it, else the
//!    backstop (`purge::writer::staleness_bound`); a read the fast path
//!    told to serve under the KV bound only (`Platform::purge_view`'s
//!    `fast_path_unreachable` / `fast_path_gap`) is held to the backstop. The backstop is lengthened
//!    by any time KV refused writes after the purge (no claim holds while KV
//!    is down; the writer retries).
//! 2. **Nothing acknowledged is lost.** Once the run drained, every purge
//!    answered 200 is in KV's record for each of its names (a record at
//!    least as late), for as long as records live.
//! 3. **Collapsing.** Per isolate, resource and purge, at most
//!    [`MAX_PURGED_FETCHES`] requests not collapsed onto another go to the
//!    origin for a stored entry found purged (`Cache-Status: …fwd=miss…
//!    detail=purged`, while the origin is healthy): the first read after a
//!    purge fetches and every later one hits, as rule 2 of
//!    `purge::generations` promises. A fetch counts against the purge in
//!    force when its read *began* (the one that made the entry it found
//!    purged), not when its answer came: a read that began before purge #n
//!    and was answered after it was sent by #n−1. (Counted by answer, seed
//!    2341 with the fast path off charged two such reads to the next purge
//!    of three within 3.7 s and failed; it also showed a real extra fetch,
//!    a collapsed follower storing an entry without the mark of the purge
//!    it waited through, fixed in `flow::lookup`.)
//! 4. **Memory.** Every isolate's memo, memory tier, collapser and refresh
//!    gate, the writer's pending slots and the run's live tasks stay under
//!    their bounds.

use crate::purge::record::PurgeRecord;
use std::collections::HashMap;

/// Origin requests one isolate may lead per resource and purge for an entry
/// found purged. One is the design; the second covers an entry another
/// isolate stored from a fetch that started inside the clock-skew window
/// after the purge without having read its mark (a miss with no stored entry
/// knows only the memo), which rule 2 cannot prove current; the third, that
/// overlapping once more while the purge reaches the location's KV cache.
pub const MAX_PURGED_FETCHES: u32 = 3;

/// A purge answered 200.
#[derive(Debug, Clone)]
pub struct Acked {
    pub at_ms: u64,
    /// The bound its receipt states, ms (the fast bound when it was logged).
    pub bound_ms: u64,
    pub resource: usize,
    pub version: u64,
    pub keys: Vec<String>,
    pub record: PurgeRecord,
}

#[derive(Debug, Default)]
pub struct Checker {
    /// The backstop bound (KV alone), ms: what a read served under the KV
    /// bound only (`Cache-Status` detail `fast_path_*`) is held to.
    pub backstop_ms: u64,
    pub acked: Vec<Acked>,
    /// Windows (true ms) in which KV refused writes; an open one has no end.
    pub refusals: Vec<(u64, Option<u64>)>,
    fetches: HashMap<(u64, usize, usize), u32>,
    recorded: HashMap<usize, usize>,
    pub violation: Option<String>,
    pub reads: u64,
    /// Reads that served a body older than the newest acknowledged purge
    /// (inside the bound), and the oldest such lag seen (ms).
    pub late_reads: u64,
    pub max_lag_ms: u64,
    pub purged_fetches: u64,
    /// The most origin requests one isolate led for one resource and purge.
    pub max_purged_fetches: u32,
}

impl Checker {
    pub fn new(backstop_ms: u64) -> Checker {
        Checker {
            backstop_ms,
            ..Checker::default()
        }
    }

    /// Records the first violation (later ones are consequences).
    pub fn fail(&mut self, message: String) {
        self.violation.get_or_insert(message);
    }

    /// When a purge acknowledged at `at` with `bound` must hold everywhere:
    /// the bound, plus (for the backstop, which rests on KV) the whole of
    /// every KV refusal that began before that deadline (an open one has no
    /// end: no deadline).
    pub fn deadline(&self, at: u64, bound: u64) -> u64 {
        let mut d = at.saturating_add(bound);
        if bound < self.backstop_ms {
            return d;
        }
        for &(s, e) in &self.refusals {
            let e = e.unwrap_or(u64::MAX);
            if s < d && e > at {
                d = d.saturating_add(e.saturating_sub(s.max(at)));
            }
        }
        d
    }

    /// Purges of `resource` the writer has accepted so far (a purge is in
    /// force from then: the receiving isolate remembers it before the 200).
    pub fn epoch(&self, resource: usize) -> usize {
        self.recorded.get(&resource).copied().unwrap_or(0)
    }

    /// The writer accepted a purge of `resource`.
    pub fn recorded(&mut self, resource: usize) {
        *self.recorded.entry(resource).or_insert(0) += 1;
    }

    /// Invariant 1, for a body of `version` served from `loc` by a read begun at `now`;
    /// `behind`: served under the KV bound only (and said so), so every
    /// purge is held to the backstop, not the fast bound its receipt states.
    pub fn served(&mut self, now: u64, resource: usize, version: u64, loc: usize, behind: bool) {
        self.reads += 1;
        let bound = |a: &Acked| match behind {
            true => a.bound_ms.max(self.backstop_ms),
            false => a.bound_ms,
        };
        let newer = self
            .acked
            .iter()
            .filter(|a| a.resource == resource && a.version > version)
            .map(|a| (self.deadline(a.at_ms, bound(a)), a))
            .min_by_key(|(d, a)| (*d, a.at_ms));
        let Some((deadline, a)) = newer else { return };
        let lag = now.saturating_sub(a.at_ms);
        self.late_reads += 1;
        self.max_lag_ms = self.max_lag_ms.max(lag);
        if now > deadline {
            let (at, v, b) = (a.at_ms, a.version, bound(a));
            self.fail(format!(
                "stale read: location {loc} served resource {resource} version {version} to a \
                 read begun at t={now} ms (behind: {behind}); version {v} was purged and acknowledged at \
                 t={at} ms, {lag} ms before (bound {b} ms, deadline t={deadline} ms)"
            ));
        }
    }

    /// Invariant 3: an origin request made by isolate `iso` for an entry
    /// found purged by a read begun while purge #`epoch` was the latest in
    /// force ([`Checker::epoch`] when the read began).
    pub fn purged_fetch(
        &mut self,
        now: u64,
        iso: u64,
        resource: usize,
        loc: usize,
        faulty: bool,
        epoch: usize,
    ) {
        self.purged_fetches += 1;
        if faulty {
            return;
        }
        let n = self.fetches.entry((iso, resource, epoch)).or_insert(0);
        *n += 1;
        self.max_purged_fetches = self.max_purged_fetches.max(*n);
        if *n > MAX_PURGED_FETCHES {
            let n = *n;
            self.fail(format!(
                "origin stampede: isolate {iso} (location {loc}) led {n} origin requests for \
                 resource {resource} after purge #{epoch} (at most {MAX_PURGED_FETCHES}), the \
                 last at t={now} ms"
            ));
        }
    }

    /// A purge answered 200.
    pub fn ack(&mut self, a: Acked) {
        self.acked.push(a);
    }

    /// Invariant 2, on KV's central values (`central(key)`), at `now`, for
    /// records that live `record_ttl_ms`.
    /// A later purge from a location whose clock is behind may write an
    /// earlier time over it (a hard purge's write is blind): a record within
    /// `skew_ms` of the purge's covers it.
    pub fn lost(
        &mut self,
        now: u64,
        record_ttl_ms: u64,
        skew_ms: u64,
        central: impl Fn(&str) -> Option<String>,
    ) {
        for a in &self.acked {
            if a.at_ms.saturating_add(record_ttl_ms) <= now {
                continue;
            }
            for key in &a.keys {
                let held = central(key).and_then(|v| PurgeRecord::parse(&v));
                let want = a.record.hard.map(|t| t.0.saturating_sub(skew_ms));
                let covered = held.is_some_and(|r| r.hard.map(|t| t.0) >= want);
                if !covered {
                    let message = format!(
                        "lost purge: acknowledged at t={} ms (resource {}), KV key {key} holds \
                         {held:?}",
                        a.at_ms, a.resource
                    );
                    self.violation.get_or_insert(message);
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::time::UnixMillis;
    use crate::purge::record::PurgeKind;

    fn acked(at_ms: u64, version: u64) -> Acked {
        Acked {
            at_ms,
            bound_ms: 70_000,
            resource: 1,
            version,
            keys: vec!["gen:k".into()],
            record: PurgeRecord::new(PurgeKind::Hard, UnixMillis(at_ms)).with_nonce(9),
        }
    }

    #[test]
    fn an_old_body_is_allowed_inside_the_bound_and_refused_after_it() {
        let mut c = Checker::new(70_000);
        c.ack(acked(1_000, 2));
        c.served(71_000, 1, 1, 0, false);
        assert_eq!(c.violation, None);
        c.served(71_000, 1, 2, 0, false);
        c.served(71_001, 2, 1, 0, false);
        assert_eq!(c.violation, None);
        c.served(71_001, 1, 1, 0, false);
        assert!(c.violation.unwrap().contains("stale read"));
    }

    #[test]
    fn a_fast_purge_is_held_to_its_bound_unless_the_read_says_it_is_behind() {
        let mut c = Checker::new(70_000);
        c.ack(Acked {
            bound_ms: 4_000,
            ..acked(1_000, 2)
        });
        c.served(5_000, 1, 1, 0, false);
        c.served(60_000, 1, 1, 0, true);
        assert_eq!(c.violation, None);
        c.served(5_001, 1, 1, 0, false);
        assert!(c.violation.unwrap().contains("bound 4000 ms"));
    }

    #[test]
    fn time_kv_refused_writes_lengthens_the_bound() {
        let mut c = Checker::new(70_000);
        c.refusals.push((500, Some(11_000)));
        assert_eq!(c.deadline(1_000, 70_000), 81_000);
        c.refusals.push((100_000, None));
        assert_eq!(c.deadline(1_000, 70_000), 81_000);
        assert_eq!(c.deadline(40_000, 70_000), u64::MAX);
        // The fast bound rests on the writer's log, not on KV.
        assert_eq!(c.deadline(40_000, 4_000), 44_000);
    }

    #[test]
    fn a_stampede_after_a_purge_is_refused_while_the_origin_is_healthy() {
        let mut c = Checker::new(70_000);
        c.ack(acked(1_000, 2));
        for _ in 0..10 {
            c.purged_fetch(2_000, 7, 1, 0, true, 1);
        }
        for _ in 0..MAX_PURGED_FETCHES {
            c.purged_fetch(2_000, 7, 1, 0, false, 1);
            c.purged_fetch(2_000, 8, 1, 0, false, 1);
            c.purged_fetch(2_000, 7, 1, 0, false, 0);
        }
        assert_eq!(c.violation, None);
        c.purged_fetch(2_000, 7, 1, 0, false, 1);
        assert!(c.violation.unwrap().contains("stampede"));
    }

    #[test]
    fn a_purge_missing_from_kv_is_lost_unless_its_record_has_expired() {
        let mut c = Checker::new(70_000);
        c.ack(acked(1_000, 2));
        let newer = PurgeRecord::new(PurgeKind::Hard, UnixMillis(5_000)).with_nonce(1);
        let text = newer.encode().unwrap();
        c.lost(10_000, 1_000_000, 0, |_| Some(text.clone()));
        assert_eq!(c.violation, None);
        let earlier = PurgeRecord::new(PurgeKind::Hard, UnixMillis(500)).with_nonce(2);
        let earlier = earlier.encode().unwrap();
        c.lost(10_000, 1_000_000, 500, |_| Some(earlier.clone()));
        assert_eq!(c.violation, None);
        c.lost(10_000, 5_000, 0, |_| None);
        assert_eq!(c.violation, None);
        c.lost(10_000, 1_000_000, 499, |_| Some(earlier.clone()));
        assert!(c.violation.take().unwrap().contains("lost purge"));
        c.lost(10_000, 1_000_000, 0, |_| None);
        assert!(c.violation.unwrap().contains("lost purge"));
    }
}
