//! `decide_store` and RFC 9111 / RFC 9213 details: targeted fields, `s-maxage`
//! implying `proxy-revalidate`, and the origin's age on arrival.
use crate::common;

use common::{api_route, headers};
use edgecache::config::Route;
use edgecache::http::date;
use edgecache::http::method::Method;
use edgecache::http::time::UnixSecs;
use edgecache::response::store::{
    decide_store, NotStoredReason, OriginResponse, RequestFacts, StoreDecision, StorePlan,
};

const NOW: UnixSecs = UnixSecs(1_700_000_000);

fn decide_on(route: &Route, h: &[(&str, &str)], response_delay: u64) -> StoreDecision {
    let h = headers(h);
    let req = RequestFacts {
        method: Method::Get,
        path: "/api/x",
        has_credentials: false,
        has_body: false,
        is_range: false,
    };
    let resp = OriginResponse {
        status: 200,
        headers: &h,
        response_delay,
    };
    decide_store(route, &[], &req, &resp, NOW)
}

fn decide(h: &[(&str, &str)]) -> StoreDecision {
    decide_on(&api_route(), h, 0)
}

fn plan(d: StoreDecision) -> StorePlan {
    match d {
        StoreDecision::Store(p) => p,
        StoreDecision::DontStore(r) => panic!("expected Store, got DontStore({r:?})"),
    }
}

fn windowed_route() -> Route {
    let mut r = api_route();
    r.stale_while_revalidate = 30;
    r.stale_if_error = 3600;
    r
}

#[test]
fn cdn_cache_control_overrides_cache_control_for_storing() {
    let p = plan(decide(&[
        ("cache-control", "no-store"),
        ("cdn-cache-control", "max-age=120"),
    ]));
    assert_eq!(p.ttl, 120);
    let d = decide(&[
        ("cache-control", "max-age=120"),
        ("cdn-cache-control", "no-store"),
    ]);
    assert_eq!(d, StoreDecision::DontStore(NotStoredReason::NoStore));
    let d = decide(&[
        ("cache-control", "max-age=120"),
        ("cdn-cache-control", "private"),
    ]);
    assert_eq!(d, StoreDecision::DontStore(NotStoredReason::Private));
}

#[test]
fn an_invalid_targeted_field_falls_back_to_cache_control() {
    let d = decide(&[
        ("cache-control", "no-store"),
        ("cdn-cache-control", "MAX-AGE=120"),
    ]);
    assert_eq!(d, StoreDecision::DontStore(NotStoredReason::NoStore));
}

/// RFC 9213 §2.2: with a targeted field, `Expires` is ignored as well.
#[test]
fn expires_is_ignored_beside_a_targeted_field() {
    let past = date::format(UnixSecs(NOW.0 - 10));
    let p = plan(decide(&[
        ("expires", &past),
        ("cdn-cache-control", "public"),
    ]));
    assert_eq!(p.ttl, api_route().ttl);
    let d = decide(&[("expires", &past)]);
    assert_eq!(d, StoreDecision::DontStore(NotStoredReason::ZeroTtl));
}

/// RFC 9111 §5.2.2.10: `s-maxage` implies `proxy-revalidate`; the route's
/// stale windows do not apply, the origin's own ones do.
#[test]
fn s_maxage_drops_the_routes_stale_windows_but_keeps_the_origins() {
    let r = windowed_route();
    let p = plan(decide_on(&r, &[("cache-control", "s-maxage=60")], 0));
    assert_eq!((p.stale_while_revalidate, p.stale_if_error), (0, 0));
    let p = plan(decide_on(
        &r,
        &[(
            "cache-control",
            "s-maxage=60, stale-while-revalidate=5, stale-if-error=10",
        )],
        0,
    ));
    assert_eq!((p.stale_while_revalidate, p.stale_if_error), (5, 10));
    // Without s-maxage the route's windows hold.
    let p = plan(decide_on(&r, &[("cache-control", "max-age=60")], 0));
    assert_eq!((p.stale_while_revalidate, p.stale_if_error), (30, 3600));
    // must-revalidate: nothing stale at all, the origin's windows neither.
    let p = plan(decide_on(
        &r,
        &[(
            "cache-control",
            "max-age=60, must-revalidate, stale-if-error=10",
        )],
        0,
    ));
    assert_eq!((p.stale_while_revalidate, p.stale_if_error), (0, 0));
}

#[test]
fn s_maxage_zero_needs_revalidation() {
    let d = decide(&[("cache-control", "s-maxage=0, max-age=60")]);
    assert_eq!(d, StoreDecision::DontStore(NotStoredReason::MustRevalidate));
}

/// RFC 9111 §4.2.3: the answer's age on arrival counts against its lifetime
/// and is recorded for the `Age` of hits.
#[test]
fn the_corrected_initial_age_is_subtracted_and_recorded() {
    let now = date::format(NOW);
    let p = plan(decide_on(
        &api_route(),
        &[
            ("cache-control", "max-age=100"),
            ("age", "40"),
            ("date", &now),
        ],
        3,
    ));
    assert_eq!((p.ttl, p.initial_age), (57, 43));
    // A list-based Age: its first member.
    let p = plan(decide(&[
        ("cache-control", "max-age=100"),
        ("age", "30, 90"),
    ]));
    assert_eq!((p.ttl, p.initial_age), (70, 30));
    // An invalid Age is ignored.
    let p = plan(decide(&[("cache-control", "max-age=100"), ("age", "1s")]));
    assert_eq!((p.ttl, p.initial_age), (100, 0));
    // A Date 30 s ago: apparent age.
    let then = date::format(UnixSecs(NOW.0 - 30));
    let p = plan(decide(&[("cache-control", "max-age=100"), ("date", &then)]));
    assert_eq!((p.ttl, p.initial_age), (70, 30));
}
