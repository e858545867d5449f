//! The single writer of purge records (`purge::writer`): coalescing per name,
//! one write per key per second, the operation limit per flush, 429s retried,
//! a full writer refusing rather than losing, and the staleness bound.
use std::collections::BTreeMap;

use edgecache::config::PurgeSettings;
use edgecache::http::time::UnixMillis;
use edgecache::purge::record::{PurgeKind, PurgeRecord};
use edgecache::purge::writer::{
    admit, after_write, flush_plan, next_flush, staleness_bound, Admission, Handoff, Slot,
    WriteOutcome, Writer, FLUSH_BOUND_SECS, MAX_PENDING, WRITES_PER_FLUSH,
};

fn ms(n: u64) -> UnixMillis {
    UnixMillis(n)
}

/// A hard purge at `at` (its nonce is `at` too: one purge per instant here).
fn handoff(at: u64, keys: &[&str]) -> Handoff {
    Handoff {
        at: ms(at),
        keys: keys.iter().map(|k| k.to_string()).collect(),
        soft: false,
        nonce: at,
        names: Vec::new(),
        log: false,
        receipt: None,
        zone: None,
    }
}

/// The time a slot's pending record carries (its latest purge).
fn pending_at(s: &Slot) -> Option<UnixMillis> {
    s.pending.map(|r| r.mark().at)
}

/// Applies a handoff the way the Durable Object does; panics if refused.
fn accept(slots: &mut BTreeMap<String, Slot>, h: &Handoff, now: u64) {
    match admit(slots, h, ms(now)) {
        Admission::Accept(updates) => slots.extend(updates),
        Admission::Full { .. } => panic!("refused"),
    }
}

/// One flush at `now` where every write gets `outcome`; returns the writes.
fn flush(
    slots: &mut BTreeMap<String, Slot>,
    now: u64,
    outcome: WriteOutcome,
) -> Vec<(String, UnixMillis)> {
    let plan = flush_plan(slots, ms(now));
    for k in &plan.forget {
        slots.remove(k);
    }
    for w in &plan.writes {
        let s = slots[&w.key];
        slots.insert(w.key.clone(), after_write(s, &w.record, outcome, ms(now)));
    }
    plan.writes
        .into_iter()
        .map(|w| (w.key, w.record.mark().at))
        .collect()
}

#[test]
fn the_later_purge_time_wins_whatever_the_order_and_the_newest_nonce_is_written() {
    let a = PurgeRecord::new(PurgeKind::Hard, ms(5)).with_nonce(1);
    let b = PurgeRecord::new(PurgeKind::Hard, ms(9)).with_nonce(2);
    assert_eq!(a.merge(b).hard, Some(ms(9)));
    assert_eq!(b.merge(a).hard, Some(ms(9)));
    // A purge from a clock behind still changes the value written.
    assert_eq!(b.merge(a).nonce, Some(1));
}

#[test]
fn a_soft_purge_reads_first_and_costs_two_operations() {
    let mut slots = BTreeMap::new();
    let soft = Handoff {
        soft: true,
        ..handoff(1_000, &["gen:s"])
    };
    accept(&mut slots, &soft, 1_000);
    accept(&mut slots, &handoff(1_000, &["gen:h"]), 1_000);
    let plan = flush_plan(&slots, ms(1_000));
    let by_key: BTreeMap<_, _> = plan.writes.iter().map(|w| (w.key.as_str(), w)).collect();
    assert!(by_key["gen:s"].read_first);
    assert_eq!(by_key["gen:s"].record.soft, Some(ms(1_000)));
    assert!(!by_key["gen:h"].read_first);
    // A later hard purge covers the waiting soft one: written blind.
    accept(&mut slots, &handoff(1_500, &["gen:s"]), 1_500);
    let plan = flush_plan(&slots, ms(1_500));
    let w = plan.writes.iter().find(|w| w.key == "gen:s").unwrap();
    assert!(!w.read_first);
    // The operation budget counts a read: WRITES_PER_FLUSH soft slots make
    // half as many writes.
    let mut many = BTreeMap::new();
    for i in 0..WRITES_PER_FLUSH {
        let key = format!("gen:{i:04}");
        let h = Handoff {
            soft: true,
            ..handoff(2_000, &[&key])
        };
        accept(&mut many, &h, 2_000);
    }
    assert_eq!(
        flush_plan(&many, ms(2_000)).writes.len(),
        WRITES_PER_FLUSH / 2
    );
}

