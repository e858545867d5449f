#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure is a panic
use edgecache::http::cache_status::{CacheStatus, Fwd};
use edgecache::response::store::NotStoredReason;

#[test]
fn hit_with_ttl() {
    assert_eq!(
        CacheStatus::hit().ttl(120).to_string(),
        "edgecache; hit; ttl=120"
    );
}

#[test]
fn miss_that_was_stored() {
    let s = CacheStatus::forward(Fwd::Miss).stored().ttl(900);
    assert_eq!(s.to_string(), "edgecache; fwd=miss; stored; ttl=900");
}

#[test]
fn stale_forward_with_origin_status() {
    let s = CacheStatus::forward(Fwd::Stale)
        .fwd_status(200)
        .stored()
        .ttl(60);
    assert_eq!(
        s.to_string(),
        "edgecache; fwd=stale; fwd-status=200; stored; ttl=60"
    );
}

#[test]
fn bypass_with_detail_token() {
    let s = CacheStatus::forward(Fwd::Bypass).detail("credentials");
    assert_eq!(s.to_string(), "edgecache; fwd=bypass; detail=credentials");
}

#[test]
fn not_stored_reason_renders_as_detail_token() {
    let s = CacheStatus::forward(Fwd::Miss)
        .fwd_status(200)
        .detail(NotStoredReason::SetCookie.as_str());
    assert_eq!(
        s.to_string(),
        "edgecache; fwd=miss; fwd-status=200; detail=set_cookie"
    );
}

#[test]
fn uri_miss_and_method() {
    assert_eq!(
        CacheStatus::forward(Fwd::UriMiss).to_string(),
        "edgecache; fwd=uri-miss"
    );
    assert_eq!(
        CacheStatus::forward(Fwd::Method).to_string(),
        "edgecache; fwd=method"
    );
}

#[test]
fn hit_with_fwd_status_and_negative_ttl() {
    let s = CacheStatus::hit().fwd_status(503).ttl(-30);
    assert_eq!(s.to_string(), "edgecache; hit; fwd-status=503; ttl=-30");
}

#[test]
fn collapsed_flag() {
    let s = CacheStatus::forward(Fwd::Miss).collapsed();
    assert_eq!(s.to_string(), "edgecache; fwd=miss; collapsed");
}

#[test]
fn key_is_a_quoted_escaped_string_when_given() {
    let s = CacheStatus::hit().key(Some("GET /a?q=\"x\"\\"));
    assert_eq!(s.to_string(), r#"edgecache; hit; key="GET /a?q=\"x\"\\""#);
}

#[test]
fn key_is_omitted_when_none() {
    assert_eq!(CacheStatus::hit().key(None).to_string(), "edgecache; hit");
}

#[test]
fn detail_that_is_not_a_token_is_quoted() {
    let s = CacheStatus::forward(Fwd::Bypass).detail("two words");
    assert_eq!(s.to_string(), "edgecache; fwd=bypass; detail=\"two words\"");
}

#[test]
fn non_ascii_is_dropped_from_strings() {
    let s = CacheStatus::hit().key(Some("caf\u{e9}\n"));
    assert_eq!(s.to_string(), "edgecache; hit; key=\"caf\"");
}
