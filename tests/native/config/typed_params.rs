//! Typed path parameters (`:pk(int)`, `:slug(slug)`, `:id(uuid)`) follow Django's
//! path converters: a route matches what the view's URL pattern matches, and an
//! `int` is keyed, tagged and fetched as the view reads it (`01` is `1`).

use edgecache::config::{Config, Converter, PathSegment};
use edgecache::http::headers::Headers;
use edgecache::http::method::Method;
use edgecache::request::key::{cache_key, normalize_url_for_purge, KeyOutcome, KeyRequest};
use serde_json::json;

fn config() -> Config {
    Config::from_json(&json!({
        "origin": "http://127.0.0.1:8000",
        "routes": [
            { "name": "course", "path": "/api/courses/:pk(int)/", "ttl": "15m", "tags": ["course:{pk}"] },
            { "name": "subject", "path": "/api/subjects/:slug(slug)/", "ttl": "15m", "tags": ["subject:{slug}"] },
            { "name": "thing", "path": "/api/things/:id(uuid)/", "ttl": "15m" },
        ],
    }))
    .unwrap()
}

/// (key, tags) of a GET, or None when no route takes it.
fn key(config: &Config, url: &str) -> Option<(String, Vec<String>)> {
    let h = Headers::new();
    let req = KeyRequest {
        method: &Method::Get,
        url,
        headers: &h,
        user_secret: None,
    };
    match cache_key(config, &req).unwrap() {
        KeyOutcome::Cache(k) => Some((k.url().to_string(), k.tags().into_owned())),
        KeyOutcome::NoRoute => None,
        other => panic!("{url}: {other:?}"),
    }
}

#[test]
fn converters_parse_from_the_pattern() {
    let c = config();
    assert_eq!(
        c.routes[0].path.segments[2],
        PathSegment::Typed("pk".into(), Converter::Int)
    );
    assert_eq!(
        c.routes[1].path.segments[2],
        PathSegment::Typed("slug".into(), Converter::Slug)
    );
    let bad = Config::from_json(&json!({
        "origin": "http://127.0.0.1:8000",
        "routes": [{ "name": "a", "path": "/a/:pk(integer)/", "ttl": "1m" }],
    }));
    assert!(bad.unwrap_err().to_string().contains("unknown converter"));
}

#[test]
fn an_int_is_keyed_tagged_and_fetched_as_the_view_reads_it() {
    let c = config();
    let one = key(&c, "https://api.example.com/api/courses/1/").unwrap();
    assert_eq!(one.0, "https://api.example.com/api/courses/1/");
    assert_eq!(one.1, vec!["course:1".to_string()]);
    for spelling in [
        "/api/courses/01/",
        "/api/courses/0001/",
        "/api/courses/%31/",
        "/api/courses/%30%31/",
    ] {
        assert_eq!(
            key(&c, &format!("https://api.example.com{spelling}")),
            Some(one.clone()),
            "{spelling}"
        );
    }
    assert_eq!(
        key(&c, "https://api.example.com/api/courses/000/")
            .unwrap()
            .1,
        vec!["course:0".to_string()]
    );
}

#[test]
fn a_value_the_converter_refuses_matches_no_route() {
    let c = config();
    for url in [
        "/api/courses/+1/",
        "/api/courses/-1/",
        "/api/courses/1a/",
        "/api/courses/%C2%B9/",
    ] {
        assert_eq!(
            key(&c, &format!("https://api.example.com{url}")),
            None,
            "{url}"
        );
    }
    assert_eq!(key(&c, "https://api.example.com/api/subjects/a.b/"), None);
    assert!(key(&c, "https://api.example.com/api/subjects/web-dev_2/").is_some());
    assert!(key(
        &c,
        "https://api.example.com/api/things/0f8fad5b-d9cb-469f-a165-70867728950e/"
    )
    .is_some());
    assert_eq!(
        key(
            &c,
            "https://api.example.com/api/things/0F8FAD5B-D9CB-469F-A165-70867728950E/"
        ),
        None
    );
}

#[test]
fn a_purge_by_url_reaches_every_spelling_of_an_int() {
    let c = config();
    let (_, base) =
        normalize_url_for_purge(&c, "https://api.example.com/api/courses/007/").unwrap();
    assert_eq!(base, "https://api.example.com/api/courses/7/");
}

#[test]
fn an_untyped_param_takes_any_segment_after_a_typed_one_and_covers_typed_ones() {
    let later_reachable = Config::from_json(&json!({
        "origin": "http://127.0.0.1:8000",
        "routes": [
            { "name": "by-id", "path": "/api/courses/:pk(int)/", "ttl": "1m" },
            { "name": "by-slug", "path": "/api/courses/:slug/", "ttl": "1m" },
        ],
    }))
    .unwrap();
    assert_eq!(
        key(
            &later_reachable,
            "https://api.example.com/api/courses/intro/"
        )
        .unwrap()
        .0,
        "https://api.example.com/api/courses/intro/"
    );
    let shadowed = Config::from_json(&json!({
        "origin": "http://127.0.0.1:8000",
        "routes": [
            { "name": "any", "path": "/api/courses/:slug/", "ttl": "1m" },
            { "name": "by-id", "path": "/api/courses/:pk(int)/", "ttl": "1m" },
        ],
    }));
    assert!(shadowed.unwrap_err().to_string().contains("by-id"));
}