#[test]
fn slots_keep_their_record_through_storage() {
    let mut slots = BTreeMap::new();
    accept(&mut slots, &handoff(1_000, &["gen:a"]), 1_000);
    let soft = Handoff {
        soft: true,
        ..handoff(2_000, &["gen:a"])
    };
    accept(&mut slots, &soft, 2_000);
    let json = serde_json::to_string(&slots).unwrap();
    let back: BTreeMap<String, Slot> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, slots);
    assert_eq!(back["gen:a"].pending.unwrap().hard, Some(ms(1_000)));
    assert_eq!(back["gen:a"].pending.unwrap().soft, Some(ms(2_000)));
}

#[test]
fn fifty_purges_of_one_name_in_a_second_are_two_writes_of_the_newest_time() {
    let mut slots = BTreeMap::new();
    let mut writes = Vec::new();
    for i in 0..50u64 {
        let now = 10_000 + i * 20;
        accept(&mut slots, &handoff(now, &["gen:list"]), now);
        if i == 0 {
            writes.extend(flush(&mut slots, now, WriteOutcome::Written));
        }
    }
    // Later flushes within the second write nothing: the key's spacing holds.
    assert!(flush(&mut slots, 10_500, WriteOutcome::Written).is_empty());
    writes.extend(flush(&mut slots, 11_000, WriteOutcome::Written));
    assert_eq!(
        writes,
        vec![
            ("gen:list".into(), ms(10_000)),
            ("gen:list".into(), ms(10_980))
        ]
    );
    // Nothing is left waiting; the idle slot is forgotten after its spacing.
    assert_eq!(pending_at(&slots["gen:list"]), None);
    assert!(flush(&mut slots, 12_000, WriteOutcome::Written).is_empty());
    assert!(slots.is_empty());
    assert_eq!(next_flush(&slots, ms(12_000)), None);
}

#[test]
fn a_refused_write_stays_waiting_and_is_tried_a_second_later() {
    let mut slots = BTreeMap::new();
    accept(&mut slots, &handoff(1_000, &["gen:a"]), 1_000);
    assert_eq!(flush(&mut slots, 1_000, WriteOutcome::Failed).len(), 1);
    assert_eq!(pending_at(&slots["gen:a"]), Some(ms(1_000)));
    assert_eq!(next_flush(&slots, ms(1_000)), Some(ms(2_000)));
    assert!(flush(&mut slots, 1_999, WriteOutcome::Written).is_empty());
    assert_eq!(
        flush(&mut slots, 2_000, WriteOutcome::Written),
        vec![("gen:a".into(), ms(1_000))]
    );
    assert_eq!(pending_at(&slots["gen:a"]), None);
}

#[test]
fn a_purge_arriving_during_a_write_is_not_lost_by_it() {
    let mut slots = BTreeMap::new();
    accept(&mut slots, &handoff(1_000, &["gen:a"]), 1_000);
    let plan = flush_plan(&slots, ms(1_000));
    // While the write of 1_000 is in flight, a purge at 1_300 arrives.
    accept(&mut slots, &handoff(1_300, &["gen:a"]), 1_300);
    let s = slots["gen:a"];
    let after = after_write(s, &plan.writes[0].record, WriteOutcome::Written, ms(1_400));
    assert_eq!(pending_at(&after), Some(ms(1_300)));
    assert_eq!(after.not_before, ms(2_400));
}

