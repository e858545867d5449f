//! The invariants, checked as the run goes (the first violation ends it):
//!
//! 1. **Staleness.** No read begun more than the bound its receipt states
//!    after a purge was answered 200 serves a body older than the purge
//!    (a read in flight may get what the origin or cache gave it before): the fast bound
//!    (`PurgeSettings::fast_bound_ms`) when the writer logged it, else the
//!    backstop (`purge::writer::staleness_bound`); a read the fast path
//!    told to serve under the KV bound only (`flow::fastpath`'s, `Platform::behind`:
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
//! 5. **Request `Cache-Control`** ([`Checker::directive`]): `only-if-cached`
//!    never reaches the origin; `no-cache` / `max-age=0` never get an entry
//!    stored before them.
//! 6. **Unsafe requests** ([`Checker::invalidated`]): a non-error answer
//!    leaves no entry of the key stored before it in its data centre.
//! 7. **Pass-through** ([`Checker::passed_through`]): nothing stored, nothing
//!    older than the origin's version when the request began.
//!
//! After a soft purge, invariant 1 allows an older body said stale, inside
//! the entry's windows ([`Checker::soft_allows`]).

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
    /// A soft purge (`"soft": true`): what it covers may be served stale
    /// inside the route's windows ([`Checker::soft_allows`]).
    pub soft: bool,
}

impl Acked {
    fn kind(&self) -> &'static str {
        if self.soft {
            "soft"
        } else {
            "hard"
        }
    }
}

/// A read served a body of the resource.
#[derive(Debug, Clone, Copy)]
pub struct Served {
    /// When it began (true ms).
    pub at: u64,
    pub resource: usize,
    pub loc: usize,
    /// Served under the KV bound only (the fast path said so).
    pub behind: bool,
    pub stale: Staleness,
}

/// What a read's `Cache-Status` says about the body's freshness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Staleness {
    Fresh,
    /// A stale hit while one request revalidates (`detail=soft_purged` or
    /// `stale_while_revalidate`).
    Revalidating,
    /// A stand-in while the origin fails (`fwd=stale`).
    OnError,
}

impl Staleness {
    pub fn of(cache_status: &str) -> Staleness {
        if cache_status.contains("fwd=stale") {
            Staleness::OnError
        } else if cache_status.contains("detail=soft_purged")
            || cache_status.contains("detail=stale_while_revalidate")
        {
            Staleness::Revalidating
        } else {
            Staleness::Fresh
        }
    }
}

/// How long a soft purge may leave stale bodies served (ms): each
/// resource's stale windows as its entries have them (the longer of the
/// route's and the origin's, `response::store`), and the clock-skew
/// allowance.
#[derive(Debug, Clone, Default)]
pub struct Windows {
    /// Per resource: stale-while-revalidate and stale-if-error, ms.
    pub per_resource: Vec<(u64, u64)>,
    pub skew_ms: u64,
}

#[derive(Debug, Default)]
pub struct Checker {
    /// A soft purge's allowance ([`Checker::soft_allows`]).
    pub windows: Windows,
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
    /// Requests with a `Cache-Control`, unsafe ones, passed-through ones.
    pub kinds: [u64; 3],
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

    /// Invariant 1, for a body of `version` served by read `s`: older than a
    /// purge acknowledged more than its bound before the read began only
    /// inside a soft purge's allowance ([`Checker::soft_allows`]).
    pub fn served(&mut self, s: &Served, version: u64) {
        self.reads += 1;
        let bound = |a: &Acked| match s.behind {
            true => a.bound_ms.max(self.backstop_ms),
            false => a.bound_ms,
        };
        let newer: Vec<&Acked> = self
            .acked
            .iter()
            .filter(|a| a.resource == s.resource && a.version > version)
            .collect();
        let Some(first) = newer.iter().map(|a| a.at_ms).min() else {
            return;
        };
        let lag = s.at.saturating_sub(first);
        self.late_reads += 1;
        self.max_lag_ms = self.max_lag_ms.max(lag);
        let broken = newer.iter().find_map(|a| {
            let deadline = self.deadline(a.at_ms, bound(a));
            (s.at > deadline && !self.soft_allows(a, s)).then_some((*a, deadline))
        });
        let Some((a, deadline)) = broken else { return };
        let (at, v, b, kind) = (a.at_ms, a.version, bound(a), a.kind());
        let message = format!(
            "stale read: location {} served resource {} version {version} to a read begun at \
             t={} ms (behind: {}, {:?}); version {v} was purged ({kind}) and acknowledged at \
             t={at} ms, {} ms before (bound {b} ms, deadline t={deadline} ms)",
            s.loc,
            s.resource,
            s.at,
            s.behind,
            s.stale,
            s.at.saturating_sub(at)
        );
        self.fail(message);
    }

