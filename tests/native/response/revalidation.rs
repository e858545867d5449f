//! `response::revalidation`: which validator a conditional request to the
//! origin carries, whether a 304 answers for the stored response, and the
//! stored fields after it (RFC 9111 §3.2, §4.3).

use edgecache::http::headers::Headers;
use edgecache::response::revalidation::{
    merge_not_modified, not_modified_matches, validator, Validator,
};

fn h(pairs: &[(&str, &str)]) -> Headers {
    pairs.iter().copied().collect()
}

const LM: &str = "Tue, 01 Sep 2026 10:00:00 GMT";

#[test]
fn sends_the_etag_as_if_none_match() {
    let v = validator(&h(&[("etag", "\"abc\""), ("last-modified", LM)])).unwrap();
    assert_eq!(v, Validator::ETag("\"abc\"".into()));
    assert_eq!(v.header(), ("if-none-match", "\"abc\""));
}

#[test]
fn sends_a_weak_etag_as_it_is() {
    let v = validator(&h(&[("etag", "W/\"abc\"")])).unwrap();
    assert_eq!(v.header(), ("if-none-match", "W/\"abc\""));
}

#[test]
fn sends_last_modified_as_if_modified_since_without_an_etag() {
    let v = validator(&h(&[("last-modified", LM)])).unwrap();
    assert_eq!(v.header(), ("if-modified-since", LM));
}

#[test]
fn falls_back_to_last_modified_when_the_etag_is_malformed() {
    let v = validator(&h(&[("etag", "abc"), ("last-modified", LM)])).unwrap();
    assert_eq!(v, Validator::LastModified(LM.into()));
}

#[test]
fn no_validator_without_a_usable_field() {
    assert_eq!(validator(&h(&[("content-type", "text/plain")])), None);
    assert_eq!(validator(&h(&[("last-modified", "yesterday")])), None);
    // Two ETags: which one the body has is unknown.
    assert_eq!(validator(&h(&[("etag", "\"a\""), ("etag", "\"b\"")])), None);
}

#[test]
fn a_304_with_the_same_etag_matches_weakly() {
    let stored = h(&[("etag", "\"abc\"")]);
    assert!(not_modified_matches(&stored, &h(&[("etag", "\"abc\"")])));
    assert!(not_modified_matches(&stored, &h(&[("etag", "W/\"abc\"")])));
}

#[test]
fn a_304_with_another_etag_does_not_match() {
    let stored = h(&[("etag", "\"abc\"")]);
    assert!(!not_modified_matches(&stored, &h(&[("etag", "\"xyz\"")])));
    // An ETag the stored response never had.
    assert!(!not_modified_matches(
        &h(&[("last-modified", LM)]),
        &h(&[("etag", "\"abc\"")])
    ));
}

#[test]
fn a_304_without_an_etag_matches_on_last_modified_or_no_validator() {
    let stored = h(&[("last-modified", LM)]);
    assert!(not_modified_matches(&stored, &h(&[("last-modified", LM)])));
    assert!(!not_modified_matches(
        &stored,
        &h(&[("last-modified", "Wed, 02 Sep 2026 10:00:00 GMT")])
    ));
    assert!(not_modified_matches(&stored, &h(&[("date", LM)])));
}

#[test]
fn a_304_replaces_freshness_and_validators() {
    let stored = h(&[
        ("content-type", "application/json"),
        ("content-length", "1234"),
        ("cache-control", "max-age=60"),
        ("date", "Tue, 01 Sep 2026 10:00:00 GMT"),
        ("etag", "\"abc\""),
        ("x-custom", "old"),
        ("x-custom", "old2"),
    ]);
    let nm = h(&[
        ("cache-control", "max-age=300"),
        ("date", "Tue, 01 Sep 2026 11:00:00 GMT"),
        ("etag", "\"abc\""),
        ("expires", "Tue, 01 Sep 2026 11:05:00 GMT"),
        ("x-custom", "new"),
    ]);
    let out = merge_not_modified(&stored, &nm, "x-edgecache-");
    assert_eq!(out.get("cache-control"), Some("max-age=300"));
    assert_eq!(out.get("date"), Some("Tue, 01 Sep 2026 11:00:00 GMT"));
    assert_eq!(out.get("expires"), Some("Tue, 01 Sep 2026 11:05:00 GMT"));
    assert_eq!(out.get_all("x-custom").collect::<Vec<_>>(), vec!["new"]);
    assert_eq!(out.get("content-type"), Some("application/json"));
    assert_eq!(out.get("content-length"), Some("1234"));
}

#[test]
fn a_304_never_replaces_what_describes_the_stored_body_or_hop_fields() {
    let stored = h(&[
        ("content-type", "application/json"),
        ("content-length", "1234"),
        ("content-encoding", "gzip"),
    ]);
    let nm = h(&[
        ("content-length", "0"),
        ("content-type", "text/html"),
        ("content-encoding", "br"),
        ("content-range", "bytes 0-1/2"),
        ("transfer-encoding", "chunked"),
        ("connection", "close, x-hop"),
        ("x-hop", "1"),
        ("keep-alive", "timeout=5"),
        ("set-cookie", "a=b"),
        ("x-edgecache-meta", "forged"),
    ]);
    let out = merge_not_modified(&stored, &nm, "x-edgecache-");
    assert_eq!(out, stored);
}
