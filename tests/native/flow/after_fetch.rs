//! What follows an origin fetch: the origin's answer, a stale entry, or 502/504.

use edgecache::flow::fetched::{
    after_fetch, origin_failure, AfterFetch, FetchError, Fetched, StaleFallback,
};
use edgecache::http::cache_status::{CacheStatus, Detail, Fwd};

#[test]
fn an_answer_is_used_when_nothing_stale_is_at_hand() {
    for status in [200, 304, 404, 500, 503] {
        assert_eq!(
            after_fetch(Fetched::Answered(status), StaleFallback::Absent),
            AfterFetch::Answer(status)
        );
    }
}

#[test]
fn a_server_error_lets_a_stale_entry_answer() {
    for status in [500, 502, 503, 504, 599] {
        assert_eq!(
            after_fetch(Fetched::Answered(status), StaleFallback::Available),
            AfterFetch::ServeStale {
                detail: Detail::OriginError
            }
        );
    }
}

#[test]
fn a_client_error_or_success_never_serves_stale() {
    for status in [200, 301, 404, 429] {
        assert_eq!(
            after_fetch(Fetched::Answered(status), StaleFallback::Available),
            AfterFetch::Answer(status)
        );
    }
}

#[test]
fn unreachable_is_502_or_stale() {
    let AfterFetch::Fail(f) = after_fetch(
        Fetched::Failed(FetchError::Unreachable),
        StaleFallback::Absent,
    ) else {
        panic!("not a failure");
    };
    assert_eq!((f.status, f.detail), (502, Detail::OriginUnreachable));
    assert_eq!(f.message, "edgecache: the origin could not be reached");
    assert_eq!(
        after_fetch(
            Fetched::Failed(FetchError::Unreachable),
            StaleFallback::Available
        ),
        AfterFetch::ServeStale {
            detail: Detail::OriginUnreachable
        }
    );
}

#[test]
fn timeout_is_504_or_stale() {
    let AfterFetch::Fail(f) =
        after_fetch(Fetched::Failed(FetchError::TimedOut), StaleFallback::Absent)
    else {
        panic!("not a failure");
    };
    assert_eq!((f.status, f.detail), (504, Detail::OriginTimeout));
    assert_eq!(f.message, "edgecache: the origin did not answer in time");
    assert_eq!(
        after_fetch(
            Fetched::Failed(FetchError::TimedOut),
            StaleFallback::Available
        ),
        AfterFetch::ServeStale {
            detail: Detail::OriginTimeout
        }
    );
}

#[test]
fn a_failure_keeps_the_forward_reason_and_adds_its_detail() {
    let AfterFetch::Fail(f) =
        after_fetch(Fetched::Failed(FetchError::TimedOut), StaleFallback::Absent)
    else {
        panic!("not a failure");
    };
    assert_eq!(
        f.cache_status(CacheStatus::forward(Fwd::Bypass))
            .to_string(),
        "edgecache; fwd=bypass; detail=origin_timeout"
    );
}

#[test]
fn every_fetch_error_has_its_own_status_and_detail() {
    let u = origin_failure(FetchError::Unreachable);
    let t = origin_failure(FetchError::TimedOut);
    assert_ne!(u.status, t.status);
    assert_ne!(u.detail, t.detail);
}
