use crate::common;

use common::headers;
use edgecache::http::method::Method;
use edgecache::response::range::{evaluate, parse_range, RangeOutcome};
use proptest::prelude::*;

fn partial(start: u64, end: u64, total: u64) -> RangeOutcome {
    RangeOutcome::Partial { start, end, total }
}

#[test]
fn serves_closed_range() {
    assert_eq!(parse_range("bytes=0-99", 1000), partial(0, 99, 1000));
}

#[test]
fn serves_open_ended_range() {
    assert_eq!(parse_range("bytes=900-", 1000), partial(900, 999, 1000));
}

#[test]
fn serves_suffix_range() {
    assert_eq!(parse_range("bytes=-100", 1000), partial(900, 999, 1000));
}

#[test]
fn suffix_longer_than_representation_is_whole() {
    assert_eq!(parse_range("bytes=-5000", 1000), partial(0, 999, 1000));
}

#[test]
fn end_past_length_is_clamped() {
    assert_eq!(parse_range("bytes=10-5000", 1000), partial(10, 999, 1000));
}

#[test]
fn start_past_length_is_unsatisfiable() {
    assert_eq!(
        parse_range("bytes=1000-", 1000),
        RangeOutcome::Unsatisfiable { total: 1000 }
    );
}

#[test]
fn zero_suffix_is_unsatisfiable() {
    assert_eq!(
        parse_range("bytes=-0", 1000),
        RangeOutcome::Unsatisfiable { total: 1000 }
    );
}

#[test]
fn unit_is_case_insensitive() {
    assert_eq!(parse_range("Bytes=0-0", 10), partial(0, 0, 10));
}

#[test]
fn ignores_other_units_multiple_ranges_and_garbage() {
    for v in [
        "items=0-1",
        "bytes=0-1,5-6",
        "bytes=5-1",
        "bytes=a-b",
        "bytes=",
        "bytes",
        "=0-1",
        "bytes=--1",
        "bytes=+1-2",
    ] {
        assert_eq!(parse_range(v, 1000), RangeOutcome::Full, "{v:?}");
    }
}

#[test]
fn huge_numbers_do_not_overflow() {
    let big = "99999999999999999999999999";
    assert_eq!(
        parse_range(&format!("bytes=0-{big}"), 10),
        partial(0, 9, 10)
    );
    assert_eq!(
        parse_range(&format!("bytes={big}-"), 10),
        RangeOutcome::Unsatisfiable { total: 10 }
    );
    assert_eq!(parse_range(&format!("bytes=-{big}"), 10), partial(0, 9, 10));
}

#[test]
fn formats_content_range() {
    assert_eq!(
        partial(0, 99, 1000).content_range().as_deref(),
        Some("bytes 0-99/1000")
    );
    assert_eq!(
        RangeOutcome::Unsatisfiable { total: 1000 }
            .content_range()
            .as_deref(),
        Some("bytes */1000")
    );
    assert_eq!(RangeOutcome::Full.content_range(), None);
}

#[test]
fn range_applies_only_to_get() {
    let r = headers(&[("range", "bytes=0-1")]);
    assert_eq!(
        evaluate(&Method::Head, &r, &headers(&[]), 10),
        RangeOutcome::Full
    );
}

#[test]
fn if_range_with_strongly_matching_etag_serves_partial() {
    let r = headers(&[("range", "bytes=0-1"), ("if-range", "\"v1\"")]);
    let s = headers(&[("etag", "\"v1\"")]);
    assert_eq!(evaluate(&Method::Get, &r, &s, 10), partial(0, 1, 10));
}

#[test]
fn if_range_with_weak_etag_serves_full() {
    let r = headers(&[("range", "bytes=0-1"), ("if-range", "W/\"v1\"")]);
    let s = headers(&[("etag", "W/\"v1\"")]);
    assert_eq!(evaluate(&Method::Get, &r, &s, 10), RangeOutcome::Full);
}

#[test]
fn if_range_with_other_etag_serves_full() {
    let r = headers(&[("range", "bytes=0-1"), ("if-range", "\"v2\"")]);
    let s = headers(&[("etag", "\"v1\"")]);
    assert_eq!(evaluate(&Method::Get, &r, &s, 10), RangeOutcome::Full);
}

#[test]
fn if_range_with_exact_last_modified_serves_partial() {
    let lm = "Sun, 06 Nov 1994 08:49:37 GMT";
    let r = headers(&[("range", "bytes=0-1"), ("if-range", lm)]);
    let s = headers(&[("last-modified", lm)]);
    assert_eq!(evaluate(&Method::Get, &r, &s, 10), partial(0, 1, 10));
}

#[test]
fn if_range_with_different_date_serves_full() {
    let r = headers(&[
        ("range", "bytes=0-1"),
        ("if-range", "Mon, 07 Nov 1994 08:49:37 GMT"),
    ]);
    let s = headers(&[("last-modified", "Sun, 06 Nov 1994 08:49:37 GMT")]);
    assert_eq!(evaluate(&Method::Get, &r, &s, 10), RangeOutcome::Full);
}

proptest! {
    #[test]
    fn never_panics_and_partial_is_within_bounds(s in "\\PC*", total in 0u64..10_000) {
        if let RangeOutcome::Partial { start, end, total: t } = parse_range(&s, total) {
            prop_assert!(start <= end && end < t);
        }
    }

    #[test]
    fn structured_ranges_stay_within_bounds(a in 0u64..2000, b in 0u64..2000, total in 0u64..1500) {
        for v in [format!("bytes={a}-{b}"), format!("bytes={a}-"), format!("bytes=-{b}")] {
            if let RangeOutcome::Partial { start, end, total: t } = parse_range(&v, total) {
                prop_assert!(start <= end && end < t && t == total);
            }
        }
    }
}
