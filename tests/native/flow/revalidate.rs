//! `flow::on_stored` with soft purges and validators, and
//! `flow::revalidate::on_not_modified`: what a 304 makes of a stored entry.

use edgecache::config::Config;
use edgecache::flow::entry::{ORIGIN_CC_HEADER, STATUS_HEADER};
use edgecache::flow::revalidate::{
    answers_revalidation, conditional_headers, on_not_modified, Revalidation,
};
use edgecache::flow::stored::stale_since;
use edgecache::flow::{
    on_origin, on_stored, plan, FetchStart, Incoming, Lookup, Plan, StoredDecision, StoredEntry,
};
use edgecache::http::cache_status::Detail;
use edgecache::http::headers::Headers;
use edgecache::http::method::Method;
use edgecache::http::time::{UnixMillis, UnixSecs};
use edgecache::purge::generations::{Gen, Generations};
use edgecache::response::freshness::StoredMeta;
use edgecache::response::revalidation::Validator;
use serde_json::json;

/// Stored at 1000 s (fetch started at 1000 s): fresh 60 s, then 10 s of
/// stale-while-revalidate, 30 s of stale-if-error.
const STORED_AT: u64 = 1000;

fn config() -> Config {
    Config::from_json(&json!({
        "origin": "http://127.0.0.1:8000",
        "purge": { "clock_skew": "0s" },
        "routes": [{ "name": "api", "path": "/api/*", "ttl": "60s",
                     "stale_while_revalidate": "10s", "stale_if_error": "30s" }],
    }))
    .expect("valid config")
}

fn h(pairs: &[(&str, &str)]) -> Headers {
    pairs.iter().copied().collect()
}

fn lookup(c: &Config) -> Lookup<'_> {
    let none = Headers::new();
    let inc = Incoming {
        method: &Method::Get,
        url: "https://api.example.com/api/x",
        headers: &none,
        has_body: false,
        user_secret: None,
    };
    match plan(c, &inc) {
        Plan::Lookup(lk) => *lk,
        other => panic!("expected a lookup, got {other:?}"),
    }
}

/// The stored fields of an origin answer with `fields`, stored at [`STORED_AT`].
fn stored(c: &Config, lk: &Lookup, fields: &[(&str, &str)]) -> Headers {
    let d = on_origin(
        c,
        lk,
        200,
        &h(fields),
        FetchStart::unrecorded(UnixSecs(STORED_AT).to_millis()),
        UnixSecs(STORED_AT),
    );
    d.store.expect("stored").headers
}

/// Every name of the entry never purged, but `all` as given.
fn gens(lk: &Lookup, entry: &StoredEntry, all: Gen) -> Generations {
    let mut g = Generations::new();
    for n in lk.names(&entry.stamp) {
        g.insert(n, Gen::Never);
    }
    g.insert(edgecache::purge::generations::GenName::all(), all);
    g
}

fn decide(c: &Config, fields: &[(&str, &str)], all: Gen, now: u64) -> StoredDecision {
    let lk = lookup(c);
    let s = stored(c, &lk, fields);
    let e = StoredEntry::parse(&s).unwrap();
    on_stored(c, &lk, &e, &s, &gens(&lk, &e, all), UnixSecs(now))
}

const ETAG: &[(&str, &str)] = &[("etag", "\"v1\""), ("content-type", "application/json")];

#[test]
fn an_expired_entry_with_an_etag_is_kept_for_a_conditional_request() {
    let c = config();
    let d = decide(&c, ETAG, Gen::Never, STORED_AT + 200);
    let StoredDecision::Miss {
        detail,
        stale_if_error,
        validator,
    } = d
    else {
        panic!("{d:?}")
    };
    assert_eq!(detail, Detail::Expired);
    assert!(!stale_if_error);
    assert_eq!(validator, Some(Validator::ETag("\"v1\"".into())));
}

#[test]
fn an_entry_without_validators_is_not_revalidated() {
    let c = config();
    let d = decide(
        &c,
        &[("content-type", "text/plain")],
        Gen::Never,
        STORED_AT + 200,
    );
    assert!(
        matches!(
            d,
            StoredDecision::Miss {
                validator: None,
                ..
            }
        ),
        "{d:?}"
    );
}

#[test]
fn a_hard_purged_entry_is_never_revalidated() {
    let c = config();
    let purged = Gen::hard(UnixSecs(STORED_AT + 5).to_millis());
    let d = decide(&c, ETAG, purged, STORED_AT + 6);
    let StoredDecision::Miss {
        detail,
        stale_if_error,
        validator,
    } = d
    else {
        panic!("{d:?}")
    };
    assert_eq!(
        (detail, stale_if_error, validator),
        (Detail::Purged, false, None)
    );
}

