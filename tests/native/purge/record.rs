//! `purge::record`: one name's KV value (last hard and last soft purge), its
//! strict format, the values earlier versions wrote, and the merge rule.

use edgecache::http::time::UnixMillis;
use edgecache::purge::record::{after_purge, PurgeKind, PurgeRecord};

fn rec(hard: Option<u64>, soft: Option<u64>) -> PurgeRecord {
    PurgeRecord {
        hard: hard.map(UnixMillis),
        soft: soft.map(UnixMillis),
        nonce: None,
    }
}

#[test]
fn a_bare_time_is_a_hard_purge_as_earlier_versions_wrote_it() {
    assert_eq!(
        PurgeRecord::parse("1700000000123"),
        Some(rec(Some(1_700_000_000_123), None))
    );
}

#[test]
fn a_hard_purge_writes_its_time_and_nonce() {
    assert_eq!(
        after_purge(None, PurgeKind::Hard, UnixMillis(42), 1),
        "42.0000000000000001"
    );
    // Values of earlier versions (no nonce) stay readable.
    assert_eq!(PurgeRecord::parse("42"), Some(rec(Some(42), None)));
}

#[test]
fn every_shape_round_trips() {
    for r in [
        rec(Some(5), None),
        rec(None, Some(7)),
        rec(Some(5), Some(7)),
    ] {
        let s = r.encode().unwrap();
        assert_eq!(PurgeRecord::parse(&s), Some(r), "{s}");
    }
    assert_eq!(rec(None, Some(7)).encode().unwrap(), "v2;s=7");
    assert_eq!(rec(Some(5), Some(7)).encode().unwrap(), "v2;h=5;s=7");
    assert_eq!(rec(None, None).encode(), None);
}

#[test]
fn a_soft_purge_before_the_hard_one_is_dropped() {
    assert_eq!(rec(Some(9), Some(7)).encode().unwrap(), "9");
    assert_eq!(rec(Some(9), Some(9)).encode().unwrap(), "9");
}

#[test]
fn only_the_canonical_form_parses() {
    for bad in [
        "",
        "x",
        "01",
        "-1",
        " 5",
        "v2;",
        "v2;s=",
        "v2;s=01",
        "v2;h=5",
        "v2;h=9;s=7",
        "v2;s=7;h=5",
        "v2;h=5;s=7;",
        "v3;s=7",
        "v2;x=1;s=7",
        "v2;h=;s=7",
    ] {
        assert_eq!(PurgeRecord::parse(bad), None, "{bad:?}");
    }
}

#[test]
fn merge_keeps_the_later_of_each_time() {
    let a = rec(Some(10), None);
    let b = rec(None, Some(20));
    assert_eq!(a.merge(b), rec(Some(10), Some(20)));
    assert_eq!(b.merge(a), a.merge(b));
    assert_eq!(a.merge(a), a);
    assert_eq!(rec(Some(30), None).merge(b), rec(Some(30), None));
    let c = rec(Some(5), Some(25));
    assert_eq!(a.merge(b).merge(c), a.merge(b.merge(c)));
}

#[test]
fn a_soft_purge_keeps_the_last_hard_purge_it_read() {
    assert_eq!(
        after_purge(Some("10"), PurgeKind::Soft, UnixMillis(20), 1),
        "v2;h=10;s=20;n=0000000000000001"
    );
    assert_eq!(
        after_purge(None, PurgeKind::Soft, UnixMillis(20), 1),
        "v2;s=20;n=0000000000000001"
    );
    assert_eq!(
        after_purge(Some("v2;s=5"), PurgeKind::Soft, UnixMillis(20), 1),
        "v2;s=20;n=0000000000000001"
    );
}

#[test]
fn a_soft_purge_over_garbage_writes_a_hard_purge() {
    // The garbage value made every entry a miss; a soft purge must not loosen that.
    assert_eq!(
        after_purge(Some("garbage"), PurgeKind::Soft, UnixMillis(20), 1),
        "20.0000000000000001"
    );
}

#[test]
fn a_read_with_the_held_mark_keeps_the_held_hard_purge() {
    // Held: a hard purge at 1000 merged with a soft one at 2000 (nonce 7,
    // the soft purge's). Read: the soft purge's own log entry, same mark.
    let held = PurgeRecord {
        nonce: Some(7),
        ..rec(Some(1000), Some(2000))
    };
    let read = PurgeRecord {
        nonce: Some(7),
        ..rec(None, Some(2000))
    };
    assert_eq!(held.mark(), read.mark());
    let merged = held.merge_read(read, 2000, |_, _| None);
    assert_eq!(merged.hard, Some(UnixMillis(1000)));
    assert_eq!(merged.soft, Some(UnixMillis(2000)));
    assert_eq!(merged.nonce, Some(7));
}
