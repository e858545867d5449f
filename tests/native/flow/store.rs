//! `flow::on_origin` / `StoredEntry`: what the stored copy and the first client get.

use edgecache::config::Config;
use edgecache::flow::entry::{STATUS_HEADER, STORED_AS};
use edgecache::flow::{on_origin, plan, FetchStart, Incoming, Plan, StoredEntry};
use edgecache::http::headers::Headers;
use edgecache::http::method::Method;
use edgecache::http::time::{UnixMillis, UnixSecs};
use edgecache::request::forward::{pass_headers, RequestBody};
use serde_json::json;

fn config() -> Config {
    Config::from_json(&json!({
        "origin": "http://127.0.0.1:8000",
        "routes": [{ "name": "errs", "path": "/errs/*", "ttl": "15m", "status_ttl": { "503": "1m" } }],
    }))
    .expect("valid config")
}

fn hdrs(pairs: &[(&str, &str)]) -> Headers {
    pairs.iter().copied().collect()
}

fn lookup_plan<'c>(config: &'c Config, method: &Method, h: &Headers) -> Plan<'c> {
    plan(
        config,
        &Incoming {
            method,
            url: "https://api.example.com/errs/x",
            headers: h,
            has_body: false,
            user_secret: None,
        },
    )
}

#[test]
fn every_status_is_stored_as_200_with_the_real_one_beside_it() {
    let c = config();
    let none = Headers::new();
    let Plan::Lookup(lk) = lookup_plan(&c, &Method::Get, &none) else {
        panic!("expected a lookup")
    };
    let d = on_origin(
        &c,
        &lk,
        503,
        &hdrs(&[("content-type", "text/plain")]),
        FetchStart::unrecorded(UnixMillis(1_000_000)),
        UnixSecs(1000),
    );
    let store = d.store.expect("503 is named in status_ttl");
    assert_eq!(store.status, STORED_AS);
    assert_eq!(store.headers.get(STATUS_HEADER), Some("503"));
    let entry = StoredEntry::parse(&store.headers).expect("parses back");
    assert_eq!(entry.status, 503);
}

#[test]
fn an_entry_without_a_valid_status_is_unreadable() {
    let c = config();
    let none = Headers::new();
    let Plan::Lookup(lk) = lookup_plan(&c, &Method::Get, &none) else {
        panic!("expected a lookup")
    };
    let store = on_origin(
        &c,
        &lk,
        200,
        &Headers::new(),
        FetchStart::unrecorded(UnixMillis(1_000_000)),
        UnixSecs(1000),
    )
    .store
    .unwrap();
    for bad in [None, Some("abc"), Some("99"), Some("600")] {
        let mut h: Headers = store
            .headers
            .iter()
            .filter(|(n, _)| *n != STATUS_HEADER)
            .collect();
        if let Some(v) = bad {
            h.append(STATUS_HEADER, v);
        }
        assert!(StoredEntry::parse(&h).is_none(), "{bad:?}");
    }
}

#[test]
fn private_fields_are_kept_from_the_store_but_reach_the_first_client() {
    let c = config();
    let none = Headers::new();
    let Plan::Lookup(lk) = lookup_plan(&c, &Method::Get, &none) else {
        panic!("expected a lookup")
    };
    let origin = hdrs(&[
        ("cache-control", "max-age=60, private=\"Set-Cookie\""),
        ("set-cookie", "csrftoken=a"),
    ]);
    let d = on_origin(
        &c,
        &lk,
        200,
        &origin,
        FetchStart::unrecorded(UnixMillis(1_000_000)),
        UnixSecs(1000),
    );
    assert_eq!(d.client.get("set-cookie"), Some("csrftoken=a"));
    assert!(!d.store.unwrap().headers.contains("set-cookie"));
}

#[test]
fn a_get_with_a_body_goes_forward_without_it() {
    let c = config();
    let h = hdrs(&[
        ("content-length", "5"),
        ("content-type", "text/plain"),
        ("x-a", "1"),
    ]);
    let p = plan(
        &c,
        &Incoming {
            method: &Method::Get,
            url: "https://api.example.com/errs/x",
            headers: &h,
            has_body: true,
            user_secret: None,
        },
    );
    let Plan::Pass { forward_body, .. } = p else {
        panic!("expected a pass")
    };
    assert_eq!(forward_body, RequestBody::Withhold);
    let fwd = pass_headers(&h, forward_body, None);
    assert!(!fwd.contains("content-length"));
    assert_eq!(fwd.get("x-a"), Some("1"));
}

#[test]
fn unsafe_methods_forward_their_body_and_framing() {
    let c = config();
    let h = hdrs(&[
        ("content-type", "application/json"),
        ("host", "api.example.com"),
    ]);
    let Plan::Pass { forward_body, .. } = lookup_plan(&c, &Method::Post, &h) else {
        panic!("expected a pass")
    };
    assert_eq!(forward_body, RequestBody::Forward);
    let fwd = pass_headers(&h, forward_body, None);
    assert_eq!(fwd.get("content-type"), Some("application/json"));
    assert!(!fwd.contains("host"));
}

