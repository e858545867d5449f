//! The checker's own tests (`super`).

use super::*;
use crate::http::time::UnixMillis;
use crate::purge::record::PurgeKind;

fn acked(at_ms: u64, version: u64) -> Acked {
    Acked {
        at_ms,
        bound_ms: 70_000,
        resource: 1,
        version,
        keys: vec!["gen:k".into()],
        record: PurgeRecord::new(PurgeKind::Hard, UnixMillis(at_ms)).with_nonce(9),
        soft: false,
    }
}

fn serve(c: &mut Checker, at: u64, resource: usize, version: u64, loc: usize, behind: bool) {
    serve_as(c, at, resource, version, (loc, behind, Staleness::Fresh));
}

fn serve_as(
    c: &mut Checker,
    at: u64,
    resource: usize,
    version: u64,
    (loc, behind, stale): (usize, bool, Staleness),
) {
    let s = Served {
        at,
        resource,
        loc,
        behind,
        stale,
    };
    c.served(&s, version);
}

#[test]
fn a_soft_purge_allows_stale_answers_said_stale_inside_its_windows_only() {
    let mut c = Checker::new(70_000);
    c.windows = Windows {
        per_resource: vec![(0, 0), (10_000, 600_000)],
        skew_ms: 2_000,
    };
    c.ack(Acked {
        bound_ms: 4_000,
        soft: true,
        ..acked(1_000, 2)
    });
    let stale = |s| (0, false, s);
    serve_as(&mut c, 14_000, 1, 1, stale(Staleness::Revalidating));
    serve_as(&mut c, 600_000, 1, 1, stale(Staleness::OnError));
    assert_eq!(c.violation, None);
    serve_as(&mut c, 14_001, 1, 1, stale(Staleness::Revalidating));
    assert!(c.violation.take().unwrap().contains("(soft)"));
    serve_as(&mut c, 5_001, 1, 1, stale(Staleness::Fresh));
    assert!(c.violation.take().unwrap().contains("stale read"));
    assert_eq!(
        Staleness::of("edgecache; hit; detail=soft_purged"),
        Staleness::Revalidating
    );
    assert_eq!(
        Staleness::of("edgecache; fwd=stale; detail=origin_error"),
        Staleness::OnError
    );
}

#[test]
fn directives_unsafe_requests_and_pass_through_are_held_to_what_they_promise() {
    let mut c = Checker::new(70_000);
    c.directive(
        "only-if-cached",
        "edgecache; hit; ttl=3",
        2,
        Some((200, 1)),
        0,
    );
    c.directive(
        "only-if-cached",
        "edgecache; fwd=miss; detail=only_if_cached",
        2,
        None,
        0,
    );
    c.directive(
        "no-cache",
        "edgecache; fwd=miss; fwd-status=200",
        2,
        Some((200, 2)),
        0,
    );
    c.directive(
        "no-cache",
        "edgecache; hit; detail=collapsed",
        2,
        Some((200, 1)),
        0,
    );
    c.invalidated(503, Some("k"), "u", 0);
    c.invalidated(200, None, "u", 0);
    c.passed_through("u", Some((200, 3)), 3, false, 0);
    assert_eq!(c.violation, None);
    c.directive(
        "only-if-cached",
        "edgecache; fwd=bypass; fwd-status=200",
        2,
        None,
        0,
    );
    assert!(c.violation.take().unwrap().contains("only-if-cached"));
    c.directive("max-age=0", "edgecache; hit; ttl=3", 2, Some((200, 2)), 0);
    assert!(c.violation.take().is_some());
    c.directive(
        "no-cache",
        "edgecache; fwd=miss; fwd-status=200",
        2,
        Some((200, 1)),
        0,
    );
    assert!(c.violation.take().is_some());
    c.invalidated(204, Some("k"), "u", 0);
    assert!(c.violation.take().unwrap().contains("unsafe"));
    c.passed_through("u", Some((200, 3)), 3, true, 0);
    assert!(c.violation.take().unwrap().contains("pass-through"));
    c.passed_through("u", Some((200, 2)), 3, false, 0);
    assert!(c.violation.take().unwrap().contains("pass-through"));
}

