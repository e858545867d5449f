//! Targeted cache-control fields (RFC 9213): which field governs storing and
//! freshness here, what an invalid one does, and which are passed on.
use crate::common;

use common::{api_route, headers};
use edgecache::flow::client_headers;
use edgecache::http::cache_control::{CacheControl, FieldScope};
use edgecache::http::targeted::{effective_cache_control, parse_targeted, PolicySource};

#[test]
fn cloudflare_field_then_cdn_field_then_cache_control() {
    let h = headers(&[
        ("cache-control", "max-age=10"),
        ("cdn-cache-control", "max-age=20"),
        ("cloudflare-cdn-cache-control", "max-age=30"),
    ]);
    let (cc, source) = effective_cache_control(&h);
    assert_eq!(cc.max_age, Some(30));
    assert_eq!(
        source,
        PolicySource::Targeted("cloudflare-cdn-cache-control")
    );

    let h = headers(&[
        ("cache-control", "max-age=10"),
        ("cdn-cache-control", "max-age=20"),
    ]);
    let (cc, source) = effective_cache_control(&h);
    assert_eq!(cc.max_age, Some(20));
    assert_eq!(source, PolicySource::Targeted("cdn-cache-control"));

    let (cc, source) = effective_cache_control(&headers(&[("cache-control", "max-age=10")]));
    assert_eq!(cc.max_age, Some(10));
    assert_eq!(source, PolicySource::CacheControl);
}

/// RFC 9213 §2.1: an empty field, or one that is not a Dictionary, is ignored
/// whole, and the next one on the target list is used.
#[test]
fn an_invalid_or_empty_field_is_ignored_whole() {
    for bad in [
        "",
        "   ",
        "Max-Age=60",
        "max-age=60,",
        "max-age=60,,no-store",
        "max-age=\"60",
        "max-age=60 no-store",
        "max-age=1234567890123456",
        "max-age=?2",
        "max-age=\u{e9}",
    ] {
        assert_eq!(parse_targeted(bad), None, "{bad:?}");
        let h = headers(&[("cache-control", "max-age=10"), ("cdn-cache-control", bad)]);
        let (cc, source) = effective_cache_control(&h);
        assert_eq!(
            (cc.max_age, source),
            (Some(10), PolicySource::CacheControl),
            "{bad:?}"
        );
    }
}

#[test]
fn directives_map_onto_cache_control() {
    let cc = parse_targeted(
        "max-age=600, s-maxage=60, stale-while-revalidate=30, stale-if-error=300, must-revalidate, public",
    )
    .unwrap();
    assert_eq!(cc.max_age, Some(600));
    assert_eq!(cc.s_maxage, Some(60));
    assert_eq!(cc.stale_while_revalidate, Some(30));
    assert_eq!(cc.stale_if_error, Some(300));
    assert!(cc.must_revalidate && cc.public);

    let cc = parse_targeted("no-store, private=\"Set-Cookie, X-A\", no-cache").unwrap();
    assert!(cc.no_store);
    assert_eq!(
        cc.private,
        FieldScope::Fields(vec!["set-cookie".into(), "x-a".into()])
    );
    assert_eq!(cc.no_cache, FieldScope::Whole);
    // Parameters are ignored; `?0` is the directive's absence; unknown keys are ignored.
    let cc = parse_targeted("max-age=60;foo=1, no-store=?0, none").unwrap();
    assert_eq!(cc.max_age, Some(60));
    assert!(!cc.no_store);
    assert_eq!(parse_targeted("none"), Some(CacheControl::default()));
}

/// RFC 9213 §2.1: values of the wrong type are not consumed; a numeric
/// directive then reads as 0 (fail safe), the field itself still applies.
#[test]
fn a_value_of_the_wrong_type_reads_as_zero() {
    for v in [
        "max-age=1.5",
        "max-age=\"60\"",
        "max-age=-1",
        "max-age=soon",
        "max-age",
    ] {
        let cc = parse_targeted(v).unwrap();
        assert_eq!(cc.max_age, Some(0), "{v:?}");
    }
}

#[test]
fn several_lines_are_one_dictionary_and_a_later_key_wins() {
    let h = headers(&[
        ("cdn-cache-control", "max-age=60"),
        ("cdn-cache-control", "max-age=90"),
    ]);
    assert_eq!(effective_cache_control(&h).0.max_age, Some(90));
}

/// RFC 9213 §3: a CDN "will typically forward" `CDN-Cache-Control` for CDN
/// caches downstream; `Cloudflare-CDN-Cache-Control` addresses only us.
#[test]
fn cdn_cache_control_is_passed_on_and_the_cloudflare_field_is_not() {
    let origin = headers(&[
        ("cache-control", "max-age=60"),
        ("cdn-cache-control", "private"),
        ("cloudflare-cdn-cache-control", "max-age=300"),
        ("examplecdn-cache-control", "max-age=5"),
    ]);
    let config = edgecache::config::Config::from_json(&serde_json::json!({
        "origin": "https://api.example.com",
        "routes": [{ "name": "api", "path": "/api/*", "ttl": "15m" }],
    }))
    .expect("valid config");
    let client = client_headers(&config, &api_route(), &origin);
    assert_eq!(client.get("cdn-cache-control"), Some("private"));
    assert_eq!(client.get("cloudflare-cdn-cache-control"), None);
    // Not on the target list: passed on untouched (§2.2).
    assert_eq!(client.get("examplecdn-cache-control"), Some("max-age=5"));
    assert_eq!(client.get("cache-control"), Some("max-age=60"));
}
