use crate::common;

use common::{api_route, headers, media_route};
use edgecache::http::method::Method;
use edgecache::response::delivery::{deliver, ranged_length, BodyPart};

fn png(extra: &[(&str, &str)]) -> edgecache::http::headers::Headers {
    let mut h = headers(&[("content-type", "image/png"), ("content-length", "1000")]);
    for (n, v) in extra {
        h.append(n, v);
    }
    h
}

#[test]
fn media_range_is_cut_from_the_whole() {
    let d = deliver(
        &media_route(),
        &Method::Get,
        &headers(&[("range", "bytes=10-19")]),
        200,
        png(&[]),
    );
    assert_eq!(d.status, 206);
    assert_eq!(d.body, BodyPart::Range { start: 10, end: 19 });
    assert_eq!(d.headers.get("content-range"), Some("bytes 10-19/1000"));
    assert_eq!(
        d.headers.get_all("content-length").collect::<Vec<_>>(),
        ["10"]
    );
}

#[test]
fn unsatisfiable_range_is_416_without_body() {
    let d = deliver(
        &media_route(),
        &Method::Get,
        &headers(&[("range", "bytes=1000-")]),
        200,
        png(&[]),
    );
    assert_eq!(d.status, 416);
    assert_eq!(d.body, BodyPart::Empty);
    assert_eq!(d.headers.get("content-range"), Some("bytes */1000"));
    assert!(!d.headers.contains("content-length"));
}

#[test]
fn no_range_is_whole_with_accept_ranges() {
    let d = deliver(&media_route(), &Method::Get, &headers(&[]), 200, png(&[]));
    assert_eq!((d.status, d.body), (200, BodyPart::Whole));
    assert_eq!(d.headers.get("accept-ranges"), Some("bytes"));
}

#[test]
fn api_routes_ignore_range() {
    let d = deliver(
        &api_route(),
        &Method::Get,
        &headers(&[("range", "bytes=0-1")]),
        200,
        png(&[]),
    );
    assert_eq!((d.status, d.body), (200, BodyPart::Whole));
    assert!(!d.headers.contains("accept-ranges"));
}

#[test]
fn head_never_has_a_body_and_ignores_range() {
    let d = deliver(
        &media_route(),
        &Method::Head,
        &headers(&[("range", "bytes=0-1")]),
        200,
        png(&[]),
    );
    assert_eq!((d.status, d.body), (200, BodyPart::Empty));
}

#[test]
fn matching_validator_is_304_before_range() {
    let req = headers(&[("if-none-match", "\"a\""), ("range", "bytes=0-1")]);
    let d = deliver(
        &media_route(),
        &Method::Get,
        &req,
        200,
        png(&[("etag", "\"a\"")]),
    );
    assert_eq!((d.status, d.body), (304, BodyPart::Empty));
    assert_eq!(d.headers.get("etag"), Some("\"a\""));
    assert!(!d.headers.contains("content-type"));
}

#[test]
fn validators_never_turn_an_error_into_304() {
    let req = headers(&[("if-none-match", "*")]);
    let d = deliver(
        &api_route(),
        &Method::Get,
        &req,
        404,
        png(&[("etag", "\"a\"")]),
    );
    assert_eq!((d.status, d.body), (404, BodyPart::Whole));
}

#[test]
fn ranges_need_an_exact_identity_length() {
    let r = media_route();
    assert_eq!(ranged_length(&r, 200, &png(&[])), Some(1000));
    assert_eq!(ranged_length(&r, 404, &png(&[])), None);
    assert_eq!(
        ranged_length(&r, 200, &png(&[("content-encoding", "gzip")])),
        None
    );
    assert_eq!(
        ranged_length(&r, 200, &png(&[("content-length", "1000")])),
        None
    );
    assert_eq!(
        ranged_length(&r, 200, &headers(&[("content-length", "+5")])),
        None
    );
    assert_eq!(ranged_length(&r, 200, &headers(&[])), None);
}

#[test]
fn a_stored_204_or_205_is_delivered_without_a_body() {
    for status in [204, 205] {
        let d = deliver(
            &api_route(),
            &Method::Get,
            &headers(&[]),
            status,
            headers(&[]),
        );
        assert_eq!(d.status, status);
        assert_eq!(d.body, BodyPart::Empty, "{status}");
    }
    let d = deliver(&api_route(), &Method::Get, &headers(&[]), 200, headers(&[]));
    assert_eq!(d.body, BodyPart::Whole);
}
