//! No purged entry comes back: every entry lives at most MAX_ENTRY_LIFETIME
//! (its TTL plus its longer stale window), and purge records live longer than
//! that, whatever the route config or the origin's directives. Before, the
//! record lifetime was derived from the route config alone: an origin's
//! `stale-if-error=31536000` kept an entry servable (during an outage) for a
//! year while the record of its purge expired after a day, and "never purged"
//! won again.
use crate::common;

use common::{api_route, headers};
use edgecache::config::MAX_ENTRY_LIFETIME;
use edgecache::http::method::Method;
use edgecache::http::time::UnixSecs;
use edgecache::purge::webhook::generation_ttl;
use edgecache::response::store::{decide_store, OriginResponse, RequestFacts, StoreDecision};
use proptest::prelude::*;

fn stored_lifetime(ttl: u64, swr: u64, sie: u64, cache_control: &str) -> Option<u64> {
    let mut route = api_route();
    route.ttl = ttl;
    route.stale_while_revalidate = swr;
    route.stale_if_error = sie;
    let h = headers(&[("cache-control", cache_control)]);
    let req = RequestFacts {
        method: Method::Get,
        path: "/api/x/",
        has_credentials: false,
        has_body: false,
        is_range: false,
    };
    let resp = OriginResponse {
        status: 200,
        headers: &h,
        response_delay: 0,
    };
    match decide_store(&route, &[], &req, &resp, UnixSecs(1_700_000_000)) {
        StoreDecision::Store(p) => Some(
            p.ttl
                .saturating_add(p.stale_while_revalidate.max(p.stale_if_error)),
        ),
        StoreDecision::DontStore(_) => None,
    }
}

#[test]
fn purge_records_outlive_the_longest_entry() {
    assert!(generation_ttl() > MAX_ENTRY_LIFETIME);
}

#[test]
fn an_origin_stale_window_is_cut_to_the_entry_lifetime() {
    let life = stored_lifetime(900, 0, 0, "max-age=60, stale-if-error=3153600000").unwrap();
    assert_eq!(life, MAX_ENTRY_LIFETIME);
    let life = stored_lifetime(900, 0, 0, "max-age=60, stale-while-revalidate=3153600000").unwrap();
    assert_eq!(life, MAX_ENTRY_LIFETIME);
}

#[test]
fn windows_within_the_bound_are_kept_as_the_origin_sent_them() {
    assert_eq!(
        stored_lifetime(900, 0, 0, "max-age=60, stale-if-error=86400"),
        Some(60 + 86_400)
    );
}

proptest! {
    /// Any route the config accepts, any origin directives: the entry's whole
    /// lifetime is within the bound the purge records outlive.
    #[test]
    fn every_stored_entry_lives_at_most_the_bound(
        ttl in 1..=MAX_ENTRY_LIFETIME,
        window in 0..=MAX_ENTRY_LIFETIME,
        max_age in 0u64..=4_000_000_000,
        swr in 0u64..=4_000_000_000,
        sie in 0u64..=4_000_000_000,
    ) {
        let window = window.min(MAX_ENTRY_LIFETIME - ttl);
        let cc = format!("max-age={max_age}, stale-while-revalidate={swr}, stale-if-error={sie}");
        if let Some(life) = stored_lifetime(ttl, window, window / 2, &cc) {
            prop_assert!(life <= MAX_ENTRY_LIFETIME, "{life} > {MAX_ENTRY_LIFETIME}");
            prop_assert!(life < generation_ttl());
        }
    }
}
