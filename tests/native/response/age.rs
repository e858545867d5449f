//! The age of an origin answer on arrival (RFC 9111 §4.2.3, §5.1), and the
//! `Age` an answer forwarded from the origin carries.
use crate::common;

use common::headers;
use edgecache::config::Config;
use edgecache::flow::{on_origin, plan, uncached_client_headers, FetchStart, Incoming, Plan};
use edgecache::http::date;
use edgecache::http::headers::Headers;
use edgecache::http::method::Method;
use edgecache::http::time::UnixMillis;
use edgecache::http::time::UnixSecs;
use edgecache::response::age::{age_value, corrected_initial_age, forwarded_age, ForwardedAge};
use serde_json::json;

const NOW: UnixSecs = UnixSecs(1_700_000_000);

#[test]
fn age_value_is_the_first_member_and_an_invalid_one_is_ignored() {
    assert_eq!(age_value(&headers(&[("age", "40")])), Some(40));
    assert_eq!(age_value(&headers(&[("age", " 40 ")])), Some(40));
    // §5.1: a list-based value: the first member counts.
    assert_eq!(age_value(&headers(&[("age", "30, 100")])), Some(30));
    assert_eq!(
        age_value(&headers(&[("age", "30"), ("age", "100")])),
        Some(30)
    );
    // §5.1: anything but a non-negative integer: the field is ignored.
    for bad in ["1s", "-1", "1.5", "", "abc", "1s, 20"] {
        assert_eq!(age_value(&headers(&[("age", bad)])), None, "{bad:?}");
    }
    assert_eq!(age_value(&headers(&[])), None);
}

#[test]
fn corrected_initial_age_is_the_larger_of_apparent_and_corrected_age() {
    let date_100_ago = date::format(UnixSecs(NOW.0 - 100));
    // Apparent age only (no Age).
    let h = headers(&[("date", &date_100_ago)]);
    assert_eq!(corrected_initial_age(&h, 0, NOW), 100);
    // The Age plus the response delay, when larger.
    let h = headers(&[("date", &date_100_ago), ("age", "150")]);
    assert_eq!(corrected_initial_age(&h, 2, NOW), 152);
    // A Date in the future is an apparent age of 0.
    let h = headers(&[("date", &date::format(UnixSecs(NOW.0 + 50))), ("age", "5")]);
    assert_eq!(corrected_initial_age(&h, 1, NOW), 6);
    // An ignored Age counts as 0; so does a missing or invalid Date.
    let h = headers(&[("date", "yesterday"), ("age", "1s")]);
    assert_eq!(corrected_initial_age(&h, 3, NOW), 3);
}

#[test]
fn an_answer_without_age_is_forwarded_without_one() {
    // Made by the origin for this request (§5.1): even an old Date adds none.
    let h = headers(&[("date", &date::format(UnixSecs(NOW.0 - 100)))]);
    assert_eq!(forwarded_age(&h, 2, NOW), ForwardedAge::Absent);
    assert_eq!(forwarded_age(&headers(&[]), 0, NOW), ForwardedAge::Absent);
}

#[test]
fn an_upstream_age_is_forwarded_as_the_age_on_arrival() {
    let h = headers(&[("age", "7200")]);
    assert_eq!(forwarded_age(&h, 0, NOW), ForwardedAge::Seconds(7200));
    // The time on the way counts (corrected_age_value).
    assert_eq!(forwarded_age(&h, 3, NOW), ForwardedAge::Seconds(7203));
    // A Date older than the Age says: the apparent age.
    let h = headers(&[
        ("age", "10"),
        ("date", &date::format(UnixSecs(NOW.0 - 100))),
    ]);
    assert_eq!(forwarded_age(&h, 0, NOW), ForwardedAge::Seconds(100));
    // A list: its first member, one value sent on.
    let h = headers(&[("age", "7200, 0")]);
    assert_eq!(forwarded_age(&h, 0, NOW), ForwardedAge::Seconds(7200));
}

#[test]
fn an_age_this_cache_ignores_is_forwarded_as_received() {
    for bad in ["abc", "-7200", "7200.0", "", "1s, 20"] {
        let h = headers(&[("age", bad)]);
        assert_eq!(
            forwarded_age(&h, 1, NOW),
            ForwardedAge::AsReceived,
            "{bad:?}"
        );
    }
}

fn config() -> Config {
    Config::from_json(&json!({
        "origin": "http://127.0.0.1:8000",
        "routes": [{ "name": "api", "path": "/api/*", "ttl": "15m" }],
    }))
    .expect("valid config")
}

/// The client's headers `on_origin` gives for `origin`, which arrived
/// `delay_ms` after the fetch started.
fn forwarded(origin: &[(&str, &str)], delay_ms: u64) -> Headers {
    let c = config();
    let none = Headers::new();
    let incoming = Incoming {
        method: &Method::Get,
        url: "https://api.example.com/api/x",
        headers: &none,
        has_body: false,
        user_secret: None,
    };
    let Plan::Lookup(lk) = plan(&c, &incoming) else {
        panic!("expected a lookup")
    };
    let start = FetchStart::unrecorded(UnixMillis(NOW.to_millis().0 - delay_ms));
    on_origin(&c, &lk, 200, &headers(origin), start, NOW).client
}

#[test]
fn a_miss_tells_the_client_the_upstream_age_stored_or_not() {
    // Too old to store (zero_ttl): the client must still see how old it is.
    let old = forwarded(&[("cache-control", "max-age=3600"), ("age", "7200")], 0);
    assert_eq!(old.get("age"), Some("7200"));
    // Expires-based, stored: the age with the fetch's 2 s on the way.
    let expires = date::format(UnixSecs(NOW.0 + 3600));
    let date_now = date::format(NOW);
    let h = [
        ("expires", expires.as_str()),
        ("date", date_now.as_str()),
        ("age", "60"),
    ];
    assert_eq!(forwarded(&h, 2500).get("age"), Some("62"));
    // Straight from the origin: no Age.
    assert_eq!(
        forwarded(&[("cache-control", "max-age=60")], 2500).get("age"),
        None
    );
    // An Age this cache ignores: passed on as it came.
    let bad = forwarded(&[("cache-control", "max-age=60"), ("age", "abc")], 0);
    assert_eq!(bad.get_all("age").collect::<Vec<_>>(), ["abc"]);
}

#[test]
fn an_answer_forwarded_without_the_cache_keeps_the_origins_age() {
    let c = config();
    let route = &c.routes[0];
    let h = uncached_client_headers(&c, route, &headers(&[("age", "7200, 0")]));
    assert_eq!(h.get_all("age").collect::<Vec<_>>(), ["7200, 0"]);
    assert_eq!(
        uncached_client_headers(&c, route, &headers(&[])).get("age"),
        None
    );
}
