//! What an unsafe method invalidates (RFC 9111 §4.4): on a success, the URL in
//! this data centre only (the base key and the requester's own variant in the
//! Cache API, every variant in the memory tier), never a KV write; on anything
//! else, nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure is a panic

use edgecache::config::Config;
use edgecache::flow::plan::{has_body, invalidation, plan, Incoming, Invalidation, Plan};
use edgecache::http::headers::Headers;
use edgecache::http::method::Method;

const BASE: &str = "https://api.example.com/api/courses/7/";

fn config() -> Config {
    Config::from_json(&serde_json::json!({
        "origin": "http://127.0.0.1:8000",
        "routes": [
            { "name": "detail", "path": "/api/courses/:pk/", "ttl": "15m", "vary": ["accept"] },
            { "name": "plain", "path": "/api/plain/", "ttl": "15m" },
        ],
    }))
    .unwrap()
}

fn h(pairs: &[(&str, &str)]) -> Headers {
    let mut h = Headers::new();
    for (n, v) in pairs {
        h.append(n, v);
    }
    h
}

fn pass_invalidation(method: &str, url: &str, headers: &Headers) -> Option<Invalidation> {
    let config = config();
    let method = Method::parse(method);
    let inc = Incoming {
        method: &method,
        url,
        headers,
        has_body: true,
        user_secret: None,
    };
    match plan(&config, &inc) {
        Plan::Pass { invalidate, .. } => invalidate,
        other => panic!("not a pass: {other:?}"),
    }
}

#[test]
fn an_unsafe_method_names_the_base_key_and_the_requesters_variant() {
    let inv = pass_invalidation(
        "POST",
        "http://API.example.com/api/courses/7/?utm_source=x",
        &h(&[("accept", "application/json")]),
    )
    .unwrap();
    assert_eq!(inv.base_url, BASE);
    assert_eq!(
        inv.key_urls,
        vec![
            BASE.to_string(),
            format!("{BASE}?__edgecache=accept.application%2Fjson")
        ]
    );
}

#[test]
fn a_route_without_variants_names_its_one_key() {
    let inv = pass_invalidation(
        "DELETE",
        "https://api.example.com/api/plain/",
        &Headers::new(),
    )
    .unwrap();
    assert_eq!(
        inv.key_urls,
        vec!["https://api.example.com/api/plain/".to_string()]
    );
}

#[test]
fn custom_methods_are_unsafe_too_and_safe_ones_or_unrouted_invalidate_nothing() {
    assert!(pass_invalidation(
        "PROPFIND",
        "https://api.example.com/api/plain/",
        &Headers::new()
    )
    .is_some());
    assert!(pass_invalidation(
        "OPTIONS",
        "https://api.example.com/api/plain/",
        &Headers::new()
    )
    .is_none());
    assert!(pass_invalidation(
        "POST",
        "https://api.example.com/elsewhere/",
        &Headers::new()
    )
    .is_none());
}

#[test]
fn only_a_success_invalidates() {
    let pending = || {
        Some(Invalidation {
            base_url: BASE.to_string(),
            key_urls: vec![BASE.to_string()],
        })
    };
    for status in [200, 201, 204, 299] {
        assert_eq!(invalidation(pending(), status), pending(), "{status}");
    }
    for status in [100, 301, 304, 400, 404, 409, 500, 503] {
        assert_eq!(invalidation(pending(), status), None, "{status}");
    }
    assert_eq!(invalidation(None, 200), None);
}

#[test]
fn a_body_is_a_nonzero_length_or_a_transfer_coding() {
    assert!(!has_body(&h(&[])));
    assert!(!has_body(&h(&[("content-length", "0")])));
    assert!(!has_body(&h(&[("content-length", " 0 ")])));
    assert!(has_body(&h(&[("content-length", "12")])));
    assert!(has_body(&h(&[("transfer-encoding", "chunked")])));
    assert!(has_body(&h(&[
        ("Transfer-Encoding", "chunked"),
        ("content-length", "0")
    ])));
}
