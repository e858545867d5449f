//! `http::time`: instants subtract to plain durations, saturating, and render
//! as the bare number (stored formats and receipts depend on it).

use edgecache::http::time::{UnixMillis, UnixSecs};

#[test]
fn elapsed_time_is_zero_when_the_clock_reads_earlier() {
    assert_eq!(UnixSecs(1060).saturating_sub(UnixSecs(1000)), 60);
    assert_eq!(UnixSecs(1000).saturating_sub(UnixSecs(1060)), 0);
    assert_eq!(UnixMillis(5).saturating_sub(UnixMillis(7)), 0);
}

#[test]
fn adding_a_duration_saturates() {
    assert_eq!(UnixSecs(10).saturating_add(5), UnixSecs(15));
    assert_eq!(UnixSecs(u64::MAX).saturating_add(1), UnixSecs(u64::MAX));
    assert_eq!(
        UnixMillis(u64::MAX - 1).saturating_add(9),
        UnixMillis(u64::MAX)
    );
}

#[test]
fn millis_round_down_to_the_second_they_fall_in() {
    assert_eq!(
        UnixMillis(1_700_000_000_999).to_secs(),
        UnixSecs(1_700_000_000)
    );
    assert_eq!(
        UnixSecs(1_700_000_000).to_millis(),
        UnixMillis(1_700_000_000_000)
    );
    assert_eq!(UnixSecs(u64::MAX).to_millis(), UnixMillis(u64::MAX));
}

#[test]
fn instants_render_and_serialize_as_bare_numbers() {
    assert_eq!(UnixSecs(1_700_000_000).to_string(), "1700000000");
    assert_eq!(UnixMillis(42).to_string(), "42");
    assert_eq!(
        serde_json::to_string(&UnixSecs(1_700_000_000)).unwrap(),
        "1700000000"
    );
    assert_eq!(
        serde_json::from_str::<UnixMillis>("42").unwrap(),
        UnixMillis(42)
    );
}
