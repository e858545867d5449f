//! The origin's tag fields (`tag_headers`: `Cache-Tag`, `Surrogate-Key`) are
//! for the cache, not for clients: removed from every answer unless
//! `expose_tag_headers` (issue 23.4).

use edgecache::config::Config;
use edgecache::flow::{on_origin, plan, FetchStart, Incoming, Plan};
use edgecache::http::headers::Headers;
use edgecache::http::method::Method;
use edgecache::http::time::{UnixMillis, UnixSecs};
use serde_json::json;

fn config(expose: Option<bool>) -> Config {
    let mut c = json!({
        "origin": "http://127.0.0.1:8000",
        "routes": [{ "name": "api", "path": "/api/*", "ttl": "15m" }],
    });
    if let Some(e) = expose {
        c["expose_tag_headers"] = json!(e);
    }
    Config::from_json(&c).expect("valid config")
}

fn answer() -> Headers {
    [
        ("content-type", "application/json"),
        ("cache-control", "max-age=600"),
        ("cache-tag", "user-42-orders,internal-tenant-7"),
        ("surrogate-key", "tenant-7 orders"),
    ]
    .into_iter()
    .collect()
}

fn decide(c: &Config) -> (Headers, Headers) {
    let none = Headers::new();
    let inc = Incoming {
        method: &Method::Get,
        url: "https://api.example.com/api/orders",
        headers: &none,
        has_body: false,
        user_secret: None,
    };
    let Plan::Lookup(lk) = plan(c, &inc) else {
        panic!("expected a lookup")
    };
    let d = on_origin(
        c,
        &lk,
        200,
        &answer(),
        FetchStart::unrecorded(UnixMillis(1_000_000)),
        UnixSecs(1000),
    );
    (d.client, d.store.expect("stored").headers)
}

#[test]
fn tag_fields_never_reach_a_client_by_default() {
    let c = config(None);
    assert!(!c.expose_tag_headers);
    let (client, stored) = decide(&c);
    assert!(!client.contains("cache-tag"));
    assert!(!client.contains("surrogate-key"));
    // The stored copy keeps them: purges by origin tag need them.
    assert!(stored.contains("cache-tag"));
}

#[test]
fn expose_tag_headers_passes_them_on() {
    let (client, _) = decide(&config(Some(true)));
    assert_eq!(
        client.get("cache-tag"),
        Some("user-42-orders,internal-tenant-7")
    );
    assert_eq!(client.get("surrogate-key"), Some("tenant-7 orders"));
}

#[test]
fn a_wrong_type_is_refused_naming_the_field() {
    let err = Config::from_json(&json!({
        "origin": "http://127.0.0.1:8000",
        "expose_tag_headers": "yes",
    }))
    .unwrap_err()
    .to_string();
    assert!(err.contains("expose_tag_headers"), "{err}");
}
