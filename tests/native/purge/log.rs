//! The fast path: the writer's log of recent purges (`purge::log`) and an
//! isolate's view of it (`purge::fastview`).

use edgecache::config::PurgeSettings;
use edgecache::http::time::UnixMillis;
use edgecache::purge::fastview::{
    fast_bound_ms, interval, purges, read_window_ms, Behind, FastView, Step, BACKOFF_MAX_MS,
    BACKOFF_MIN_MS, READ_GIVE_UP_MS, READ_TIMEOUT_MS,
};
use edgecache::purge::generations::{GenName, PurgeKind};
use edgecache::purge::log::{
    append, read_plan, Append, LogEntry, LogIndex, LogRead, ENTRY_MAX_BYTES, LOG_KEEP_MS,
    LOG_MAX_BYTES,
};

const POLL: u64 = 1000;

fn ms(v: u64) -> UnixMillis {
    UnixMillis(v)
}

fn logged(index: &LogIndex, names: &[&str], now: u64) -> (LogEntry, LogIndex, Vec<u64>) {
    let names = names.iter().map(|n| n.to_string()).collect();
    match append(index, names, ms(now), false, now, ms(now)) {
        Append::Logged { entry, index, drop } => (entry, index, drop),
        Append::TooBig => panic!("not logged"),
    }
}

fn entry(seq: u64, name: &str) -> LogEntry {
    LogEntry {
        seq,
        at: ms(seq * 10),
        soft: false,
        nonce: seq,
        names: vec![name.to_string()],
    }
}

fn read(head: u64, first: u64, complete: bool, entries: Vec<LogEntry>) -> LogRead {
    LogRead {
        head,
        first,
        complete,
        entries,
    }
}

#[test]
fn each_purge_gets_the_next_sequence_number() {
    let (a, index, _) = logged(&LogIndex::default(), &["tag:a"], 1_000);
    let (b, index, _) = logged(&index, &["tag:b"], 2_000);
    assert_eq!((a.seq, b.seq, index.head), (1, 2, 2));
}

#[test]
fn a_purge_over_the_entry_bound_is_not_logged() {
    let big = vec!["x".repeat(ENTRY_MAX_BYTES)];
    let out = append(&LogIndex::default(), big, ms(1), false, 1, ms(1));
    assert_eq!(out, Append::TooBig);
}

#[test]
fn entries_older_than_the_keep_window_are_dropped() {
    let (_, index, _) = logged(&LogIndex::default(), &["tag:a"], 1_000);
    let (_, index, drop) = logged(&index, &["tag:b"], 1_000 + LOG_KEEP_MS + 1);
    assert_eq!(drop, vec![1]);
    assert_eq!(index.items.len(), 1);
    // Dropped for age, not bytes: a read of a shorter window is whole.
    assert!(read_plan(&index, 60_000, ms(1_000 + LOG_KEEP_MS + 1)).complete);
}

#[test]
fn the_byte_bound_drops_the_oldest_and_marks_reads_reaching_back_incomplete() {
    let name = "u".repeat(ENTRY_MAX_BYTES - 100);
    let mut index = LogIndex::default();
    let mut dropped = Vec::new();
    for i in 0..20u64 {
        let (_, next, drop) = logged(&index, &[name.as_str()], 1_000 + i);
        index = next;
        dropped.extend(drop);
    }
    let held: usize = index.items.iter().map(|i| i.2).sum();
    assert!(held <= LOG_MAX_BYTES, "{held}");
    assert_eq!(dropped.first(), Some(&1));
    // A window covering the dropped entries is incomplete; one after them is whole.
    assert!(!read_plan(&index, 60_000, ms(1_020)).complete);
    let newest_dropped = index.evicted_at.unwrap().0;
    assert!(read_plan(&index, 1_020 - newest_dropped - 1, ms(1_020)).complete);
}

#[test]
fn a_read_returns_the_window_as_a_suffix_of_the_log() {
    let mut index = LogIndex::default();
    for t in [1_000, 5_000, 9_000] {
        index = logged(&index, &["tag:a"], t).1;
    }
    let plan = read_plan(&index, 5_000, ms(10_000));
    assert_eq!((plan.seqs, plan.first, plan.head), (vec![2, 3], 2, 3));
    let empty = read_plan(&index, 100, ms(10_000));
    assert_eq!((empty.seqs.len(), empty.first), (0, 4));
}

