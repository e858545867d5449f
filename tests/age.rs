//! The age of an origin answer on arrival (RFC 9111 §4.2.3, §5.1).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure is a panic
mod common;

use common::headers;
use edgecache::http::date;
use edgecache::http::time::UnixSecs;
use edgecache::response::age::{age_value, corrected_initial_age};

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