    /// Whether a soft purge lets read `s` have an older body after its
    /// deadline: served stale (said so in `Cache-Status`) and inside the
    /// window its stale was allowed for, counted from the purge
    /// (`flow::stored::stale_since`): the entry's stale-while-revalidate for
    /// a stale hit, its stale-if-error for a stand-in while the origin fails;
    /// each plus the clock-skew allowance (the purge's time is the
    /// receiving location's clock) and a second (ages are whole seconds).
    pub fn soft_allows(&self, a: &Acked, s: &Served) -> bool {
        let (revalidate, if_error) = self
            .windows
            .per_resource
            .get(a.resource)
            .copied()
            .unwrap_or_default();
        let window = match (a.soft, s.stale) {
            (true, Staleness::Revalidating) => revalidate,
            (true, Staleness::OnError) => if_error,
            _ => return false,
        };
        // A name's record keeps only its latest soft purge, so a later soft
        // purge of the resource starts the window again for what an earlier
        // one made stale (docs/testing.md, "The simulator"). Counted over the
        // soft purges acknowledged by the time the read is answered (when
        // this runs), not only before it began: the writer logs a purge before
        // its 200, so a read can see one whose 200 is still on its way (seed
        // 8302 with `--zone --soft`: a read begun 1 ms before the second soft
        // purge's 200 served what that purge had just made stale).
        let from = self
            .acked
            .iter()
            .filter(|b| b.soft && b.resource == a.resource)
            .map(|b| b.at_ms)
            .max()
            .unwrap_or(a.at_ms)
            .max(a.at_ms);
        let slack = self.windows.skew_ms.saturating_add(1000);
        s.at <= from.saturating_add(window).saturating_add(slack)
    }

    /// Invariant 5: a request with `Cache-Control: cc` (the route honours it,
    /// `flow::client_cc`) got what the directive allows: `only-if-cached` a
    /// stored answer or the worker's 504, never the origin; `no-cache` and
    /// `max-age=0` never an entry stored before it (a collapsed follower's
    /// copy is one fetched for it), and from the origin no version older
    /// than `current`, the origin's when it began.
    pub fn directive(
        &mut self,
        cc: &str,
        cs: &str,
        current: u64,
        answered: Option<(u16, u64)>,
        now: u64,
    ) {
        self.kinds[0] += 1;
        let status = answered.map(|a| a.0);
        let broke = if cc == "only-if-cached" {
            let refused = cs.contains("detail=only_if_cached");
            let hit = cs.contains("hit") && !cs.contains("fwd=");
            !(refused || hit)
        } else {
            let collapsed = cs.contains("collapsed");
            let stored = cs.contains("hit") && !collapsed;
            let fetched = cs.contains("fwd=") && !cs.contains("fwd=stale") && !collapsed;
            let older = answered.is_some_and(|(s, v)| s == 200 && v < current);
            stored || (fetched && older)
        };
        if broke {
            self.fail(format!(
                "request cache-control: {cc} answered {status:?} ({cs}), version {:?} when \
                 the origin had {current}, at t={now} ms",
                answered.map(|a| a.1)
            ));
        }
    }

    /// Invariant 6: after a non-error answer to an unsafe request, no entry
    /// of its key stored before it began is left in its data centre
    /// (`kept`: one that is).
    pub fn invalidated(&mut self, status: u16, kept: Option<&str>, url: &str, now: u64) {
        self.kinds[1] += 1;
        if let Some(key) = kept.filter(|_| (200..400).contains(&status)) {
            self.fail(format!(
                "unsafe request: POST {url} answered {status} at t={now} ms, and {key} stored \
                 before it is still in its data centre's cache"
            ));
        }
    }

    /// Invariant 7: a request no route covers is passed through: nothing is
    /// stored for it (`stored`), and its answer is the origin's when it was
    /// asked (no version older than `current`, the one when it began).
    pub fn passed_through(
        &mut self,
        url: &str,
        answered: Option<(u16, u64)>,
        current: u64,
        stored: bool,
        now: u64,
    ) {
        self.kinds[2] += 1;
        let older = answered.is_some_and(|(s, v)| s == 200 && v < current);
        if stored || older {
            self.fail(format!(
                "pass-through: GET {url} at t={now} ms: answered {answered:?} when the origin \
                 had version {current}; stored: {stored}"
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
                // A soft purge is covered by a soft or hard one as late.
                let time = if a.soft { a.record.soft } else { a.record.hard };
                let want = time.map(|t| t.0.saturating_sub(skew_ms));
                let covered = held.is_some_and(|r| {
                    let soft = r.soft.filter(|_| a.soft).map(|t| t.0);
                    r.hard.map(|t| t.0).max(soft) >= want
                });
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
#[path = "check_tests.rs"]
mod tests;
