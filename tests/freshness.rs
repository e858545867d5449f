#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure is a panic
mod common;

use common::api_route;
use edgecache::flow::entry::{encode_meta, parse_meta};
use edgecache::http::time::UnixSecs;
use edgecache::response::freshness::{
    downstream_cache_control, freshness, remaining_ttl, Freshness, StoredMeta,
};
use proptest::prelude::*;

fn meta(ttl: u64, swr: u64, sie: u64) -> StoredMeta {
    StoredMeta {
        stored_at: UnixSecs(1000),
        ttl,
        stale_while_revalidate: swr,
        stale_if_error: sie,
    }
}

#[test]
fn fresh_before_ttl() {
    assert_eq!(
        freshness(&meta(60, 0, 0), UnixSecs(1059)),
        Freshness::Fresh { age: 59 }
    );
}

#[test]
fn stale_exactly_at_ttl() {
    assert_eq!(
        freshness(&meta(60, 0, 0), UnixSecs(1060)),
        Freshness::Expired { age: 60 }
    );
}

#[test]
fn stale_while_revalidate_window_follows_expiry() {
    let m = meta(60, 30, 0);
    assert_eq!(
        freshness(&m, UnixSecs(1089)),
        Freshness::StaleWhileRevalidate { age: 89 }
    );
    assert_eq!(
        freshness(&m, UnixSecs(1090)),
        Freshness::Expired { age: 90 }
    );
}

#[test]
fn stale_if_error_window_outlasts_revalidate_window() {
    let m = meta(60, 30, 600);
    assert_eq!(
        freshness(&m, UnixSecs(1100)),
        Freshness::StaleIfErrorOnly { age: 100 }
    );
    assert_eq!(
        freshness(&m, UnixSecs(1660)),
        Freshness::Expired { age: 660 }
    );
}

#[test]
fn clock_before_stored_at_reads_as_age_zero() {
    assert_eq!(
        freshness(&meta(60, 0, 0), UnixSecs(10)),
        Freshness::Fresh { age: 0 }
    );
}

#[test]
fn huge_windows_do_not_overflow() {
    let m = meta(u64::MAX, u64::MAX, u64::MAX);
    assert_eq!(freshness(&m, UnixSecs(u64::MAX)).age(), u64::MAX - 1000);
}

#[test]
fn remaining_ttl_goes_negative_once_stale() {
    assert_eq!(remaining_ttl(&meta(60, 0, 0), UnixSecs(1100)), -40);
}

#[test]
fn meta_round_trips_through_header_value() {
    let m = meta(60, 30, 600);
    assert_eq!(encode_meta(&m), "v1;at=1000;ttl=60;swr=30;sie=600");
    assert_eq!(parse_meta(&encode_meta(&m)), Some(m));
}

#[test]
fn meta_parsing_rejects_garbage() {
    for bad in [
        "",
        "v1",
        "v2;at=1;ttl=1;swr=1;sie=1",
        "v1;at=1;ttl=1;swr=1",
        "v1;at=1;ttl=1;swr=1;sie=1;x=2",
        "v1;ttl=1;at=1;swr=1;sie=1",
        "v1;at=01;ttl=1;swr=1;sie=1",
        "v1;at=+1;ttl=1;swr=1;sie=1",
        "v1;at= 1;ttl=1;swr=1;sie=1",
        "v1;at=1;ttl=99999999999999999999999;swr=1;sie=1",
        "v1; at=1;ttl=1;swr=1;sie=1",
    ] {
        assert_eq!(parse_meta(bad), None, "{bad:?}");
    }
}

#[test]
fn browser_cache_control_from_route_wins() {
    let mut r = api_route();
    r.browser_cache_control = Some("no-store".into());
    assert_eq!(
        downstream_cache_control(&r, Some("public, max-age=60")).as_deref(),
        Some("no-store")
    );
}

#[test]
fn downstream_drops_shared_cache_directives() {
    let got = downstream_cache_control(
        &api_route(),
        Some("public, s-maxage=600, max-age=60, proxy-revalidate"),
    );
    assert_eq!(got.as_deref(), Some("public, max-age=60"));
}

#[test]
fn downstream_is_none_when_only_shared_directives_remain() {
    assert_eq!(
        downstream_cache_control(&api_route(), Some("S-MAXAGE=600")),
        None
    );
}

#[test]
fn downstream_is_none_without_origin_cache_control() {
    assert_eq!(downstream_cache_control(&api_route(), None), None);
}

proptest! {
    #[test]
    fn meta_parser_never_panics(s in "\\PC*") {
        let _ = parse_meta(&s);
    }

    #[test]
    fn any_meta_round_trips(a: u64, b: u64, c: u64, d: u64) {
        let m = StoredMeta { stored_at: UnixSecs(a), ttl: b, stale_while_revalidate: c, stale_if_error: d };
        prop_assert_eq!(parse_meta(&encode_meta(&m)), Some(m));
    }
}

/// Fuzzing finding (`http_parsers`): with an unterminated quote, the open member's
/// raw text overlapped the tail members re-read after it, so each pass through
/// `downstream_cache_control` repeated the tail.
#[test]
fn downstream_of_unterminated_quote_is_idempotent() {
    let r = api_route();
    let once = downstream_cache_control(&r, Some("foo=\"bar, no-store")).unwrap();
    assert_eq!(once, "foo=\", bar, no-store");
    assert_eq!(downstream_cache_control(&r, Some(&once)), Some(once));
}

/// Fuzzing finding (`http_parsers`): the tail after an unterminated quote was
/// split without regard to quotes, so a `"` in it opened a quote only on the
/// next pass, and filtering twice dropped what filtering once had kept.
#[test]
fn downstream_splits_the_tail_of_an_unterminated_quote_with_quotes() {
    let r = api_route();
    let once = downstream_cache_control(&r, Some("-c\"x$2=_\\\"\u{4de}, no-store")).unwrap();
    assert_eq!(once, "x$2=_\\\", no-store");
    assert_eq!(downstream_cache_control(&r, Some(&once)), Some(once));
}
