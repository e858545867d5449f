//! Request collapsing's I/O (the decisions are `crate::flow::collapse`): the
//! cell a leader reports through, a follower's bounded wait, and the guard
//! that reports a leader lost mid-way.
//!
//! A follower waits by polling the cell on its own timers: the leader never
//! wakes, resolves or reads anything on a follower's behalf (Workers forbids
//! I/O across requests), it only sets a value.

use super::convert::{now_millis, now_secs};
use crate::flow::collapse::LeaderOutcome;
use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

/// What a flight's followers share with its leader.
pub type Shared = Rc<Cell<Option<LeaderOutcome>>>;
/// The isolate's collapser.
pub type Collapser = crate::flow::collapse::Collapser<Shared>;

/// How often a follower looks at its leader's cell: first after
/// [`FIRST_POLL_MS`], then twice as long each time up to [`MAX_POLL_MS`]. Each
/// look costs the follower CPU time (Workers bills and limits it per request),
/// so a long wait (a large object being stored) looks rarely, and a short one
/// (an API answer) is noticed within a few milliseconds.
const FIRST_POLL_MS: u64 = 5;
const MAX_POLL_MS: u64 = 50;

/// Waits for the leader's outcome, at most `timeout_secs` (the route's origin
/// timeout). `None` = still none then.
pub async fn wait(shared: &Shared, timeout_secs: u64) -> Option<LeaderOutcome> {
    // `Date.now()` advances across timers, so the deadline holds however
    // late the timers fire.
    let deadline = now_millis().saturating_add(timeout_secs.saturating_mul(1000));
    let mut every = FIRST_POLL_MS;
    loop {
        if let Some(o) = shared.get() {
            return Some(o);
        }
        if now_millis() >= deadline {
            return None;
        }
        worker::Delay::from(Duration::from_millis(every)).await;
        every = (every * 2).min(MAX_POLL_MS);
    }
}

/// A leader's duty to report. Dropped without [`Leader::report`] (the
/// request was cancelled, or the store future ended early), it reports
/// `Failed`, so that followers retry rather than wait out their timeout.
pub struct Leader {
    key: String,
    id: u64,
    shared: Shared,
    reported: bool,
}

impl Leader {
    pub fn new(key: &str, id: u64, shared: Shared) -> Leader {
        Leader {
            key: key.to_string(),
            id,
            shared,
            reported: false,
        }
    }

    /// Ends the flight with `outcome`: followers act on it, new misses lead again.
    pub fn report(mut self, outcome: LeaderOutcome) {
        self.finish(outcome);
    }

    fn finish(&mut self, outcome: LeaderOutcome) {
        if self.reported {
            return;
        }
        self.reported = true;
        self.shared.set(Some(outcome));
        if let Some(state) = super::current_state() {
            if let Ok(state) = state.as_ref() {
                state
                    .collapse
                    .borrow_mut()
                    .finish(&self.key, self.id, outcome, now_secs());
            }
        }
    }
}

impl Drop for Leader {
    fn drop(&mut self) {
        self.finish(LeaderOutcome::Failed);
    }
}

/// What an uncollapsed miss learned about its key (a hit-for-pass note).
pub fn note(key: &str, outcome: LeaderOutcome) {
    if let Some(state) = super::current_state() {
        if let Ok(state) = state.as_ref() {
            state.collapse.borrow_mut().note(key, outcome, now_secs());
        }
    }
}

/// Tells `key`'s followers the outcome: through the collapse `leader`, or, for
/// a request that did not lead, the key's hit-for-pass note.
pub fn report(leader: Option<Leader>, key: &str, outcome: LeaderOutcome) {
    match leader {
        Some(l) => l.report(outcome),
        None => note(key, outcome),
    }
}
