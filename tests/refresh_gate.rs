//! Background refreshes are collapsed per key (refresh::RefreshGate).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure is a panic
mod common;
use edgecache::flow::refresh::RefreshGate;
use edgecache::http::time::UnixSecs;

#[test]
fn only_one_refresh_per_key_starts_while_one_is_in_flight() {
    let mut g = RefreshGate::new(16);
    assert!(g.try_start("k", UnixSecs(100), 10));
    assert!(!g.try_start("k", UnixSecs(101), 10));
    assert!(!g.try_start("k", UnixSecs(109), 10));
}

#[test]
fn other_keys_refresh_independently() {
    let mut g = RefreshGate::new(16);
    assert!(g.try_start("a", UnixSecs(100), 10));
    assert!(g.try_start("b", UnixSecs(100), 10));
}

#[test]
fn a_finished_refresh_lets_the_next_one_start() {
    let mut g = RefreshGate::new(16);
    assert!(g.try_start("k", UnixSecs(100), 10));
    g.finish("k");
    assert!(g.try_start("k", UnixSecs(100), 10));
}

#[test]
fn a_refresh_that_never_finished_stops_blocking_after_the_hold() {
    let mut g = RefreshGate::new(16);
    assert!(g.try_start("k", UnixSecs(100), 10));
    assert!(g.try_start("k", UnixSecs(110), 10));
}

#[test]
fn tracking_is_bounded_by_forgetting_the_oldest() {
    let mut g = RefreshGate::new(2);
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