#[test]
fn a_soft_purged_entry_is_served_stale_within_swr_of_the_purge_and_refreshed() {
    let c = config();
    // Purged soft 5 s after it was stored (fresh for 55 s more without it).
    let soft = Gen::soft(UnixSecs(STORED_AT + 5).to_millis());
    for now in [STORED_AT + 5, STORED_AT + 14] {
        let d = decide(&c, ETAG, soft, now);
        let StoredDecision::Serve {
            revalidate,
            cache_status,
            ..
        } = d
        else {
            panic!("{now}: {d:?}")
        };
        assert!(revalidate, "{now}");
        assert!(
            cache_status.to_string().contains("detail=soft_purged"),
            "{cache_status}"
        );
    }
}

#[test]
fn a_soft_purge_stamped_by_a_clock_ahead_makes_the_entry_stale_at_once() {
    // The purging location's clock 2 s ahead of this one (inside the skew
    // allowance): the purge has happened, the entry is stale now, not fresh
    // for 2 s more (the simulator's seed 474, where a second soft purge made
    // an entry the first had made stale a fresh hit again).
    let c = config();
    let soft = Gen::soft(UnixSecs(STORED_AT + 7).to_millis());
    let d = decide(&c, ETAG, soft, STORED_AT + 5);
    let StoredDecision::Serve {
        revalidate,
        cache_status,
        ..
    } = d
    else {
        panic!("{d:?}")
    };
    assert!(revalidate, "{cache_status}");
    assert!(cache_status.to_string().contains("detail=soft_purged"));
}

#[test]
fn a_soft_purged_entry_past_swr_answers_only_if_the_origin_fails() {
    let c = config();
    let soft = Gen::soft(UnixSecs(STORED_AT + 5).to_millis());
    let d = decide(&c, ETAG, soft, STORED_AT + 20);
    let StoredDecision::Miss {
        detail,
        stale_if_error,
        validator,
    } = d
    else {
        panic!("{d:?}")
    };
    assert_eq!(detail, Detail::SoftPurged);
    assert!(stale_if_error);
    assert!(validator.is_some());
    // Past stale-if-error (30 s after the purge): a plain miss, still revalidated.
    let d = decide(&c, ETAG, soft, STORED_AT + 40);
    assert!(
        matches!(
            d,
            StoredDecision::Miss {
                detail: Detail::SoftPurged,
                stale_if_error: false,
                validator: Some(_)
            }
        ),
        "{d:?}"
    );
}

#[test]
fn a_soft_purge_of_an_expired_entry_changes_no_window() {
    let meta = StoredMeta {
        initial_age: 0,
        stored_at: UnixSecs(1000),
        ttl: 60,
        stale_while_revalidate: 10,
        stale_if_error: 30,
    };
    assert_eq!(stale_since(&meta, UnixSecs(1100).to_millis()), meta);
    assert_eq!(stale_since(&meta, UnixSecs(1005).to_millis()).ttl, 5);
    // A purge "before" the store (clock skew): stale at once.
    assert_eq!(stale_since(&meta, UnixSecs(990).to_millis()).ttl, 0);
}

#[test]
fn a_304_updates_freshness_and_restamps_with_the_revalidation_start() {
    let c = config();
    let lk = lookup(&c);
    let s = stored(
        &c,
        &lk,
        &[
            ("etag", "\"v1\""),
            ("content-type", "application/json"),
            ("content-length", "5"),
            ("cache-control", "max-age=30"),
        ],
    );
    let e = StoredEntry::parse(&s).unwrap();
    assert_eq!(e.meta.ttl, 30);
    let nm = h(&[
        ("etag", "\"v1\""),
        ("cache-control", "max-age=45"),
        ("content-length", "0"),
    ]);
    let started = UnixMillis(2_000_123);
    let Revalidation::NotModified(d) = on_not_modified(
        &c,
        &lk,
        &e,
        &s,
        &nm,
        FetchStart::unrecorded(started),
        UnixSecs(2001),
    ) else {
        panic!("expected an update")
    };
    assert_eq!(
        d.cache_status.to_string(),
        "edgecache; fwd=stale; fwd-status=304; ttl=45"
    );
    let store = d.store.unwrap();
    let again = StoredEntry::parse(&store.headers).unwrap();
    assert_eq!(again.meta.ttl, 45);
    assert_eq!(again.meta.stored_at, UnixSecs(2001));
    assert_eq!(again.stamp.fetched_at_ms, started);
    assert_eq!(again.status, 200);
    assert_eq!(store.headers.get(STATUS_HEADER), Some("200"));
    assert_eq!(store.headers.get(ORIGIN_CC_HEADER), Some("max-age=45"));
    assert_eq!(store.headers.get("content-length"), Some("5"));
    assert_eq!(d.client.get("cache-control"), Some("max-age=45"));
    assert_eq!(d.client.get("content-length"), Some("5"));
}