#[test]
#[allow(clippy::assertions_on_constants)]
fn a_flush_leaves_room_under_the_operation_limit() {
    // KV allows 1,000 operations per invocation; a flush's reads count in it.
    assert!(WRITES_PER_FLUSH < 1000);
}

#[test]
fn a_flush_writes_at_most_its_share_of_the_operation_limit_oldest_first() {
    let mut slots = BTreeMap::new();
    for i in 0..(WRITES_PER_FLUSH as u64 + 10) {
        let key = format!("gen:{i:04}");
        accept(&mut slots, &handoff(5_000, &[&key]), 1_000 + i);
    }
    let first = flush(&mut slots, 3_000, WriteOutcome::Written);
    assert_eq!(first.len(), WRITES_PER_FLUSH);
    assert_eq!(first[0].0, "gen:0000");
    // The rest are due at once, not a second later.
    assert_eq!(next_flush(&slots, ms(3_000)), Some(ms(3_000)));
    let second = flush(&mut slots, 3_000, WriteOutcome::Written);
    assert_eq!(second.len(), 10);
    assert_eq!(second[0].0, format!("gen:{:04}", WRITES_PER_FLUSH));
}

#[test]
fn a_full_writer_refuses_new_names_but_still_coalesces_waiting_ones() {
    let mut slots = BTreeMap::new();
    let keys: Vec<String> = (0..MAX_PENDING).map(|i| format!("gen:{i}")).collect();
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    accept(&mut slots, &handoff(1_000, &refs), 1_000);
    assert!(matches!(
        admit(&slots, &handoff(2_000, &["gen:new"]), ms(2_000)),
        Admission::Full { retry_after: 1 }
    ));
    // A name already waiting takes no new place: accepted, newest time kept.
    match admit(&slots, &handoff(2_000, &["gen:7"]), ms(2_000)) {
        Admission::Accept(u) => assert_eq!(pending_at(&u[0].1), Some(ms(2_000))),
        Admission::Full { .. } => panic!("refused a waiting name"),
    }
}

#[test]
fn every_waiting_name_is_written_within_the_flush_bound() {
    // The writer full, each flush a second apart (the key spacing): the last
    // name to arrive starts its write within FLUSH_BOUND_SECS.
    let mut slots = BTreeMap::new();
    let keys: Vec<String> = (0..MAX_PENDING).map(|i| format!("gen:{i:05}")).collect();
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    accept(&mut slots, &handoff(1_000, &refs), 1_000);
    let mut now = 1_000;
    while slots.values().any(|s| s.pending.is_some()) {
        flush(&mut slots, now, WriteOutcome::Written);
        now = next_flush(&slots, ms(now)).unwrap().0;
    }
    assert!(
        now - 1_000 <= FLUSH_BOUND_SECS * 1000,
        "took {} ms",
        now - 1_000
    );
}

#[test]
fn the_bound_adds_the_writer_propagation_memo_and_skew() {
    let s = PurgeSettings {
        generation_memo: 5,
        clock_skew: 2,
        kv_propagation: 60,
        ..PurgeSettings::default()
    };
    assert_eq!(staleness_bound(&s, Writer::Direct), 67);
    assert_eq!(staleness_bound(&s, Writer::Single), 67 + FLUSH_BOUND_SECS);
}

