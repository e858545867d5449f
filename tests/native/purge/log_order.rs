//! The writer's order of purges (`purge::log::LogOrder`) in the memo's merge
//! (`purge::memo::Memo::put_ordered`): two purges of one name inside the
//! clock-skew window, which the time rule cannot order, keep the newer
//! write's nonce when the log orders them, so rule 2 of `purge::generations`
//! keeps vouching for entries fetched after the newer one (issue 25: without
//! it, every entry of the name was fetched again for the skew window).

use edgecache::config::DEFAULT_CLOCK_SKEW;
use edgecache::http::time::{UnixMillis, UnixSecs};
use edgecache::purge::fastview::FastView;
use edgecache::purge::generations::{Gen, GenName, PurgeRecord};
use edgecache::purge::log::{LogEntry, LogOrder, LogRead, WRITTEN_MAX};
use edgecache::purge::memo::{Memo, MEMO_MAX_BYTES};

fn entry(seq: u64, at: u64, nonce: u64) -> LogEntry {
    LogEntry {
        seq,
        at: UnixMillis(at),
        soft: false,
        nonce,
        names: vec!["tag:course".to_string()],
    }
}

fn read(head: u64, first: u64, entries: Vec<LogEntry>) -> LogRead {
    LogRead {
        head,
        first,
        complete: true,
        entries,
    }
}

fn hard(at: u64, nonce: u64) -> Gen {
    Gen::Purged(PurgeRecord {
        hard: Some(UnixMillis(at)),
        soft: None,
        nonce: Some(nonce),
    })
}

fn memo() -> Memo {
    Memo::new(5, MEMO_MAX_BYTES).with_clock_skew(DEFAULT_CLOCK_SKEW)
}

fn nonce_of(g: Gen) -> Option<u64> {
    match g {
        Gen::Purged(r) => r.nonce,
        _ => panic!("not purged: {g:?}"),
    }
}

/// Purge A (seq 1) by a clock ahead, then B (seq 2) by a clock behind: B's
/// time is 500 ms before A's, inside the skew allowance. The time rule
/// cannot tell which is newer (no nonce: the stampede); the log can.
#[test]
fn the_log_orders_two_purges_inside_the_skew_window() {
    let (a, b) = (entry(1, 10_000, 0xa), entry(2, 9_500, 0xb));
    let mut view = FastView::new();
    view.on_read(
        &read(2, 1, vec![a.clone(), b.clone()]),
        UnixMillis(11_000),
        UnixMillis(11_000),
        70_000,
    );
    let name = GenName::tag("course");
    let mut m = memo();
    m.put_ordered(
        name.clone(),
        Gen::Purged(a.record()),
        UnixSecs(11),
        view.order(),
    );
    let held = m.put_ordered(
        name.clone(),
        Gen::Purged(b.record()),
        UnixSecs(11),
        view.order(),
    );
    assert_eq!(nonce_of(held), Some(0xb), "the newer write's nonce");
    assert_eq!(held, hard(10_000, 0xb), "and both purges' times");
    // KV, not caught up, still shows A: the memo keeps B.
    let again = m.put_ordered(name.clone(), hard(10_000, 0xa), UnixSecs(12), view.order());
    assert_eq!(nonce_of(again), Some(0xb));
    // Arriving the other way round (B from the log, then A from KV) changes nothing.
    let mut other = memo();
    other.put_ordered(
        name.clone(),
        Gen::Purged(b.record()),
        UnixSecs(11),
        view.order(),
    );
    let held = other.put_ordered(name, Gen::Purged(a.record()), UnixSecs(11), view.order());
    assert_eq!(held, hard(10_000, 0xb));
}

/// Without the log's order (a purge not in the window), the time rule
/// decides as before: inside the skew window, no nonce (fail safe).
#[test]
fn purges_the_log_does_not_order_fall_back_to_the_time_rule() {
    let name = GenName::tag("course");
    let mut m = memo();
    let order = LogOrder::default();
    m.put_ordered(name.clone(), hard(10_000, 0xa), UnixSecs(11), &order);
    let held = m.put_ordered(name.clone(), hard(9_500, 0xb), UnixSecs(11), &order);
    assert_eq!(nonce_of(held), None);
    // Certainly newer by the clocks: its nonce.
    let later = m.put_ordered(name, hard(20_000, 0xc), UnixSecs(12), &order);
    assert_eq!(nonce_of(later), Some(0xc));
}

