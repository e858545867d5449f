use crate::common;

use common::{headers, limits};
use edgecache::request::forward::{forwarded_headers, POISONING_HEADERS};
use edgecache::request::limits::{check_limits, LimitViolation};
use edgecache::response::media_type::{media_type_agrees, TypeCheck};

fn allow(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[test]
fn forwards_only_allow_listed_headers() {
    let h = headers(&[
        ("Accept-Language", "fr"),
        ("User-Agent", "x"),
        ("cookie", "a=b"),
    ]);
    let out = forwarded_headers(&h, &allow(&["accept-language"]));
    assert_eq!(out, headers(&[("accept-language", "fr")]));
}

#[test]
fn allow_list_is_case_insensitive() {
    let h = headers(&[("accept", "text/html")]);
    assert_eq!(forwarded_headers(&h, &allow(&["Accept"])).len(), 1);
}

#[test]
fn never_forwards_poisoning_headers_even_if_allow_listed() {
    let pairs: Vec<(&str, &str)> = POISONING_HEADERS.iter().map(|n| (*n, "evil")).collect();
    let out = forwarded_headers(&headers(&pairs), &allow(POISONING_HEADERS));
    assert!(out.is_empty());
}

#[test]
fn never_forwards_hop_by_hop_headers_even_if_allow_listed() {
    let h = headers(&[
        ("connection", "close"),
        ("te", "trailers"),
        ("upgrade", "h2c"),
        ("keep-alive", "5"),
    ]);
    let out = forwarded_headers(&h, &allow(&["connection", "te", "upgrade", "keep-alive"]));
    assert!(out.is_empty());
}

#[test]
fn never_forwards_headers_nominated_by_connection() {
    let h = headers(&[("connection", "X-Secret"), ("x-secret", "1")]);
    assert!(forwarded_headers(&h, &allow(&["x-secret"])).is_empty());
}

#[test]
fn accepts_request_within_limits() {
    assert_eq!(
        check_limits(100, 3, &headers(&[("a", "b")]), &limits()),
        Ok(())
    );
}

#[test]
fn rejects_long_uri_with_414() {
    let e = check_limits(5000, 0, &headers(&[]), &limits()).unwrap_err();
    assert_eq!(
        e,
        LimitViolation::UriTooLong {
            len: 5000,
            max: 2048
        }
    );
    assert_eq!(e.status(), 414);
}

#[test]
fn rejects_too_many_params_with_400() {
    let e = check_limits(10, 11, &headers(&[]), &limits()).unwrap_err();
    assert_eq!(e.status(), 400);
    assert_eq!(e.message(), "too many query parameters");
}

#[test]
fn rejects_too_many_headers_with_431() {
    let h = headers(&[
        ("a", "1"),
        ("b", "1"),
        ("c", "1"),
        ("d", "1"),
        ("e", "1"),
        ("f", "1"),
    ]);
    let e = check_limits(10, 0, &h, &limits()).unwrap_err();
    assert_eq!(e, LimitViolation::TooManyHeaders { count: 6, max: 5 });
    assert_eq!(e.status(), 431);
}

#[test]
fn rejects_oversized_headers_with_431() {
    let big = "x".repeat(300);
    let e = check_limits(10, 0, &headers(&[("a", &big)]), &limits()).unwrap_err();
    assert_eq!(
        e,
        LimitViolation::HeadersTooLarge {
            bytes: 305,
            max: 200
        }
    );
    assert_eq!(e.status(), 431);
}

#[test]
fn media_type_agrees_with_extension() {
    assert_eq!(
        media_type_agrees("/media/a.PNG", Some("image/png")),
        TypeCheck::Agrees
    );
    assert_eq!(
        media_type_agrees("/m/app.js", Some("application/javascript")),
        TypeCheck::Agrees
    );
    assert_eq!(
        media_type_agrees("/m/i.svg", Some("image/svg+xml")),
        TypeCheck::Agrees
    );
}

#[test]
fn media_type_ignores_parameters_and_case() {
    assert_eq!(
        media_type_agrees("/m/a.css", Some("Text/CSS; charset=utf-8")),
        TypeCheck::Agrees
    );
}

#[test]
fn html_under_image_extension_is_a_mismatch() {
    assert_eq!(
        media_type_agrees("/account.php/x.css", Some("text/html")),
        TypeCheck::Mismatch {
            ext: "css".into(),
            content_type: Some("text/html".into())
        }
    );
}

#[test]
fn missing_content_type_is_a_mismatch() {
    assert_eq!(
        media_type_agrees("/a.png", None),
        TypeCheck::Mismatch {
            ext: "png".into(),
            content_type: None
        }
    );
}

#[test]
fn path_without_extension_reports_no_extension() {
    assert_eq!(
        media_type_agrees("/media/file", Some("image/png")),
        TypeCheck::NoExtension
    );
    assert_eq!(
        media_type_agrees("/media/v1.2/", Some("image/png")),
        TypeCheck::NoExtension
    );
    assert_eq!(
        media_type_agrees("/media/file.", Some("image/png")),
        TypeCheck::NoExtension
    );
}

#[test]
fn html_and_tricky_extensions_are_unknown() {
    assert_eq!(
        media_type_agrees("/a.html", Some("text/html")),
        TypeCheck::UnknownExtension { ext: "html".into() }
    );
    assert_eq!(
        media_type_agrees("/a.png;x=1", Some("image/png")),
        TypeCheck::UnknownExtension {
            ext: "png;x=1".into()
        }
    );
}