#[test]
fn an_isolate_never_forgets_a_purge_it_received_for_an_older_kv_value() {
    use edgecache::http::time::UnixSecs;
    use edgecache::purge::generations::{Gen, GenName};
    use edgecache::purge::memo::{Memo, MEMO_MAX_BYTES};
    let name = GenName::tag("course_list");
    let mut memo = Memo::new(1, MEMO_MAX_BYTES);
    let purge = |at: u64, nonce: u64| {
        Gen::Purged(PurgeRecord::new(PurgeKind::Hard, ms(at)).with_nonce(nonce))
    };
    let at = |g: Option<Gen>| match g {
        Some(Gen::Purged(r)) => Some(r.mark().at),
        _ => None,
    };
    // This isolate received the purge at 5_000 ms...
    memo.put(name.clone(), purge(5_000, 1), UnixSecs(5));
    // ...the memo expires, and KV (not written yet, or cached here) still says
    // "never purged", then an older purge.
    assert_eq!(
        memo.put(name.clone(), Gen::Never, UnixSecs(7)),
        purge(5_000, 1)
    );
    assert_eq!(at(memo.get(&name, UnixSecs(7))), Some(ms(5_000)));
    memo.put(name.clone(), purge(1_000, 2), UnixSecs(9));
    assert_eq!(at(memo.get(&name, UnixSecs(9))), Some(ms(5_000)));
    // A newer purge read from KV wins.
    memo.put(name.clone(), purge(8_000, 3), UnixSecs(11));
    assert_eq!(at(memo.get(&name, UnixSecs(11))), Some(ms(8_000)));
}

/// Found by the simulator (seeds 9084, 9730): an isolate that received a
/// purge and then read an older value from KV (not written yet, or this
/// location's cached read) held the later time with the older value's nonce,
/// a mark no write ever had. Entries that recorded the real purge's mark then
/// failed rule 2 and counted as purged for the whole skew window: an origin
/// request on every read. The memo keeps the later purge's own mark.
#[test]
fn an_older_kv_value_does_not_lend_its_nonce_to_a_purge_the_memo_holds() {
    use edgecache::http::time::UnixSecs;
    use edgecache::purge::generations::{Gen, GenName};
    use edgecache::purge::memo::{Memo, MEMO_MAX_BYTES};
    let name = GenName::tag("item:0");
    let mut memo = Memo::new(5, MEMO_MAX_BYTES).with_clock_skew(2);
    let received = PurgeRecord::new(PurgeKind::Hard, ms(84_475)).with_nonce(12);
    let older = PurgeRecord::new(PurgeKind::Hard, ms(51_087)).with_nonce(4);
    memo.put(name.clone(), Gen::Purged(received), UnixSecs(85));
    let held = memo.put(name.clone(), Gen::Purged(older), UnixSecs(86));
    assert_eq!(held, Gen::Purged(received));
    assert_eq!(memo.get(&name, UnixSecs(86)), Some(Gen::Purged(received)));
    // A later purge read from KV brings its own mark.
    let newer = PurgeRecord::new(PurgeKind::Hard, ms(89_585)).with_nonce(13);
    assert_eq!(
        memo.put(name.clone(), Gen::Purged(newer), UnixSecs(90)),
        Gen::Purged(newer)
    );
}

/// The other side of the rule above: a value read from KV whose time is within
/// the clock-skew allowance of the purge the memo holds may be the newer write
/// (a purging clock behind), so the memo keeps no nonce at all — neither mark
/// may vouch for an entry the other purge covers (issue 23.3).
#[test]
fn a_kv_value_within_the_skew_of_a_held_purge_leaves_no_nonce() {
    use edgecache::http::time::UnixSecs;
    use edgecache::purge::generations::{Gen, GenName};
    use edgecache::purge::memo::{Memo, MEMO_MAX_BYTES};
    let name = GenName::tag("item:0");
    let mut memo = Memo::new(5, MEMO_MAX_BYTES).with_clock_skew(2);
    let received = PurgeRecord::new(PurgeKind::Hard, ms(84_475)).with_nonce(12);
    let close = PurgeRecord::new(PurgeKind::Hard, ms(83_000)).with_nonce(13);
    memo.put(name.clone(), Gen::Purged(received), UnixSecs(85));
    let held = memo.put(name.clone(), Gen::Purged(close), UnixSecs(86));
    let Gen::Purged(held) = held else {
        panic!("a purge is never forgotten: {held:?}")
    };
    assert_eq!(held.mark().at, ms(84_475));
    assert_eq!(held.mark().nonce, None);
}