/// A purge this isolate handed to the writer (logged) is newer than every
/// purge its reads have shown, until a read asked after the hand-off shows it.
#[test]
fn a_purge_written_here_is_newer_than_every_purge_read_so_far() {
    let a = entry(1, 10_000, 0xa);
    let mut view = FastView::new();
    view.on_read(
        &read(1, 1, vec![a.clone()]),
        UnixMillis(10_500),
        UnixMillis(10_600),
        70_000,
    );
    // B written here at 9 600 (a clock behind), answered at 10 800.
    view.wrote(0xb, UnixMillis(10_800));
    let name = GenName::tag("course");
    let mut m = memo();
    m.put_written(name.clone(), hard(9_600, 0xb), UnixSecs(10));
    // KV (or the log's copy) shows A: B stays the newer.
    let held = m.put_ordered(
        name.clone(),
        Gen::Purged(a.record()),
        UnixSecs(11),
        view.order(),
    );
    assert_eq!(held, hard(10_000, 0xb));
    // A read asked before the hand-off was answered, without B: still pending.
    view.on_read(
        &read(1, 1, vec![a.clone()]),
        UnixMillis(10_700),
        UnixMillis(10_900),
        70_000,
    );
    assert_eq!(view.order().newer(0xa, 0xb), Some(true));
    // The next read holds B: its number from now on.
    let b = entry(2, 9_600, 0xb);
    view.on_read(
        &read(2, 1, vec![a, b]),
        UnixMillis(11_500),
        UnixMillis(11_600),
        70_000,
    );
    assert_eq!(view.order().newer(0xa, 0xb), Some(true));
    assert_eq!(view.order().newer(0xb, 0xa), Some(false));
}

/// A read asked after the hand-off that does not hold the purge (dropped
/// from the log): the purge is no longer ranked, the time rule applies.
#[test]
fn a_written_purge_missing_from_a_later_read_is_no_longer_ranked() {
    let mut view = FastView::new();
    view.on_read(
        &read(1, 1, vec![entry(1, 10_000, 0xa)]),
        UnixMillis(10_500),
        UnixMillis(10_600),
        70_000,
    );
    view.wrote(0xb, UnixMillis(10_800));
    assert_eq!(view.order().newer(0xa, 0xb), Some(true));
    let c = entry(3, 11_000, 0xc);
    view.on_read(
        &read(3, 1, vec![entry(1, 10_000, 0xa), c]),
        UnixMillis(11_500),
        UnixMillis(11_600),
        70_000,
    );
    assert_eq!(view.order().newer(0xc, 0xb), None, "B must not outrank C");
    assert_eq!(view.order().newer(0xa, 0xc), Some(true));
}

/// Two purges written here and not yet read: unordered (the hand-offs may
/// have been logged in either order).
#[test]
fn two_purges_written_here_are_not_ordered_until_read() {
    let mut order = LogOrder::default();
    order.wrote(0xa, UnixMillis(1));
    order.wrote(0xb, UnixMillis(2));
    assert_eq!(order.newer(0xa, 0xb), None);
    for n in 0..(WRITTEN_MAX as u64 + 10) {
        order.wrote(0x100 + n, UnixMillis(3));
    }
    assert_eq!(
        order.newer(0x100, 0xa),
        None,
        "bounded: the oldest forgotten"
    );
}

/// The order forgets entries that left the window, and everything when the
/// log restarted (its numbers start again).
#[test]
fn the_order_follows_the_window_and_a_restarted_log() {
    let mut view = FastView::new();
    let entries = vec![
        entry(1, 1_000, 0xa),
        entry(2, 2_000, 0xb),
        entry(3, 3_000, 0xc),
    ];
    view.on_read(
        &read(3, 1, entries),
        UnixMillis(4_000),
        UnixMillis(4_000),
        70_000,
    );
    assert_eq!(view.order().len(), 3);
    view.on_read(
        &read(4, 3, vec![entry(3, 3_000, 0xc), entry(4, 4_000, 0xd)]),
        UnixMillis(5_000),
        UnixMillis(5_000),
        70_000,
    );
    assert_eq!(view.order().newer(0xa, 0xd), None, "seq 1 left the window");
    assert_eq!(view.order().newer(0xc, 0xd), Some(true));
    // The log restarted: seq 1 again, a new purge.
    view.on_read(
        &read(1, 1, vec![entry(1, 6_000, 0xe)]),
        UnixMillis(6_500),
        UnixMillis(6_500),
        70_000,
    );
    assert_eq!(
        view.order().newer(0xe, 0xd),
        None,
        "numbers of two logs never compared"
    );
    assert_eq!(view.order().len(), 1);
}
