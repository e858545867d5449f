//! Purge marks (`purge::mark`) and the equality rule of `purge::generations`
//! (rule 2): an entry that recorded a name's mark before its fetch is current
//! for that name while the mark is unchanged, whatever the clocks say.
use edgecache::config::DEFAULT_CLOCK_SKEW;
use edgecache::flow::entry::{encode_stamp, parse_stamp};
use edgecache::http::time::UnixMillis;
use edgecache::purge::generations::{
    after_purge, is_current, parse_value, request_names, Currency, Gen, GenName, Generations,
    PurgeKind, PurgeMark, PurgeRecord, Stamp,
};
use edgecache::purge::mark::{encode_mark, parse_mark, SeenMarks, MAX_SEEN_MARKS};

const SKEW: u64 = DEFAULT_CLOCK_SKEW * 1000;
const HOST: &str = "api.example.com";
const BASE: &str = "https://api.example.com/api/courses/";

fn names(tags: &[&str]) -> Vec<GenName> {
    let tags: Vec<String> = tags.iter().map(|t| t.to_string()).collect();
    request_names(HOST, "/api/courses/", BASE, &tags)
}

/// A name last purged hard with `mark` (its time and nonce).
fn purged(mark: PurgeMark) -> Gen {
    Gen::Purged(PurgeRecord {
        hard: Some(mark.at),
        soft: None,
        nonce: mark.nonce,
    })
}

/// Every name never purged, except `tag:course_list` with `mark`.
fn gens_with(mark: PurgeMark) -> Generations {
    let mut g = Generations::new();
    for n in names(&["course_list"]) {
        g.insert(n, Gen::Never);
    }
    g.insert(GenName::tag("course_list"), purged(mark));
    g
}

/// An entry fetched at `fetched` after reading `seen` (the values before its fetch).
fn entry(fetched: u64, seen: &Generations) -> Stamp {
    let mut s = Stamp::new(UnixMillis(fetched), &["course_list".into()]).unwrap();
    s.record_seen(&names(&["course_list"]), seen);
    s
}

#[test]
fn marks_round_trip_and_legacy_bare_times_stay_readable() {
    let m = PurgeMark::new(UnixMillis(1_700_000_000_123), 0x0123_4567_89ab_cdef);
    assert_eq!(encode_mark(&m), "1700000000123.0123456789abcdef");
    assert_eq!(parse_mark(&encode_mark(&m)), Some(m));
    // A hard purge's KV value is its mark's text.
    let value = after_purge(None, PurgeKind::Hard, m.at, 0x0123_4567_89ab_cdef);
    assert_eq!(value, encode_mark(&m));
    assert_eq!(parse_value(&value).map(|r| r.mark()), Some(m));
    assert_eq!(parse_mark("42"), Some(PurgeMark::from(UnixMillis(42))));
    assert_eq!(Gen::from_kv(Some("42")), purged(UnixMillis(42).into()));
    for bad in [
        "42.",
        "42.0123",
        "42.0123456789ABCDEF",
        "42.0123456789abcdeff",
        ".0123456789abcdef",
        "042.0123456789abcdef",
        "42.-123456789abcdef",
    ] {
        assert_eq!(parse_mark(bad), None, "{bad:?}");
        assert_eq!(parse_value(bad), None, "{bad:?}");
        assert_eq!(Gen::from_kv(Some(bad)), Gen::Unreadable, "{bad:?}");
    }
}

#[test]
fn the_mark_read_before_the_fetch_keeps_the_entry_current_inside_the_skew_window() {
    // Purged at 10 000; fetched 500 ms later, well inside the 2 s skew allowance.
    let mark = PurgeMark::new(UnixMillis(10_000), 1);
    let g = gens_with(mark);
    let recorded = entry(10_500, &g);
    assert_eq!(
        is_current(&recorded, &names(&["course_list"]), &g, SKEW),
        Currency::Current
    );
    // Without the recorded mark, the time rule alone calls it purged.
    let bare = entry(10_500, &Generations::new());
    assert!(matches!(
        is_current(&bare, &names(&["course_list"]), &g, SKEW),
        Currency::Moved { .. }
    ));
}

#[test]
fn a_new_purge_moves_the_entry_even_with_a_smaller_time() {
    let g = gens_with(PurgeMark::new(UnixMillis(10_000), 1));
    let recorded = entry(10_500, &g);
    // A later purge from a machine whose clock is behind writes a smaller time:
    // a different mark, so the time rule applies, and it is inside the skew.
    let later = gens_with(PurgeMark::new(UnixMillis(9_900), 2));
    assert!(matches!(
        is_current(&recorded, &names(&["course_list"]), &later, SKEW),
        Currency::Moved { .. }
    ));
    // Same time, another nonce: two purges in one millisecond.
    let same_ms = gens_with(PurgeMark::new(UnixMillis(10_000), 3));
    assert!(matches!(
        is_current(&recorded, &names(&["course_list"]), &same_ms, SKEW),
        Currency::Moved { .. }
    ));
}

