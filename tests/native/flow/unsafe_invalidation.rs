//! What an unsafe method invalidates (RFC 9111 §4.4): on a success, the URL in
//! this data centre only (the base key and the requester's own variant in the
//! Cache API, every variant in the memory tier), never a KV write; on anything
//! else, nothing.

use edgecache::config::Config;
use edgecache::flow::invalidate::{after_answer, invalidation};
use edgecache::flow::plan::{has_body, plan, Incoming, Invalidation, Plan};
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
fn only_a_non_error_answer_invalidates() {
    let pending = || {
        Some(Invalidation {
            base_url: BASE.to_string(),
            key_urls: vec![BASE.to_string()],
        })
    };
    // RFC 9111 §4.4: 2xx and 3xx.
    for status in [200, 201, 204, 299, 301, 302, 303, 304, 307, 399] {
        assert_eq!(invalidation(pending(), status), pending(), "{status}");
    }
    for status in [100, 199, 400, 404, 409, 500, 503] {
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

/// RFC 9111 §4.4: `Location` and `Content-Location` of a non-error answer are
/// invalidated too, resolved against the request URL, but only on its host.
#[test]
fn location_and_content_location_on_the_same_host_are_invalidated() {
    let config = config();
    let method = Method::Post;
    let headers = h(&[]);
    let url = "https://api.example.com/api/plain/";
    let inc = Incoming {
        method: &method,
        url,
        headers: &headers,
        has_body: true,
        user_secret: None,
    };
    let Plan::Pass { invalidate, .. } = plan(&config, &inc) else {
        panic!("not a pass")
    };
    let answer = h(&[
        ("location", "../courses/7/"),
        // The target itself, spelled differently: not named twice.
        (
            "content-location",
            "https://API.example.com/api/plain/?utm_source=x",
        ),
    ]);
    let all = after_answer(&config, &inc, invalidate.clone(), 201, &answer);
    let bases: Vec<&str> = all.iter().map(|i| i.base_url.as_str()).collect();
    assert_eq!(bases, ["https://api.example.com/api/plain/", BASE]);
    // Another host's URL is never touched; an error answer touches nothing.
    let foreign = h(&[("location", "https://other.example.com/api/courses/7/")]);
    let all = after_answer(&config, &inc, invalidate.clone(), 303, &foreign);
    assert_eq!(all.len(), 1);
    assert!(after_answer(&config, &inc, invalidate, 404, &answer).is_empty());
}
