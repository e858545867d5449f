use crate::common;

use common::headers;
use edgecache::http::method::Method;
use edgecache::response::conditional::{evaluate, not_modified_headers, Conditional};

const LM: &str = "Sun, 06 Nov 1994 08:49:37 GMT";
const LATER: &str = "Mon, 07 Nov 1994 08:49:37 GMT";
const EARLIER: &str = "Sat, 05 Nov 1994 08:49:37 GMT";

fn stored() -> edgecache::http::headers::Headers {
    headers(&[("etag", "\"v1\""), ("last-modified", LM)])
}

fn eval(req: &[(&str, &str)]) -> Conditional {
    evaluate(&Method::Get, &headers(req), &stored())
}

#[test]
fn matching_if_none_match_is_not_modified() {
    assert_eq!(
        eval(&[("if-none-match", "\"v1\"")]),
        Conditional::NotModified
    );
}

#[test]
fn if_none_match_uses_weak_comparison() {
    assert_eq!(
        eval(&[("if-none-match", "W/\"v1\"")]),
        Conditional::NotModified
    );
}

#[test]
fn if_none_match_list_matches_any_member() {
    assert_eq!(
        eval(&[("if-none-match", "\"a\", \"v1\"")]),
        Conditional::NotModified
    );
}

#[test]
fn if_none_match_star_matches_a_stored_response() {
    assert_eq!(eval(&[("if-none-match", "*")]), Conditional::NotModified);
}

#[test]
fn non_matching_if_none_match_proceeds() {
    assert_eq!(eval(&[("if-none-match", "\"v2\"")]), Conditional::Proceed);
}

#[test]
fn etag_containing_a_comma_is_one_tag() {
    let s = headers(&[("etag", "\"a,b\"")]);
    let r = headers(&[("if-none-match", "\"a,b\"")]);
    assert_eq!(evaluate(&Method::Get, &r, &s), Conditional::NotModified);
}

#[test]
fn if_none_match_takes_precedence_over_if_modified_since() {
    let r = [("if-none-match", "\"v2\""), ("if-modified-since", LATER)];
    assert_eq!(eval(&r), Conditional::Proceed);
}

#[test]
fn malformed_if_none_match_proceeds() {
    assert_eq!(eval(&[("if-none-match", "v1")]), Conditional::Proceed);
}

#[test]
fn if_modified_since_at_or_after_last_modified_is_not_modified() {
    assert_eq!(eval(&[("if-modified-since", LM)]), Conditional::NotModified);
    assert_eq!(
        eval(&[("if-modified-since", LATER)]),
        Conditional::NotModified
    );
}

#[test]
fn if_modified_since_before_last_modified_proceeds() {
    assert_eq!(
        eval(&[("if-modified-since", EARLIER)]),
        Conditional::Proceed
    );
}

#[test]
fn invalid_if_modified_since_is_ignored() {
    assert_eq!(
        eval(&[("if-modified-since", "yesterday")]),
        Conditional::Proceed
    );
}

#[test]
fn if_modified_since_without_last_modified_proceeds() {
    let r = headers(&[("if-modified-since", LATER)]);
    assert_eq!(
        evaluate(&Method::Get, &r, &headers(&[])),
        Conditional::Proceed
    );
}

#[test]
fn conditionals_only_apply_to_get_and_head() {
    let r = headers(&[("if-none-match", "\"v1\"")]);
    assert_eq!(
        evaluate(&Method::Head, &r, &stored()),
        Conditional::NotModified
    );
    assert_eq!(evaluate(&Method::Post, &r, &stored()), Conditional::Proceed);
}

#[test]
fn not_modified_carries_only_rfc_9110_fields_plus_age_and_cache_status() {
    let s = headers(&[
        ("content-type", "application/json"),
        ("content-length", "10"),
        ("etag", "\"v1\""),
        ("cache-control", "max-age=60"),
        ("date", LM),
        ("vary", "accept"),
        ("age", "5"),
        ("cache-status", "edgecache; hit"),
        ("set-cookie", "x=y"),
    ]);
    let names: Vec<String> = not_modified_headers(&s)
        .iter()
        .map(|(n, _)| n.to_string())
        .collect();
    assert_eq!(
        names,
        [
            "etag",
            "cache-control",
            "date",
            "vary",
            "age",
            "cache-status"
        ]
    );
}
