//! Request collapsing: concurrent misses for one key in an isolate make one
//! origin request. The first miss *leads* (fetches, stores); the others
//! *follow*: they wait for the leader's outcome, then act on it
//! ([`follower_step`]). Pure: the glue holds the shared cells (`T`) through
//! which a leader reports, waits, and does every follower's I/O itself.
//!
//! HAZARD (Workers): one request cannot do I/O on behalf of another, so a
//! follower never reads the leader's body stream. After the leader's copy is
//! in the cache (and, when small, in the memory tier) the follower looks the
//! key up again with its own `cache.match`; a large object is therefore
//! downloaded from the origin once, and read from the cache by every follower.
//!
//! Hit-for-pass (as Varnish calls it): when the leader's answer will not be
//! stored (private, `Set-Cookie`, per-user, an error status, too large...),
//! its followers go to the origin at once, and a note on the key keeps the
//! next requests for [`HIT_FOR_PASS_SECS`] from queueing behind an answer that
//! will never be stored: they fetch side by side. A stored answer clears it.
//!
//! Bounds: a follower waits at most the route's origin timeout (then fetches
//! itself); a flight older than [`flight_hold`] is abandoned (a lost leader
//! cannot block its key); the keys tracked (flights and notes) are bounded in
//! bytes like the isolate's other maps ([`COLLAPSE_MAX_BYTES`]).

use crate::config::{Route, Secs};
use crate::http::time::UnixSecs;
use std::cell::Cell;
use std::collections::HashMap;
use std::rc::Rc;

/// The cell a flight's leader reports through and its followers read.
pub type Shared = Rc<Cell<Option<LeaderOutcome>>>;

/// How long a hit-for-pass note lasts. Short: it only spares followers a
/// wait; a key whose answers become storable is collapsed again after it (or
/// at once, when an answer is stored meanwhile).
pub const HIT_FOR_PASS_SECS: Secs = 10;
/// Most bytes of keys an isolate's collapser tracks (256 KiB, as the refresh
/// gate): thousands of typical keys, at least thirty of the longest.
pub const COLLAPSE_MAX_BYTES: usize = 256 * 1024;
/// Per-key bookkeeping counted besides the key itself (an estimate).
pub const COLLAPSE_ENTRY_OVERHEAD: usize = 64;
/// Times a follower takes the lead again after leaders failed to get any
/// answer; after that it fetches on its own.
pub const MAX_FOLLOWER_RETRIES: u32 = 1;

/// How long a flight on `route` holds its key: the origin timeout and a
/// second (a leader still running then has hung or been lost).
pub fn flight_hold(route: &Route) -> Secs {
    route.timeout.saturating_add(1)
}

/// What a miss does, given the flights of its key.
#[derive(Debug, PartialEq, Eq)]
pub enum Role<T> {
    /// Fetch and store; report through `T` ([`Collapser::finish`] with `id`).
    Lead { id: u64, shared: T },
    /// Leads, but untracked (the collapser is full): nobody waits on it.
    LeadAlone,
    /// Wait for the leader's outcome in `T`.
    Follow(T),
    /// A hit-for-pass note: go to the origin now, no waiting.
    Pass,
}

impl<T> Role<T> {
    /// Its name in a trace: `leader`, `leader_untracked`, `follower`,
    /// `hit_for_pass`.
    pub fn name(&self) -> &'static str {
        match self {
            Role::Lead { .. } => "leader",
            Role::LeadAlone => "leader_untracked",
            Role::Follow(_) => "follower",
            Role::Pass => "hit_for_pass",
        }
    }
}

/// What a follower that did not get its leader's copy did instead (its
/// role's name in a trace).
pub const FOLLOWER_FETCHED: &str = "follower_fetched";
/// A follower that served its stale copy after its leader failed.
pub const FOLLOWER_STALE: &str = "follower_stale";

/// How a leader's miss ended, as its followers need to know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaderOutcome {
    /// The answer is in the cache (the `put` completed).
    Stored,
    /// The answer could be stored, but the copy failed (incomplete body,
    /// `put` refused).
    StoreFailed,
    /// An answer that will not be stored: hit-for-pass.
    NotStorable,
    /// No usable answer: unreachable, timed out, or an error the leader
    /// answered with a stale copy.
    Failed,
}

/// What a follower does once its wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowerStep {
    /// Look the key up again (memory tier, then its own `cache.match`).
    Lookup,
    /// Fetch from the origin itself, uncollapsed.
    Origin,
    /// Serve the stale copy it found (stale-if-error allows it).
    Stale,
    /// Join again: lead, or follow a new leader.
    Retry,
}

