//! Compressed origin answers (docs/caching.md, "Compressed answers"): the
//! origin is asked for gzip and br, the stored copy keeps the coded bytes with
//! their length and hides the coding from the runtime, every client gets the
//! `Content-Encoding` back; and a miss's `Cache-Status` claims no `stored`.

use edgecache::config::Config;
use edgecache::flow::entry::{origin_fields, CODING_HEADER};
use edgecache::flow::{
    on_origin, on_stored, plan, FetchStart, Incoming, Plan, StoredDecision, StoredEntry,
};
use edgecache::http::headers::Headers;
use edgecache::http::method::Method;
use edgecache::http::time::{UnixMillis, UnixSecs};
use edgecache::purge::generations::{Gen, Generations};
use edgecache::request::forward::ORIGIN_CODINGS;
use serde_json::json;

fn config() -> Config {
    Config::from_json(&json!({
        "origin": "http://127.0.0.1:8000",
        "routes": [
            { "name": "api", "path": "/api/*", "ttl": "15m" },
            { "name": "negotiated", "path": "/neg/*", "ttl": "15m", "vary": ["accept-encoding"] },
        ],
        "forward_headers": ["accept", "accept-language", "accept-encoding"],
    }))
    .expect("valid config")
}

fn lookup<'c>(config: &'c Config, url: &str, h: &Headers) -> Plan<'c> {
    plan(
        config,
        &Incoming {
            method: &Method::Get,
            url,
            headers: h,
            has_body: false,
            user_secret: None,
        },
    )
}

fn gzip_answer() -> Headers {
    [
        ("content-type", "application/json"),
        ("content-encoding", "gzip"),
        ("content-length", "812"),
        ("vary", "Accept-Encoding"),
        ("cache-control", "max-age=600"),
    ]
    .into_iter()
    .collect()
}

#[test]
fn a_lookup_asks_the_origin_for_gzip_whatever_the_client_accepts() {
    let c = config();
    for sent in [None, Some("identity"), Some("gzip, deflate, br, zstd")] {
        let h: Headers = sent.map(|v| ("accept-encoding", v)).into_iter().collect();
        let Plan::Lookup(lk) = lookup(&c, "https://api.example.com/api/x", &h) else {
            panic!("expected a lookup")
        };
        let asked: Vec<_> = lk.origin_headers.get_all("accept-encoding").collect();
        assert_eq!(asked, [ORIGIN_CODINGS], "client sent {sent:?}");
    }
}

#[test]
fn a_route_varying_on_accept_encoding_sends_the_clients_value() {
    let c = config();
    let h: Headers = [("accept-encoding", "identity")].into_iter().collect();
    let Plan::Lookup(lk) = lookup(&c, "https://api.example.com/neg/x", &h) else {
        panic!("expected a lookup")
    };
    let asked: Vec<_> = lk.origin_headers.get_all("accept-encoding").collect();
    assert_eq!(asked, ["identity"]);
}

#[test]
fn a_gzip_answer_is_stored_with_its_length_and_its_coding_hidden_from_the_runtime() {
    let c = config();
    let Plan::Lookup(lk) = lookup(&c, "https://api.example.com/api/x", &Headers::new()) else {
        panic!("expected a lookup")
    };
    let d = on_origin(
        &c,
        &lk,
        200,
        &gzip_answer(),
        FetchStart::unrecorded(UnixMillis(1_000_000)),
        UnixSecs(1000),
    );
    let store = d.store.expect("a gzip answer is storable");
    // The runtime decodes any body whose Content-Encoding it knows: the stored
    // copy must not have one, and keeps the coded length.
    assert!(!store.headers.contains("content-encoding"));
    assert_eq!(store.headers.get(CODING_HEADER), Some("gzip"));
    assert_eq!(store.headers.content_length(), Some(812));
    // The first client gets the answer as the origin sent it.
    assert_eq!(d.client.get("content-encoding"), Some("gzip"));
    assert_eq!(d.client.content_length(), Some(812));
    // Every later client too, from the stored copy.
    let entry = StoredEntry::parse(&store.headers).expect("parses back");
    let mut gens = Generations::new();
    for name in lk.names(&entry.stamp) {
        gens.insert(name, Gen::Never);
    }
    let served = on_stored(&c, &lk, &entry, &store.headers, &gens, UnixSecs(1001));
    let StoredDecision::Serve { headers, .. } = served else {
        panic!("expected a hit, got {served:?}")
    };
    assert_eq!(headers.get("content-encoding"), Some("gzip"));
    assert_eq!(headers.content_length(), Some(812));
    assert!(!headers.contains(CODING_HEADER));
    // What a revalidation compares and updates is the origin's own fields.
    assert_eq!(
        origin_fields(&store.headers).get("content-encoding"),
        Some("gzip")
    );
}

#[test]
fn an_entry_with_a_visible_content_encoding_is_unreadable() {
    let c = config();
    let Plan::Lookup(lk) = lookup(&c, "https://api.example.com/api/x", &Headers::new()) else {
        panic!("expected a lookup")
    };
    let d = on_origin(
        &c,
        &lk,
        200,
        &gzip_answer(),
        FetchStart::unrecorded(UnixMillis(1_000_000)),
        UnixSecs(1000),
    );
    let mut stored = d.store.unwrap().headers;
    assert!(StoredEntry::parse(&stored).is_some());
    // Written by an earlier release: its body is decoded whenever it is read.
    stored.append("content-encoding", "gzip");
    assert!(StoredEntry::parse(&stored).is_none());
}

#[test]
fn a_miss_claims_no_stored_before_its_copy_is_written() {
    let c = config();
    let Plan::Lookup(lk) = lookup(&c, "https://api.example.com/api/x", &Headers::new()) else {
        panic!("expected a lookup")
    };
    let d = on_origin(
        &c,
        &lk,
        200,
        &gzip_answer(),
        FetchStart::unrecorded(UnixMillis(1_000_000)),
        UnixSecs(1000),
    );
    assert!(d.store.is_some());
    assert_eq!(
        d.cache_status.to_string(),
        "edgecache; fwd=miss; fwd-status=200; ttl=600"
    );
}
