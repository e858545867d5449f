use crate::common;

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
        initial_age: 0,
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
    assert_eq!(encode_meta(&m), "v2;at=1000;age=0;ttl=60;swr=30;sie=600");
    assert_eq!(parse_meta(&encode_meta(&m)), Some(m));
    let aged = StoredMeta {
        initial_age: 40,
        ..m
    };
    assert_eq!(
        encode_meta(&aged),
        "v2;at=1000;age=40;ttl=60;swr=30;sie=600"
    );
    assert_eq!(parse_meta(&encode_meta(&aged)), Some(aged));
}

/// Entries written before the origin's age was recorded stay readable, with
/// the age they were served with (0 on arrival).
#[test]
fn v1_meta_is_read_with_initial_age_zero() {
    assert_eq!(
        parse_meta("v1;at=1000;ttl=60;swr=30;sie=600"),
        Some(meta(60, 30, 600))
    );
    // A v1 value never carries `age=`; a v2 value always does.
    assert_eq!(parse_meta("v1;at=1000;age=3;ttl=60;swr=30;sie=600"), None);
    assert_eq!(parse_meta("v2;at=1000;ttl=60;swr=30;sie=600"), None);
}

/// RFC 9111 §4.2.3: the current age is the age on arrival plus the resident
/// time; it is what `Age` says, and freshness ends once it reaches the lifetime
/// (`initial_age + ttl`).
#[test]
fn current_age_adds_the_initial_age_to_the_resident_time() {
    let m = StoredMeta {
        initial_age: 100,
        ..meta(60, 0, 0)
    };
    assert_eq!(freshness(&m, UnixSecs(1010)), Freshness::Fresh { age: 110 });
    assert_eq!(freshness(&m, UnixSecs(1059)), Freshness::Fresh { age: 159 });
    assert_eq!(
        freshness(&m, UnixSecs(1060)),
        Freshness::Expired { age: 160 }
    );
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

/// The origin's `Cache-Control` reaches clients exactly as sent: `s-maxage` and
/// `proxy-revalidate` included (a shared cache downstream needs them).
#[test]
fn downstream_is_the_origin_value_unchanged() {
    for v in [
        "public, s-maxage=600, max-age=60, proxy-revalidate",
        "S-MAXAGE=600",
        "foo=\"bar, no-store",
    ] {
        assert_eq!(
            downstream_cache_control(&api_route(), Some(v)).as_deref(),
            Some(v)
        );
    }
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
        let m = StoredMeta { stored_at: UnixSecs(a), initial_age: b / 2, ttl: b, stale_while_revalidate: c, stale_if_error: d };
        prop_assert_eq!(parse_meta(&encode_meta(&m)), Some(m));
    }
}
