//! Background refreshes are collapsed per key (refresh::RefreshGate).
use crate::common;
use edgecache::flow::refresh::{RefreshGate, REFRESH_ENTRY_OVERHEAD, REFRESH_GATE_MAX_BYTES};
use edgecache::http::time::UnixSecs;

#[test]
fn only_one_refresh_per_key_starts_while_one_is_in_flight() {
    let mut g = RefreshGate::new(REFRESH_GATE_MAX_BYTES);
    assert!(g.try_start("k", UnixSecs(100), 10));
    assert!(!g.try_start("k", UnixSecs(101), 10));
    assert!(!g.try_start("k", UnixSecs(109), 10));
}

#[test]
fn other_keys_refresh_independently() {
    let mut g = RefreshGate::new(REFRESH_GATE_MAX_BYTES);
    assert!(g.try_start("a", UnixSecs(100), 10));
    assert!(g.try_start("b", UnixSecs(100), 10));
}

#[test]
fn a_finished_refresh_lets_the_next_one_start() {
    let mut g = RefreshGate::new(REFRESH_GATE_MAX_BYTES);
    assert!(g.try_start("k", UnixSecs(100), 10));
    g.finish("k");
    assert!(g.try_start("k", UnixSecs(100), 10));
}

#[test]
fn a_refresh_that_never_finished_stops_blocking_after_the_hold() {
    let mut g = RefreshGate::new(REFRESH_GATE_MAX_BYTES);
    assert!(g.try_start("k", UnixSecs(100), 10));
    assert!(g.try_start("k", UnixSecs(110), 10));
}

#[test]
fn tracking_is_bounded_by_forgetting_the_oldest() {
    // Room for two one-letter keys.
    let mut g = RefreshGate::new(2 * (1 + REFRESH_ENTRY_OVERHEAD));
    assert!(g.try_start("a", UnixSecs(1), 100));
    assert!(g.try_start("b", UnixSecs(2), 100));
    assert!(g.try_start("c", UnixSecs(3), 100));
    assert_eq!(g.len(), 2);
    // "a" was forgotten, so it may start again; "c" is still in flight.
    assert!(g.try_start("a", UnixSecs(4), 100));
    assert!(!g.try_start("c", UnixSecs(4), 100));
}

#[test]
fn a_refresh_holds_its_key_for_the_route_timeout_and_a_second() {
    let mut route = common::api_route();
    route.timeout = 10;
    assert_eq!(edgecache::flow::refresh::refresh_hold(&route), 11);
    route.timeout = u64::MAX;
    assert_eq!(edgecache::flow::refresh::refresh_hold(&route), u64::MAX);
}

#[test]
fn tracking_is_bounded_in_bytes_whatever_the_keys() {
    let max = 64 * 1024;
    let mut g = RefreshGate::new(max);
    for i in 0..100u64 {
        let key = format!("https://h/{i}/{}", "x".repeat(8 * 1024));
        assert!(g.try_start(&key, UnixSecs(i), 100));
        assert!(g.used_bytes() <= max, "{} > {max}", g.used_bytes());
    }
    assert!(g.len() < 8, "{}", g.len());
}

#[test]
fn finishing_gives_the_bytes_back() {
    let mut g = RefreshGate::new(REFRESH_GATE_MAX_BYTES);
    assert!(g.try_start("k", UnixSecs(1), 10));
    assert!(g.used_bytes() > 0);
    g.finish("k");
    assert_eq!(g.used_bytes(), 0);
    g.finish("k");
    assert_eq!(g.used_bytes(), 0);
}