#[test]
fn a_purge_during_the_fetch_moves_the_entry() {
    // Read mark 1 before the fetch at 10 500; purge 2 lands at 10 600.
    let before = gens_with(PurgeMark::new(UnixMillis(10_000), 1));
    let recorded = entry(10_500, &before);
    let after = gens_with(PurgeMark::new(UnixMillis(10_600), 2));
    assert!(matches!(
        is_current(&recorded, &names(&["course_list"]), &after, 0),
        Currency::Moved { .. }
    ));
}

#[test]
fn legacy_marks_without_a_nonce_never_prove_equality() {
    let legacy = gens_with(UnixMillis(10_000).into());
    let recorded = entry(10_500, &legacy);
    assert!(recorded.seen().is_empty());
    assert!(matches!(
        is_current(&recorded, &names(&["course_list"]), &legacy, SKEW),
        Currency::Moved { .. }
    ));
}

#[test]
fn a_mark_recorded_for_one_name_does_not_vouch_for_another() {
    let mark = PurgeMark::new(UnixMillis(10_000), 1);
    let g = gens_with(mark);
    let recorded = entry(10_500, &g);
    // `all` is purged with the very same mark value: not what was recorded for it.
    let mut g2 = g.clone();
    g2.insert(GenName::all(), purged(mark));
    assert!(matches!(
        is_current(&recorded, &names(&["course_list"]), &g2, SKEW),
        Currency::Moved { .. }
    ));
}

#[test]
fn stamps_with_marks_round_trip_and_without_stay_version_1() {
    let g = gens_with(PurgeMark::new(UnixMillis(10_000), 0xabc));
    let s = entry(10_500, &g);
    let enc = encode_stamp(&s);
    assert!(enc.starts_with("2;10500;course_list;"), "{enc}");
    assert!(enc.ends_with("=10000.0000000000000abc"), "{enc}");
    assert_eq!(parse_stamp(&enc), Some(s));
    let plain = entry(10_500, &Generations::new());
    assert_eq!(encode_stamp(&plain), "1;10500;course_list");
    let id = GenName::tag("course_list").mark_id();
    for bad in [
        "2;1;;".to_string(),    // version 2 with no marks
        format!("2;1;;{id}=5"), // a mark without a nonce
        format!("2;1;;{id}=5.0000000000000001,{id}=5.0000000000000001"), // not distinct
        format!("2;1;;{}=5.0000000000000001", &id[..11]), // short id
        format!("1;1;;{id}=5.0000000000000001"), // marks in version 1
        format!("3;1;;{id}=5.0000000000000001"),
    ] {
        assert_eq!(parse_stamp(&bad), None, "{bad:?}");
    }
}

#[test]
fn seen_marks_are_bounded() {
    let mut seen = SeenMarks::default();
    for i in 0..(MAX_SEEN_MARKS as u64 + 5) {
        seen.insert(
            &GenName::tag(&format!("t{i}")).mark_id(),
            PurgeMark::new(UnixMillis(i), i),
        );
    }
    assert_eq!(seen.len(), MAX_SEEN_MARKS);
    assert_eq!(SeenMarks::parse(&seen.encode()), Some(seen));
}

#[test]
fn a_soft_purge_after_the_recorded_mark_is_seen_and_one_before_it_is_not() {
    let nonce = 7;
    let value = after_purge(None, PurgeKind::Soft, UnixMillis(10_000), nonce);
    let g = {
        let mut g = gens_with(PurgeMark::new(UnixMillis(1), 1));
        g.insert(GenName::tag("course_list"), Gen::from_kv(Some(&value)));
        g
    };
    // Read before the fetch (inside the skew window): the very same value later
    // proves no purge of either kind since.
    let recorded = entry(10_500, &g);
    assert_eq!(
        is_current(&recorded, &names(&["course_list"]), &g, SKEW),
        Currency::Current
    );
    // A later soft purge (merged with the value read: a new nonce) is seen.
    let later = after_purge(Some(&value), PurgeKind::Soft, UnixMillis(10_600), 8);
    let mut g2 = g.clone();
    g2.insert(GenName::tag("course_list"), Gen::from_kv(Some(&later)));
    assert!(matches!(
        is_current(&recorded, &names(&["course_list"]), &g2, SKEW),
        Currency::SoftPurged { .. }
    ));
}

#[test]
fn a_merge_carries_the_newer_purges_nonce_even_when_its_times_do_not_grow() {
    // A hard purge from a clock that is behind: the merged times stay those of
    // the old value, only the nonce changes, and that is enough to be seen.
    let old = PurgeRecord::new(PurgeKind::Hard, UnixMillis(10_000)).with_nonce(1);
    let newer = PurgeRecord::new(PurgeKind::Hard, UnixMillis(9_000)).with_nonce(2);
    let merged = old.merge(newer);
    assert_eq!(merged.hard, Some(UnixMillis(10_000)));
    assert_eq!(merged.nonce, Some(2));
    assert!(!merged.mark().same_purge(&old.mark()));
}