/// A follower's next step. `outcome` is `None` when the wait reached the
/// route's timeout; `has_stale` = the follower holds an entry inside its
/// stale-if-error window; `retries` = how often it retried already.
pub fn follower_step(
    outcome: Option<LeaderOutcome>,
    has_stale: bool,
    retries: u32,
) -> FollowerStep {
    match outcome {
        Some(LeaderOutcome::Stored) => FollowerStep::Lookup,
        // The origin answered (and may answer again); only the copy failed.
        Some(LeaderOutcome::StoreFailed | LeaderOutcome::NotStorable) => FollowerStep::Origin,
        // The origin just failed: a stale copy is the answer the route allows;
        // without one, one retry as (or behind) a new leader, then alone.
        Some(LeaderOutcome::Failed) if has_stale => FollowerStep::Stale,
        Some(LeaderOutcome::Failed) if retries < MAX_FOLLOWER_RETRIES => FollowerStep::Retry,
        Some(LeaderOutcome::Failed) | None => FollowerStep::Origin,
    }
}

#[derive(Debug)]
struct Flight<T> {
    id: u64,
    started: UnixSecs,
    shared: T,
}

/// The isolate's flights (one per key being fetched) and hit-for-pass notes.
#[derive(Debug)]
pub struct Collapser<T> {
    flights: HashMap<String, Flight<T>>,
    /// Key → until when its note holds.
    notes: HashMap<String, UnixSecs>,
    next_id: u64,
    max_bytes: usize,
    used: usize,
}

fn cost(key: &str) -> usize {
    key.len() + COLLAPSE_ENTRY_OVERHEAD
}

impl<T: Clone> Collapser<T> {
    /// `max_bytes` bounds the keys tracked; the glue uses [`COLLAPSE_MAX_BYTES`].
    pub fn new(max_bytes: usize) -> Collapser<T> {
        Collapser {
            flights: HashMap::new(),
            notes: HashMap::new(),
            next_id: 0,
            max_bytes,
            used: 0,
        }
    }

    /// A miss on `key` at `now`: lead, follow, or pass. `hold` is
    /// [`flight_hold`] of the route; `fresh` makes the cell a new flight's
    /// leader reports through.
    pub fn join(
        &mut self,
        key: &str,
        now: UnixSecs,
        hold: Secs,
        fresh: impl FnOnce() -> T,
    ) -> Role<T> {
        if let Some(&until) = self.notes.get(key) {
            if now < until {
                return Role::Pass;
            }
            self.drop_note(key);
        }
        if let Some(f) = self.flights.get(key) {
            if now < f.started.saturating_add(hold) {
                return Role::Follow(f.shared.clone());
            }
            self.drop_flight(key);
        }
        if !self.make_room(cost(key)) {
            return Role::LeadAlone;
        }
        self.next_id += 1;
        let shared = fresh();
        let flight = Flight {
            id: self.next_id,
            started: now,
            shared: shared.clone(),
        };
        self.used += cost(key);
        self.flights.insert(key.to_string(), flight);
        Role::Lead {
            id: self.next_id,
            shared,
        }
    }

    /// The leader `id` of `key` is done: its flight ends (new misses lead
    /// again) and, for [`LeaderOutcome::NotStorable`], a hit-for-pass note
    /// starts; [`LeaderOutcome::Stored`] clears any note. The leader reports
    /// `outcome` to its followers through its cell itself.
    pub fn finish(&mut self, key: &str, id: u64, outcome: LeaderOutcome, now: UnixSecs) {
        if self.flights.get(key).is_some_and(|f| f.id == id) {
            self.drop_flight(key);
        }
        self.note(key, outcome, now);
    }

    /// What an uncollapsed miss (a pass, a follower on its own) learned:
    /// a storable answer clears the note, an unstorable one renews it.
    pub fn note(&mut self, key: &str, outcome: LeaderOutcome, now: UnixSecs) {
        match outcome {
            LeaderOutcome::Stored => self.drop_note(key),
            LeaderOutcome::NotStorable => {
                self.drop_note(key);
                if self.make_room(cost(key)) {
                    self.used += cost(key);
                    self.notes
                        .insert(key.to_string(), now.saturating_add(HIT_FOR_PASS_SECS));
                }
            }
            LeaderOutcome::StoreFailed | LeaderOutcome::Failed => {}
        }
    }

    /// Frees room for `need` bytes, forgetting notes (soonest to end first)
    /// but never a flight in progress. False when there is no room.
    fn make_room(&mut self, need: usize) -> bool {
        while self.used + need > self.max_bytes {
            let Some(k) = self
                .notes
                .iter()
                .min_by_key(|(_, u)| **u)
                .map(|(k, _)| k.clone())
            else {
                return false;
            };
            self.drop_note(&k);
        }
        true
    }

    fn drop_flight(&mut self, key: &str) {
        if self.flights.remove(key).is_some() {
            self.used -= cost(key);
        }
    }

    fn drop_note(&mut self, key: &str) {
        if self.notes.remove(key).is_some() {
            self.used -= cost(key);
        }
    }

    /// Bytes held, as counted against `max_bytes`.
    pub fn used_bytes(&self) -> usize {
        self.used
    }

    /// Flights in progress.
    pub fn flights(&self) -> usize {
        self.flights.len()
    }

    /// Hit-for-pass notes held (some may have ended).
    pub fn notes(&self) -> usize {
        self.notes.len()
    }
}
