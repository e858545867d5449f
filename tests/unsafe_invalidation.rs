//! What a pass-through decides once the origin answered: an unsafe method's
//! success invalidates its URL (RFC 9111 §4.4), nothing else does.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure is a panic

use edgecache::flow::plan::{has_body, invalidation};
use edgecache::http::headers::Headers;
use edgecache::purge::generations::GenName;
use edgecache::purge::webhook::generation_ttl;

const BASE: &str = "https://api.example.com/api/courses/7/";

#[test]
fn a_success_invalidates_the_url_generation_for_as_long_as_entries_live() {
    for status in [200, 201, 204, 299] {
        let inv = invalidation(Some(BASE.to_string()), status).expect("invalidates");
        assert_eq!(inv.base_url, BASE);
        assert_eq!(inv.names, vec![GenName::url(BASE)]);
        assert_eq!(inv.kv_ttl, generation_ttl());
    }
}

#[test]
fn errors_and_redirects_invalidate_nothing() {
    for status in [100, 301, 304, 400, 404, 409, 500, 503] {
        assert_eq!(
            invalidation(Some(BASE.to_string()), status),
            None,
            "{status}"
        );
    }
}

#[test]
fn a_pass_that_named_no_url_invalidates_nothing() {
    assert_eq!(invalidation(None, 200), None);
}

#[test]
fn a_body_is_a_nonzero_length_or_a_transfer_coding() {
    let h = |pairs: &[(&str, &str)]| {
        let mut h = Headers::new();
        for (n, v) in pairs {
            h.append(n, v);
        }
        h
    };
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
