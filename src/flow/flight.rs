//! Request collapsing's waiting and reporting, over the platform (the
//! decisions are [`super::collapse`]): the guard a leader reports through, a
//! follower's bounded wait, and what an uncollapsed miss notes.
//!
//! A follower waits by polling the cell on its own timers: the leader never
//! wakes, resolves or reads anything on a follower's behalf (Workers forbids
//! I/O across requests), it only sets a value.

use super::collapse::{LeaderOutcome, Shared};
use super::isolate::Isolate;
use super::platform::Platform;
use std::rc::Rc;

/// How often a follower looks at its leader's cell: first after
/// [`FIRST_POLL_MS`], then twice as long each time up to [`MAX_POLL_MS`]. Each
/// look costs the follower CPU time (Workers bills and limits it per request),
/// so a long wait (a large object being stored) looks rarely, and a short one
/// (an API answer) is noticed within a few milliseconds.
pub const FIRST_POLL_MS: u64 = 5;
pub const MAX_POLL_MS: u64 = 50;

/// Waits for the leader's outcome, at most `timeout_secs` (the route's
/// origin timeout). `None` = still none then.
pub async fn wait<P: Platform>(
    platform: &P,
    shared: &Shared,
    timeout_secs: u64,
) -> Option<LeaderOutcome> {
    // The clock advances across timers, so the deadline holds however late
    // the timers fire.
    let deadline = platform
        .now()
        .saturating_add(timeout_secs.saturating_mul(1000));
    let mut every = FIRST_POLL_MS;
    loop {
        if let Some(o) = shared.get() {
            return Some(o);
        }
        if platform.now() >= deadline {
            return None;
        }
        platform.sleep(every).await;
        every = (every * 2).min(MAX_POLL_MS);
    }
}

/// A leader's duty to report. Dropped without [`Leader::report`] (the
/// request was cancelled, the store future ended early, the isolate went),
/// it reports `Failed`, so that followers retry rather than wait out their
/// timeout.
pub struct Leader<P: Platform> {
    platform: P,
    isolate: Rc<Isolate<P>>,
    key: String,
    id: u64,
    shared: Shared,
    reported: bool,
}

impl<P: Platform> Leader<P> {
    pub fn new(platform: &P, isolate: &Rc<Isolate<P>>, key: &str, id: u64, shared: Shared) -> Self {
        Leader {
            platform: platform.clone(),
            isolate: isolate.clone(),
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
        let now = self.platform.now_secs();
        self.isolate
            .collapse
            .borrow_mut()
            .finish(&self.key, self.id, outcome, now);
    }
}

impl<P: Platform> Drop for Leader<P> {
    fn drop(&mut self) {
        self.finish(LeaderOutcome::Failed);
    }
}

/// Who hears how a miss ended: its flight's followers (a collapse leader),
/// or, for a request that did not lead, the key's hit-for-pass note.
pub enum Reporter<P: Platform> {
    Leader(Leader<P>),
    Note {
        platform: P,
        isolate: Rc<Isolate<P>>,
        key: String,
    },
}

impl<P: Platform> Reporter<P> {
    /// Reports through the hit-for-pass note of `key`.
    pub fn note(platform: &P, isolate: &Rc<Isolate<P>>, key: &str) -> Self {
        Reporter::Note {
            platform: platform.clone(),
            isolate: isolate.clone(),
            key: key.to_string(),
        }
    }

    /// Tells the key's followers (or its note) the outcome.
    pub fn report(self, outcome: LeaderOutcome) {
        match self {
            Reporter::Leader(l) => l.report(outcome),
            Reporter::Note {
                platform,
                isolate,
                key,
            } => {
                let now = platform.now_secs();
                isolate.collapse.borrow_mut().note(&key, outcome, now);
            }
        }
    }
}