#[test]
fn a_log_read_round_trips_as_json() {
    let r = read(2, 1, true, vec![entry(1, "tag:a"), entry(2, "all")]);
    assert_eq!(LogRead::parse(&r.to_json()), Some(r));
    assert_eq!(LogRead::parse("{\"head\":1}"), None);
}

#[test]
fn the_fast_bound_is_poll_plus_a_read_plus_the_skew_and_off_at_poll_zero() {
    let s = PurgeSettings::default();
    assert_eq!(fast_bound_ms(&s), Some(1000 + READ_TIMEOUT_MS + 2000));
    let off = PurgeSettings {
        poll_ms: 0,
        ..PurgeSettings::default()
    };
    assert_eq!(fast_bound_ms(&off), None);
}

#[test]
fn the_read_window_reaches_past_the_backstop_bound() {
    let s = PurgeSettings::default();
    assert!(read_window_ms(&s, 70) > 70_000 + 2_000);
}

#[test]
fn a_new_isolate_reads_before_serving() {
    let view = FastView::new();
    assert_eq!(view.step(ms(5_000), POLL), Step::Refresh { wait: true });
    assert_eq!(view.step(ms(5_000), 0), Step::Off);
}

#[test]
fn a_fresh_view_serves_then_refreshes_in_the_background_then_first() {
    let mut view = FastView::new();
    assert!(view.begin_read(ms(1)));
    view.on_read(&read(0, 1, true, vec![]), ms(10_000), ms(10_000), 70_000);
    assert_eq!(view.step(ms(10_999), POLL), Step::Fresh);
    assert_eq!(view.step(ms(11_000), POLL), Step::Refresh { wait: false });
    let limit = 10_000 + POLL + READ_TIMEOUT_MS;
    assert_eq!(
        view.step(ms(limit - 1), POLL),
        Step::Refresh { wait: false }
    );
    assert_eq!(view.step(ms(limit), POLL), Step::Refresh { wait: true });
}

#[test]
fn one_read_at_a_time_and_others_wait_for_it_past_the_limit() {
    let mut view = FastView::new();
    assert!(view.begin_read(ms(1)));
    assert!(!view.begin_read(ms(1)));
    assert!(view.is_reading(ms(1)));
    assert_eq!(view.step(ms(1), POLL), Step::Refresh { wait: true });
}

#[test]
fn requests_stop_waiting_for_a_read_slower_than_the_timeout_and_are_told_so() {
    let mut view = FastView::new();
    assert!(view.begin_read(ms(1_000)));
    assert_eq!(view.step(ms(1_500), POLL), Step::Refresh { wait: true });
    let late = 1_000 + READ_TIMEOUT_MS;
    assert_eq!(view.step(ms(late), POLL), Step::Behind(Behind::Unreachable));
    // The slow read lands: asked at 1 000, the view is fresh until its limit.
    view.on_read(&read(0, 1, true, vec![]), ms(1_000), ms(2_500), 70_000);
    assert_eq!(view.step(ms(2_500), POLL), Step::Refresh { wait: false });
    assert_eq!(view.failures(), 0);
}

#[test]
fn a_read_that_never_reports_stops_holding_the_isolate_up() {
    let mut view = FastView::new();
    assert!(view.begin_read(ms(1_000)));
    let later = 1_000 + READ_GIVE_UP_MS + 1_000;
    assert!(!view.is_reading(ms(later)));
    assert!(view.begin_read(ms(later)));
}

#[test]
fn a_failed_read_backs_off_and_serves_under_the_kv_bound_saying_so() {
    let mut view = FastView::new();
    view.begin_read(ms(1));
    view.on_failure(ms(10_000), 0.0);
    assert_eq!(
        view.step(ms(10_500), POLL),
        Step::Behind(Behind::Unreachable)
    );
    assert_eq!(
        view.step(ms(10_000 + BACKOFF_MIN_MS), POLL),
        Step::Refresh { wait: true }
    );
    // After a wait that did not refresh, the request is told it is behind.
    assert_eq!(
        view.settled(ms(10_000 + BACKOFF_MIN_MS), POLL),
        Step::Behind(Behind::Unreachable)
    );
}

