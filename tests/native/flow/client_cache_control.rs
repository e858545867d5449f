//! The client's request `Cache-Control` through the flow (`flow::client_cc`):
//! `no-store` and `only-if-cached` always, `no-cache` / `max-age` only on a
//! route with `honor_request_cache_control`.

use edgecache::config::Config;
use edgecache::flow::client_cc::{refuse_miss, ONLY_IF_CACHED, REQUEST_CACHE_CONTROL};
use edgecache::flow::{
    on_origin, on_stored, plan, FetchStart, Incoming, Lookup, Plan, StoredDecision, StoredEntry,
};
use edgecache::http::cache_status::Detail;
use edgecache::http::headers::Headers;
use edgecache::http::method::Method;
use edgecache::http::time::{UnixMillis, UnixSecs};
use edgecache::purge::generations::{Gen, Generations};

const NOW: UnixSecs = UnixSecs(1_700_000_000);

fn config() -> Config {
    Config::from_json(&serde_json::json!({
        "origin": "http://127.0.0.1:8000",
        "routes": [
            { "name": "api", "path": "/api/*", "ttl": "15m" },
            { "name": "honor", "path": "/honor/*", "ttl": "15m", "honor_request_cache_control": true },
        ],
    }))
    .unwrap()
}

fn lookup<'c>(config: &'c Config, path: &str, request_cc: Option<&str>) -> Lookup<'c> {
    let mut h = Headers::new();
    if let Some(cc) = request_cc {
        h.append("cache-control", cc);
    }
    let url = format!("https://api.example.com{path}");
    let inc = Incoming {
        method: &Method::Get,
        url: &url,
        headers: &h,
        has_body: false,
        user_secret: None,
    };
    match plan(config, &inc) {
        Plan::Lookup(lk) => *lk,
        other => panic!("not a lookup: {other:?}"),
    }
}

/// A stored entry of `lk` (max-age=600), fetched at NOW, and a decision on it
/// `resident` seconds later.
fn decide_stored(config: &Config, lk: &Lookup, resident: u64) -> StoredDecision {
    let origin: Headers = [("cache-control", "max-age=600")].into_iter().collect();
    let stored = on_origin(
        config,
        lk,
        200,
        &origin,
        FetchStart::unrecorded(NOW.to_millis()),
        NOW,
    )
    .store
    .expect("stored")
    .headers;
    let entry = StoredEntry::parse(&stored).unwrap();
    let mut gens = Generations::new();
    for name in lk.names(&entry.stamp) {
        gens.insert(name, Gen::Never);
    }
    on_stored(
        config,
        lk,
        &entry,
        &stored,
        &gens,
        UnixSecs(NOW.0 + resident),
    )
}

fn miss_detail(d: StoredDecision) -> Detail {
    match d {
        StoredDecision::Miss { detail, .. } => detail,
        other => panic!("expected a miss, got {other:?}"),
    }
}

#[test]
fn no_cache_and_max_age_are_ignored_by_default() {
    let c = config();
    for cc in ["no-cache", "max-age=0", "no-cache, max-age=0"] {
        let lk = lookup(&c, "/api/x", Some(cc));
        assert!(
            matches!(decide_stored(&c, &lk, 5), StoredDecision::Serve { .. }),
            "{cc}"
        );
    }
}

#[test]
fn an_opted_in_route_honours_no_cache_and_max_age() {
    let c = config();
    for cc in ["no-cache", "max-age=0", "MAX-AGE=5", "max-age=junk"] {
        let lk = lookup(&c, "/honor/x", Some(cc));
        assert_eq!(
            miss_detail(decide_stored(&c, &lk, 5)),
            REQUEST_CACHE_CONTROL,
            "{cc}"
        );
    }
    // An entry younger than the request's max-age is served.
    let lk = lookup(&c, "/honor/x", Some("max-age=60"));
    assert!(matches!(
        decide_stored(&c, &lk, 5),
        StoredDecision::Serve { .. }
    ));
    let lk = lookup(&c, "/honor/x", None);
    assert!(matches!(
        decide_stored(&c, &lk, 5),
        StoredDecision::Serve { .. }
    ));
}

#[test]
fn request_no_store_keeps_the_answer_out_of_the_cache_but_a_stored_entry_answers() {
    let c = config();
    let lk = lookup(&c, "/api/x", Some("no-store"));
    let origin: Headers = [("cache-control", "max-age=600")].into_iter().collect();
    let d = on_origin(
        &c,
        &lk,
        200,
        &origin,
        FetchStart::unrecorded(UnixMillis(NOW.0 * 1000)),
        NOW,
    );
    assert!(d.store.is_none());
    assert_eq!(
        d.cache_status.to_string(),
        "edgecache; fwd=miss; fwd-status=200; detail=request_no_store"
    );
    // Reusing what is stored is allowed (RFC 9111 §5.2.1.5 forbids storing only).
    let plain = lookup(&c, "/api/x", None);
    let origin_headers: Headers = [("cache-control", "max-age=600")].into_iter().collect();
    let stored = on_origin(
        &c,
        &plain,
        200,
        &origin_headers,
        FetchStart::unrecorded(NOW.to_millis()),
        NOW,
    )
    .store
    .unwrap()
    .headers;
    let entry = StoredEntry::parse(&stored).unwrap();
    let mut gens = Generations::new();
    for name in lk.names(&entry.stamp) {
        gens.insert(name, Gen::Never);
    }
    assert!(matches!(
        on_stored(&c, &lk, &entry, &stored, &gens, NOW),
        StoredDecision::Serve { .. }
    ));
}

#[test]
fn only_if_cached_refuses_to_go_to_the_origin() {
    let c = config();
    let f = refuse_miss(&lookup(&c, "/api/x", Some("only-if-cached"))).unwrap();
    assert_eq!((f.status, f.detail), (504, ONLY_IF_CACHED));
    assert!(refuse_miss(&lookup(&c, "/api/x", None)).is_none());
    assert!(refuse_miss(&lookup(&c, "/api/x", Some("no-cache"))).is_none());
}

#[test]
fn a_requests_own_no_store_starts_no_hit_for_pass() {
    use edgecache::flow::client_cc::not_stored_outcome;
    use edgecache::flow::collapse::LeaderOutcome;
    let c = config();
    let plain = lookup(&c, "/api/x", None);
    assert_eq!(not_stored_outcome(&plain), LeaderOutcome::NotStorable);
    let no_store = lookup(&c, "/api/x", Some("no-store"));
    assert_eq!(not_stored_outcome(&no_store), LeaderOutcome::StoreFailed);
}