#[test]
fn a_304_about_another_etag_is_a_mismatch() {
    let c = config();
    let lk = lookup(&c);
    let s = stored(&c, &lk, ETAG);
    let e = StoredEntry::parse(&s).unwrap();
    let nm = h(&[("etag", "\"v2\"")]);
    let r = on_not_modified(
        &c,
        &lk,
        &e,
        &s,
        &nm,
        FetchStart::unrecorded(UnixMillis(0)),
        UnixSecs(2000),
    );
    assert!(matches!(r, Revalidation::Refetch), "{r:?}");
}

#[test]
fn a_304_that_now_forbids_storing_serves_once_and_stores_nothing() {
    let c = config();
    let lk = lookup(&c);
    let s = stored(&c, &lk, ETAG);
    let e = StoredEntry::parse(&s).unwrap();
    let nm = h(&[("etag", "\"v1\""), ("cache-control", "no-store")]);
    let Revalidation::NotModified(d) = on_not_modified(
        &c,
        &lk,
        &e,
        &s,
        &nm,
        FetchStart::unrecorded(UnixMillis(0)),
        UnixSecs(2000),
    ) else {
        panic!("expected an update")
    };
    assert!(d.store.is_none());
    assert_eq!(
        d.cache_status.to_string(),
        "edgecache; fwd=stale; fwd-status=304; detail=no_store"
    );
}

#[test]
fn the_conditional_request_adds_the_validator_to_the_keyed_headers() {
    let c = config();
    let lk = lookup(&c);
    let v = Validator::ETag("\"v1\"".into());
    let out = conditional_headers(&lk.origin_headers, &v);
    assert_eq!(out.get("if-none-match"), Some("\"v1\""));
    assert_eq!(out.len(), lk.origin_headers.len() + 1);
    assert!(answers_revalidation(304, Some(&v)));
    assert!(!answers_revalidation(304, None));
    assert!(!answers_revalidation(200, Some(&v)));
}

#[test]
fn an_entry_with_a_validator_is_kept_long_enough_to_revalidate() {
    let route = |extra: serde_json::Value| {
        let mut r = json!({ "name": "api", "path": "/api/*", "ttl": "60s" });
        r.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        Config::from_json(&json!({ "origin": "http://127.0.0.1:8000", "routes": [r] })).unwrap()
    };
    // The default keep: a day past freshness (issue 27: a short TTL's copy
    // was gone at twice the TTL, so the next request downloaded it whole).
    let c = route(json!({}));
    let lk = lookup(&c);
    let with = stored(&c, &lk, ETAG);
    assert_eq!(with.get("cache-control"), Some("max-age=86460"));
    let lm = stored(
        &c,
        &lk,
        &[("last-modified", "Tue, 01 Sep 2026 10:00:00 GMT")],
    );
    assert_eq!(lm.get("cache-control"), Some("max-age=86460"));
    // Without a validator a stale copy is no use: kept for its TTL only.
    let without = stored(&c, &lk, &[("content-type", "text/plain")]);
    assert_eq!(without.get("cache-control"), Some("max-age=60"));
    // A configured keep, shorter than the TTL too.
    let c = route(json!({ "keep": "10s" }));
    let lk = lookup(&c);
    assert_eq!(
        stored(&c, &lk, ETAG).get("cache-control"),
        Some("max-age=70")
    );
    // A stale window longer than the keep is kept as it is.
    let c = route(json!({ "keep": "1m", "stale_if_error": "5m" }));
    let lk = lookup(&c);
    assert_eq!(
        stored(&c, &lk, ETAG).get("cache-control"),
        Some("max-age=360")
    );
    // keep = 0s: as without a validator.
    let c = route(json!({ "keep": "0s" }));
    let lk = lookup(&c);
    assert_eq!(
        stored(&c, &lk, ETAG).get("cache-control"),
        Some("max-age=60")
    );
}

#[test]
fn the_keep_never_passes_the_entry_lifetime() {
    use edgecache::config::MAX_ENTRY_LIFETIME;
    use edgecache::flow::entry::cache_api_keep;
    use edgecache::response::store::StorePlan;
    let plan = StorePlan {
        initial_age: 0,
        ttl: MAX_ENTRY_LIFETIME - 10,
        stale_while_revalidate: 0,
        stale_if_error: 10,
        keep: 86_400,
        strip_headers: vec![],
        tags: vec![],
    };
    assert_eq!(cache_api_keep(&plan, false), MAX_ENTRY_LIFETIME);
    assert_eq!(cache_api_keep(&plan, true), MAX_ENTRY_LIFETIME);
}
