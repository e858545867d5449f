//! Request collapsing decisions (`flow::collapse`).
use edgecache::flow::collapse::{
    follower_step, Collapser, FollowerStep, LeaderOutcome, Role, COLLAPSE_ENTRY_OVERHEAD,
    HIT_FOR_PASS_SECS, MAX_FOLLOWER_RETRIES,
};
use edgecache::http::time::UnixSecs;

const K: &str = "https://h/api/x";
const HOLD: u64 = 11;

fn lead_id(r: Role<u32>) -> u64 {
    match r {
        Role::Lead { id, .. } => id,
        other => panic!("expected Lead, got {other:?}"),
    }
}

#[test]
fn first_miss_leads_and_concurrent_misses_follow_its_cell() {
    let mut c = Collapser::new(1 << 20);
    assert!(matches!(
        c.join(K, UnixSecs(1), HOLD, || 7),
        Role::Lead { shared: 7, .. }
    ));
    assert_eq!(c.join(K, UnixSecs(1), HOLD, || 8), Role::Follow(7));
    assert_eq!(c.join(K, UnixSecs(2), HOLD, || 9), Role::Follow(7));
    // Another key is its own flight.
    assert!(matches!(
        c.join("https://h/other", UnixSecs(2), HOLD, || 1),
        Role::Lead { .. }
    ));
}

#[test]
fn a_finished_flight_lets_the_next_miss_lead() {
    let mut c = Collapser::new(1 << 20);
    let id = lead_id(c.join(K, UnixSecs(1), HOLD, || 1));
    c.finish(K, id, LeaderOutcome::Stored, UnixSecs(2));
    assert!(matches!(
        c.join(K, UnixSecs(2), HOLD, || 2),
        Role::Lead { shared: 2, .. }
    ));
}

#[test]
fn a_stale_leader_cannot_end_a_newer_flight() {
    let mut c = Collapser::new(1 << 20);
    let old = lead_id(c.join(K, UnixSecs(1), HOLD, || 1));
    // The old leader hung: after the hold a new miss leads.
    let new = lead_id(c.join(K, UnixSecs(1 + HOLD), HOLD, || 2));
    assert_ne!(old, new);
    c.finish(K, old, LeaderOutcome::Failed, UnixSecs(20));
    assert_eq!(c.join(K, UnixSecs(20), HOLD, || 3), Role::Follow(2));
}

#[test]
fn a_flight_is_abandoned_after_its_hold() {
    let mut c = Collapser::new(1 << 20);
    lead_id(c.join(K, UnixSecs(100), HOLD, || 1));
    assert_eq!(
        c.join(K, UnixSecs(100 + HOLD - 1), HOLD, || 2),
        Role::Follow(1)
    );
    assert!(matches!(
        c.join(K, UnixSecs(100 + HOLD), HOLD, || 3),
        Role::Lead { shared: 3, .. }
    ));
}

#[test]
fn unstorable_answer_leaves_a_hit_for_pass_note_for_a_short_while() {
    let mut c = Collapser::new(1 << 20);
    let id = lead_id(c.join(K, UnixSecs(50), HOLD, || 1));
    c.finish(K, id, LeaderOutcome::NotStorable, UnixSecs(50));
    assert_eq!(c.join(K, UnixSecs(50), HOLD, || 2), Role::Pass);
    assert_eq!(
        c.join(K, UnixSecs(50 + HIT_FOR_PASS_SECS - 1), HOLD, || 2),
        Role::Pass
    );
    assert!(matches!(
        c.join(K, UnixSecs(50 + HIT_FOR_PASS_SECS), HOLD, || 3),
        Role::Lead { .. }
    ));
}

#[test]
fn a_stored_answer_clears_the_note() {
    let mut c: Collapser<u32> = Collapser::new(1 << 20);
    c.note(K, LeaderOutcome::NotStorable, UnixSecs(1));
    assert_eq!(c.join(K, UnixSecs(2), HOLD, || 1), Role::Pass);
    c.note(K, LeaderOutcome::Stored, UnixSecs(3));
    assert!(matches!(
        c.join(K, UnixSecs(3), HOLD, || 1),
        Role::Lead { .. }
    ));
    assert_eq!(c.notes(), 0);
}

#[test]
fn failures_leave_no_note() {
    let mut c = Collapser::new(1 << 20);
    let id = lead_id(c.join(K, UnixSecs(1), HOLD, || 1));
    c.finish(K, id, LeaderOutcome::Failed, UnixSecs(1));
    let id = lead_id(c.join(K, UnixSecs(1), HOLD, || 2));
    c.finish(K, id, LeaderOutcome::StoreFailed, UnixSecs(1));
    assert!(matches!(
        c.join(K, UnixSecs(1), HOLD, || 3),
        Role::Lead { .. }
    ));
}

#[test]
fn tracked_keys_are_bounded_in_bytes_and_flights_are_never_evicted() {
    let per = K.len() + COLLAPSE_ENTRY_OVERHEAD;
    let mut c: Collapser<u32> = Collapser::new(2 * per);
    lead_id(c.join(K, UnixSecs(1), HOLD, || 1));
    c.note("https://h/api/y", LeaderOutcome::NotStorable, UnixSecs(1));
    assert_eq!(c.used_bytes(), 2 * per);
    // A third key evicts the note, not the flight.
    lead_id(c.join("https://h/api/z", UnixSecs(2), HOLD, || 2));
    assert_eq!(c.notes(), 0);
    assert_eq!(c.flights(), 2);
    // Full of flights: a new key leads untracked.
    assert_eq!(
        c.join("https://h/api/w", UnixSecs(2), HOLD, || 3),
        Role::LeadAlone
    );
    assert!(c.used_bytes() <= 2 * per);
}

#[test]
fn followers_act_on_each_leader_outcome() {
    use FollowerStep::*;
    use LeaderOutcome::*;
    assert_eq!(follower_step(Some(Stored), false, 0), Lookup);
    assert_eq!(follower_step(Some(StoreFailed), false, 0), Origin);
    assert_eq!(follower_step(Some(NotStorable), true, 0), Origin);
    assert_eq!(follower_step(Some(Failed), true, 0), Stale);
    assert_eq!(follower_step(Some(Failed), false, 0), Retry);
    assert_eq!(
        follower_step(Some(Failed), false, MAX_FOLLOWER_RETRIES),
        Origin
    );
    // The wait reached the route's timeout: on its own.
    assert_eq!(follower_step(None, true, 0), Origin);
}