#[test]
fn an_old_body_is_allowed_inside_the_bound_and_refused_after_it() {
    let mut c = Checker::new(70_000);
    c.ack(acked(1_000, 2));
    serve(&mut c, 71_000, 1, 1, 0, false);
    assert_eq!(c.violation, None);
    serve(&mut c, 71_000, 1, 2, 0, false);
    serve(&mut c, 71_001, 2, 1, 0, false);
    assert_eq!(c.violation, None);
    serve(&mut c, 71_001, 1, 1, 0, false);
    assert!(c.violation.unwrap().contains("stale read"));
}

#[test]
fn a_fast_purge_is_held_to_its_bound_unless_the_read_says_it_is_behind() {
    let mut c = Checker::new(70_000);
    c.ack(Acked {
        bound_ms: 4_000,
        ..acked(1_000, 2)
    });
    serve(&mut c, 5_000, 1, 1, 0, false);
    serve(&mut c, 60_000, 1, 1, 0, true);
    assert_eq!(c.violation, None);
    serve(&mut c, 5_001, 1, 1, 0, false);
    assert!(c.violation.unwrap().contains("bound 4000 ms"));
}

#[test]
fn time_kv_refused_writes_lengthens_the_bound() {
    let mut c = Checker::new(70_000);
    c.refusals.push((500, Some(11_000)));
    assert_eq!(c.deadline(1_000, 70_000), 81_000);
    c.refusals.push((100_000, None));
    assert_eq!(c.deadline(1_000, 70_000), 81_000);
    assert_eq!(c.deadline(40_000, 70_000), u64::MAX);
    // The fast bound rests on the writer's log, not on KV.
    assert_eq!(c.deadline(40_000, 4_000), 44_000);
}

#[test]
fn a_stampede_after_a_purge_is_refused_while_the_origin_is_healthy() {
    let mut c = Checker::new(70_000);
    c.ack(acked(1_000, 2));
    for _ in 0..10 {
        c.purged_fetch(2_000, 7, 1, 0, true, 1);
    }
    for _ in 0..MAX_PURGED_FETCHES {
        c.purged_fetch(2_000, 7, 1, 0, false, 1);
        c.purged_fetch(2_000, 8, 1, 0, false, 1);
        c.purged_fetch(2_000, 7, 1, 0, false, 0);
    }
    assert_eq!(c.violation, None);
    c.purged_fetch(2_000, 7, 1, 0, false, 1);
    assert!(c.violation.unwrap().contains("stampede"));
}

#[test]
fn a_purge_missing_from_kv_is_lost_unless_its_record_has_expired() {
    let mut c = Checker::new(70_000);
    c.ack(acked(1_000, 2));
    let newer = PurgeRecord::new(PurgeKind::Hard, UnixMillis(5_000)).with_nonce(1);
    let text = newer.encode().unwrap();
    c.lost(10_000, 1_000_000, 0, |_| Some(text.clone()));
    assert_eq!(c.violation, None);
    let earlier = PurgeRecord::new(PurgeKind::Hard, UnixMillis(500)).with_nonce(2);
    let earlier = earlier.encode().unwrap();
    c.lost(10_000, 1_000_000, 500, |_| Some(earlier.clone()));
    assert_eq!(c.violation, None);
    c.lost(10_000, 5_000, 0, |_| None);
    assert_eq!(c.violation, None);
    c.lost(10_000, 1_000_000, 499, |_| Some(earlier.clone()));
    assert!(c.violation.take().unwrap().contains("lost purge"));
    c.lost(10_000, 1_000_000, 0, |_| None);
    assert!(c.violation.unwrap().contains("lost purge"));
}