#[test]
fn pass_through_never_forwards_rewriting_headers() {
    let h = hdrs(&[
        ("x-forwarded-host", "evil"),
        ("x-http-method-override", "DELETE"),
        ("a", "b"),
    ]);
    let fwd = pass_headers(&h, RequestBody::Forward, None);
    assert_eq!(fwd.len(), 1);
}

#[test]
fn pass_through_tells_the_origin_the_public_host_never_the_clients() {
    let h = hdrs(&[("x-forwarded-host", "evil"), ("x-forwarded-proto", "http")]);
    let fwd = pass_headers(&h, RequestBody::Forward, Some("api.example.com"));
    assert_eq!(
        fwd.get_all("x-forwarded-host").collect::<Vec<_>>(),
        ["api.example.com"]
    );
    assert_eq!(
        fwd.get_all("x-forwarded-proto").collect::<Vec<_>>(),
        ["https"]
    );
}

#[test]
fn a_lookup_tells_the_origin_the_keyed_host_and_https() {
    let c = config();
    let h = hdrs(&[("x-forwarded-host", "evil"), ("x-forwarded-proto", "http")]);
    let inc = Incoming {
        method: &Method::Get,
        url: "http://API.Example.com:443/errs/x",
        headers: &h,
        has_body: false,
        user_secret: None,
    };
    let Plan::Lookup(lk) = plan(&c, &inc) else {
        panic!("expected a lookup")
    };
    assert_eq!(
        lk.origin_headers
            .get_all("x-forwarded-host")
            .collect::<Vec<_>>(),
        ["api.example.com"]
    );
    assert_eq!(
        lk.origin_headers
            .get_all("x-forwarded-proto")
            .collect::<Vec<_>>(),
        ["https"]
    );
}

#[test]
fn hop_by_hop_fields_and_those_connection_names_are_never_stored() {
    let c = config();
    let none = Headers::new();
    let Plan::Lookup(lk) = lookup_plan(&c, &Method::Get, &none) else {
        panic!("expected a lookup")
    };
    let origin = hdrs(&[
        ("content-type", "text/plain"),
        ("transfer-encoding", "chunked"),
        ("connection", "keep-alive, X-Private-Hop"),
        ("keep-alive", "timeout=5"),
        ("x-private-hop", "1"),
        ("upgrade", "h2c"),
        ("etag", "\"e\""),
    ]);
    let store = on_origin(
        &c,
        &lk,
        200,
        &origin,
        FetchStart::unrecorded(UnixMillis(1_000_000)),
        UnixSecs(1000),
    )
    .store
    .expect("stored");
    for name in [
        "transfer-encoding",
        "connection",
        "keep-alive",
        "x-private-hop",
        "upgrade",
    ] {
        assert!(!store.headers.contains(name), "{name} stored");
    }
    assert_eq!(store.headers.get("etag"), Some("\"e\""));
    assert_eq!(store.headers.get("content-type"), Some("text/plain"));
}

#[test]
fn the_stored_stamp_records_the_marks_read_before_the_fetch_and_a_hit_then_passes() {
    use edgecache::flow::{on_stored, StoredDecision};
    use edgecache::purge::generations::{Gen, GenName, Generations, PurgeKind, PurgeRecord};
    let c = config();
    let none = Headers::new();
    let Plan::Lookup(lk) = lookup_plan(&c, &Method::Get, &none) else {
        panic!("expected a lookup")
    };
    // `all` was purged 300 ms before the fetch: inside the 2 s skew window.
    let record = PurgeRecord::new(PurgeKind::Hard, UnixMillis(1_000_000)).with_nonce(42);
    let mut gens = Generations::new();
    for n in lk.route_names() {
        gens.insert(n, Gen::Never);
    }
    gens.insert(GenName::all(), Gen::Purged(record));
    let origin = hdrs(&[("content-type", "application/json")]);
    let start = FetchStart {
        at: UnixMillis(1_000_300),
        seen: &gens,
    };
    let store = on_origin(&c, &lk, 200, &origin, start, UnixSecs(1000))
        .store
        .unwrap();
    let entry = StoredEntry::parse(&store.headers).unwrap();
    assert_eq!(entry.stamp.seen().len(), 1);
    let d = on_stored(&c, &lk, &entry, &store.headers, &gens, UnixSecs(1001));
    assert!(matches!(d, StoredDecision::Serve { .. }), "{d:?}");
    // Stored without the marks, the same entry reads as purged.
    let bare = on_origin(
        &c,
        &lk,
        200,
        &origin,
        FetchStart::unrecorded(UnixMillis(1_000_300)),
        UnixSecs(1000),
    )
    .store
    .unwrap();
    let bare_entry = StoredEntry::parse(&bare.headers).unwrap();
    let d = on_stored(&c, &lk, &bare_entry, &bare.headers, &gens, UnixSecs(1001));
    assert!(matches!(d, StoredDecision::Miss { .. }), "{d:?}");
}