#[test]
fn the_back_off_doubles_up_to_its_maximum() {
    let mut view = FastView::new();
    let mut now = 0;
    let mut waits = Vec::new();
    for _ in 0..8 {
        view.on_failure(ms(now), 0.0);
        let mut t = now;
        while view.step(ms(t), POLL) == Step::Behind(Behind::Unreachable) {
            t += 100;
        }
        waits.push(t - now);
        now = t;
    }
    assert_eq!(waits[..3], [1000, 2000, 4000]);
    assert_eq!(*waits.last().unwrap(), BACKOFF_MAX_MS);
}

#[test]
fn a_read_applies_only_entries_new_to_the_isolate() {
    let mut view = FastView::new();
    let first = view.on_read(
        &read(2, 1, true, vec![entry(1, "tag:a"), entry(2, "tag:b")]),
        ms(1_000),
        ms(1_000),
        70_000,
    );
    assert_eq!(first.len(), 2);
    let next = view.on_read(
        &read(
            3,
            1,
            true,
            vec![entry(1, "tag:a"), entry(2, "tag:b"), entry(3, "tag:c")],
        ),
        ms(2_000),
        ms(2_000),
        70_000,
    );
    assert_eq!(next.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![3]);
}

#[test]
fn an_older_shared_copy_changes_nothing() {
    let mut view = FastView::new();
    view.on_read(&read(3, 1, true, vec![]), ms(2_000), ms(2_000), 70_000);
    let old = view.on_read(
        &read(2, 1, true, vec![entry(2, "tag:b")]),
        ms(1_500),
        ms(2_100),
        70_000,
    );
    assert!(old.is_empty());
    assert_eq!(view.step(ms(2_500), POLL), Step::Fresh);
}

#[test]
fn a_location_that_missed_dropped_entries_is_behind_for_the_backstop() {
    let mut view = FastView::new();
    view.on_read(&read(2, 1, true, vec![]), ms(1_000), ms(1_000), 70_000);
    // Entries 3..=9 were dropped for bytes before this isolate read again.
    view.on_read(
        &read(12, 10, false, vec![entry(10, "tag:x")]),
        ms(5_000),
        ms(5_000),
        70_000,
    );
    assert_eq!(view.step(ms(5_100), POLL), Step::Behind(Behind::Gap));
    assert_eq!(
        view.step(ms(5_000 + 70_000), POLL),
        Step::Refresh { wait: true }
    );
}

#[test]
fn entries_older_than_a_whole_window_are_no_gap() {
    let mut view = FastView::new();
    view.on_read(&read(2, 1, true, vec![]), ms(1_000), ms(1_000), 70_000);
    view.on_read(
        &read(12, 10, true, vec![]),
        ms(500_000),
        ms(500_000),
        70_000,
    );
    assert_eq!(view.step(ms(500_100), POLL), Step::Fresh);
}

#[test]
fn a_log_that_restarted_is_applied_whole_and_is_a_gap() {
    let mut view = FastView::new();
    view.on_read(&read(50, 1, true, vec![]), ms(1_000), ms(1_000), 70_000);
    let applied = view.on_read(
        &read(1, 1, true, vec![entry(1, "tag:n")]),
        ms(2_000),
        ms(2_000),
        70_000,
    );
    assert_eq!(applied.len(), 1);
    assert_eq!(view.step(ms(2_100), POLL), Step::Behind(Behind::Gap));
}

#[test]
fn purges_name_each_name_with_the_entry_record_and_skip_garbage() {
    let mut e = entry(4, "tag:a");
    e.names.push("nonsense".into());
    e.soft = true;
    let p = purges(&[e]);
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].0, GenName::tag("a"));
    assert_eq!(p[0].1.soft, Some(ms(40)));
    assert_eq!(p[0].1.hard, None);
    let _ = PurgeKind::Soft;
}

#[test]
fn the_shared_read_key_changes_once_per_interval() {
    assert_eq!(interval(ms(10_999), 1000), interval(ms(10_000), 1000));
    assert_ne!(interval(ms(11_000), 1000), interval(ms(10_999), 1000));
}

#[test]
fn a_handoff_from_an_earlier_release_still_parses_and_is_not_logged() {
    use edgecache::purge::writer::Handoff;
    let old = r#"{"at":5,"keys":["gen:a"],"soft":false,"nonce":7}"#;
    let h: Handoff = serde_json::from_str(old).unwrap();
    assert!(!h.log && h.names.is_empty() && h.receipt.is_none());
}