/// Issue 23.3: two purges of one name inside the skew allowance, A (written
/// first, by a clock ahead: at 10 000) and B (received by this isolate, by a
/// clock behind: at 9 000). An entry fetched between them recorded A's mark.
/// Once the isolate's memo of B expires and KV (not caught up) shows A again,
/// the memo's merge must not rebuild A's exact mark: the entry would pass the
/// "same mark" rule although B purged it.
#[test]
fn a_memo_merge_never_rebuilds_an_older_mark() {
    use edgecache::http::time::UnixSecs;
    use edgecache::purge::memo::{Memo, MEMO_MAX_BYTES};
    let a = PurgeMark::new(UnixMillis(10_000), 0xa);
    let b = PurgeMark::new(UnixMillis(9_000), 0xb);
    let recorded = entry(10_100, &gens_with(a));
    let name = GenName::tag("course_list");
    let mut memo = Memo::new(5, MEMO_MAX_BYTES);
    // This isolate received B: its memo holds it, and the entry is purged.
    let held = memo.put(name.clone(), purged(b), UnixSecs(100));
    let Gen::Purged(held) = held else { panic!() };
    assert_ne!(
        is_current(
            &recorded,
            &names(&["course_list"]),
            &gens_with_record(held),
            SKEW
        ),
        Currency::Current
    );
    // The memo expires; KV still shows A.
    assert_eq!(memo.get(&name, UnixSecs(110)), None);
    let merged = memo.put(name.clone(), purged(a), UnixSecs(110));
    let Gen::Purged(merged) = merged else {
        panic!()
    };
    assert_ne!(merged.mark(), a, "the merge rebuilt A's mark");
    assert_ne!(
        is_current(
            &recorded,
            &names(&["course_list"]),
            &gens_with_record(merged),
            SKEW
        ),
        Currency::Current,
        "an entry fetched between the two purges passed as current"
    );
    // The same value read again is what the memo holds: nothing to merge.
    let again = memo.put(name.clone(), purged(a), UnixSecs(120));
    assert_eq!(again, Gen::Purged(merged));
}

/// A value re-read unchanged keeps its mark: the equality rule still holds
/// for entries that recorded it (the common case: KV shows the purge this
/// isolate wrote).
#[test]
fn a_memo_re_read_of_the_same_value_keeps_its_mark() {
    use edgecache::http::time::UnixSecs;
    use edgecache::purge::memo::{Memo, MEMO_MAX_BYTES};
    let b = PurgeMark::new(UnixMillis(9_000), 0xb);
    let name = GenName::tag("course_list");
    let mut memo = Memo::new(5, MEMO_MAX_BYTES);
    memo.put(name.clone(), purged(b), UnixSecs(100));
    let again = memo.put(name.clone(), purged(b), UnixSecs(110));
    assert_eq!(again, purged(b));
    let recorded = entry(9_100, &gens_with(b));
    assert_eq!(
        is_current(&recorded, &names(&["course_list"]), &gens_with(b), SKEW),
        Currency::Current
    );
}

/// Every name never purged, except `tag:course_list` with `record`.
fn gens_with_record(record: PurgeRecord) -> Generations {
    let mut g = Generations::new();
    for n in names(&["course_list"]) {
        g.insert(n, Gen::Never);
    }
    g.insert(GenName::tag("course_list"), Gen::Purged(record));
    g
}

/// A purge this isolate wrote is newer than what it held: the memo keeps the
/// purge's nonce, so entries fetched after it here record a mark KV will show
/// once the write lands (rule 2 holds for them at once).
#[test]
fn a_purge_written_here_keeps_its_own_nonce_in_the_memo() {
    use edgecache::http::time::UnixSecs;
    use edgecache::purge::memo::{Memo, MEMO_MAX_BYTES};
    let a = PurgeMark::new(UnixMillis(10_000), 0xa);
    let b = PurgeMark::new(UnixMillis(9_000), 0xb);
    let name = GenName::tag("course_list");
    let mut memo = Memo::new(5, MEMO_MAX_BYTES);
    memo.put(name.clone(), purged(a), UnixSecs(100));
    let Gen::Purged(held) = memo.put_written(name.clone(), purged(b), UnixSecs(101)) else {
        panic!()
    };
    assert_eq!(held.mark(), PurgeMark::new(UnixMillis(10_000), 0xb));
    // What KV shows once the writer merged B over A: the same mark.
    let in_kv = PurgeRecord {
        hard: Some(UnixMillis(10_000)),
        soft: None,
        nonce: Some(0xb),
    };
    assert_eq!(
        memo.put(name, Gen::Purged(in_kv), UnixSecs(110)),
        Gen::Purged(in_kv)
    );
}
