//! `Cache-Status` (RFC 9211) rendering, and the detail tokens.

use edgecache::http::cache_status::{CacheStatus, Detail, Fwd};
use edgecache::request::key::BypassReason;
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
    let s = CacheStatus::forward(Fwd::Bypass).detail(BypassReason::Credentials.into());
    assert_eq!(s.to_string(), "edgecache; fwd=bypass; detail=credentials");
}

#[test]
fn not_stored_reason_renders_as_detail_token() {
    let s = CacheStatus::forward(Fwd::Miss)
        .fwd_status(200)
        .detail(Detail::from(&NotStoredReason::SetCookie));
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
    let s = CacheStatus::forward(Fwd::Bypass).detail(Detail::Reason("two words"));
    assert_eq!(s.to_string(), "edgecache; fwd=bypass; detail=\"two words\"");
}

#[test]
fn non_ascii_is_dropped_from_strings() {
    let s = CacheStatus::hit().key(Some("caf\u{e9}\n"));
    assert_eq!(s.to_string(), "edgecache; hit; key=\"caf\"");
}

#[test]
fn own_detail_renders_as_its_token() {
    let s = CacheStatus::forward(Fwd::Miss).detail(Detail::OriginTimeout);
    assert_eq!(s.to_string(), "edgecache; fwd=miss; detail=origin_timeout");
}

#[test]
fn a_later_detail_replaces_an_earlier_one() {
    let s = CacheStatus::hit()
        .detail(Detail::StaleWhileRevalidate)
        .detail(Detail::Memory);
    assert_eq!(s.to_string(), "edgecache; hit; detail=memory");
}

/// Every variant but `Reason`. `_exhaustive` stops compiling when a variant is
/// added: add it here too.
const OWN: [Detail; 24] = [
    Detail::Limits,
    Detail::BadRequest,
    Detail::NoRoute,
    Detail::RequestBody,
    Detail::Purged,
    Detail::Expired,
    Detail::StaleWhileRevalidate,
    Detail::Memory,
    Detail::Collapsed,
    Detail::UnreadableEntry,
    Detail::GenerationsUnavailable,
    Detail::FastPathUnreachable,
    Detail::FastPathGap,
    Detail::OriginError,
    Detail::OriginUnreachable,
    Detail::OriginTimeout,
    Detail::OriginInvalid,
    Detail::SoftPurged,
    Detail::TooLarge,
    Detail::TooManyTags,
    Detail::ConfigInvalid,
    Detail::ReservedPath,
    Detail::Explain,
    Detail::Purge,
];

fn _exhaustive(d: Detail) {
    match d {
        Detail::Limits
        | Detail::BadRequest
        | Detail::NoRoute
        | Detail::RequestBody
        | Detail::Purged
        | Detail::Expired
        | Detail::StaleWhileRevalidate
        | Detail::Memory
        | Detail::Collapsed
        | Detail::UnreadableEntry
        | Detail::GenerationsUnavailable
        | Detail::FastPathUnreachable
        | Detail::FastPathGap
        | Detail::OriginError
        | Detail::OriginUnreachable
        | Detail::OriginTimeout
        | Detail::OriginInvalid
        | Detail::SoftPurged
        | Detail::TooLarge
        | Detail::TooManyTags
        | Detail::ConfigInvalid
        | Detail::ReservedPath
        | Detail::Explain
        | Detail::Purge
        | Detail::Reason(_) => {}
    }
}

/// Every `NotStoredReason` (the payload of `VaryUndeclared` is not in the token).
fn not_stored_reasons() -> Vec<NotStoredReason> {
    use NotStoredReason as R;
    vec![
        R::MethodNotCacheable,
        R::RequestHasBody,
        R::StatusNotStorable(503),
        R::PartialContent,
        R::NoStore,
        R::Private,
        R::NoCache,
        R::MustRevalidate,
        R::SetCookie,
        R::VaryStar,
        R::VaryUndeclared("x-a".into()),
        R::CredentialsWithoutPublic,
        R::MediaTypeMismatch,
        R::ZeroTtl,
        R::RequestNoStore,
    ]
}

const BYPASS_REASONS: [BypassReason; 7] = [
    BypassReason::Method,
    BypassReason::Credentials,
    BypassReason::SuspiciousPath,
    BypassReason::UrlTooLong,
    BypassReason::TooManyParams,
    BypassReason::TooManyHeaders,
    BypassReason::HeadersTooLarge,
];

/// Every detail the worker can send: its own and the reasons of the layers above.
fn every_detail() -> Vec<Detail> {
    let mut all = OWN.to_vec();
    all.extend(not_stored_reasons().iter().map(Detail::from));
    all.extend(BYPASS_REASONS.into_iter().map(Detail::from));
    all.extend(edgecache::flow::client_cc::DETAILS);
    all
}

/// sf-token (RFC 8941 §3.3.4): `( ALPHA / "*" ) *( tchar / ":" / "/" )`,
/// tchar from RFC 9110 §5.6.2. Written out here, not taken from the crate.
fn is_sf_token(s: &str) -> bool {
    let tchar = |c: u8| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c);
    let mut b = s.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_alphabetic() || c == b'*')
        && b.all(|c| tchar(c) || c == b':' || c == b'/')
}

#[test]
fn every_detail_is_an_sf_token_rendered_bare() {
    for d in every_detail() {
        let token = d.as_str();
        assert!(is_sf_token(token), "{token:?} is not an sf-token");
        let rendered = CacheStatus::hit().detail(d).to_string();
        assert_eq!(rendered, format!("edgecache; hit; detail={token}"));
    }
}

#[test]
fn every_detail_token_is_distinct() {
    let all = every_detail();
    let mut tokens: Vec<&str> = all.iter().map(Detail::as_str).collect();
    tokens.sort_unstable();
    let before = tokens.len();
    tokens.dedup();
    assert_eq!(tokens.len(), before, "a token is used twice: {tokens:?}");
}

#[test]
fn reasons_of_higher_layers_keep_their_tokens() {
    for r in not_stored_reasons() {
        assert_eq!(Detail::from(&r).as_str(), r.as_str());
    }
    for r in BYPASS_REASONS {
        assert_eq!(Detail::from(r).as_str(), r.as_str());
    }
}
