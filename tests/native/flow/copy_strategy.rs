//! How the cache's copy of an origin body is written (flow::copy_strategy).
use edgecache::config::BUFFERED_COPY_LIMIT;
use edgecache::flow::{copy_strategy, CopyStrategy};

#[test]
fn small_bodies_are_buffered_and_checked_against_their_length() {
    assert_eq!(
        copy_strategy(Some(1234)),
        CopyStrategy::Buffered {
            expected: Some(1234),
            limit: BUFFERED_COPY_LIMIT
        }
    );
}

#[test]
fn bodies_of_unknown_length_are_buffered_up_to_the_limit() {
    assert_eq!(
        copy_strategy(None),
        CopyStrategy::Buffered {
            expected: None,
            limit: BUFFERED_COPY_LIMIT
        }
    );
}

#[test]
fn a_body_exactly_at_the_limit_is_still_buffered() {
    assert!(matches!(
        copy_strategy(Some(BUFFERED_COPY_LIMIT)),
        CopyStrategy::Buffered { .. }
    ));
}

#[test]
fn large_bodies_stream_with_their_expected_length() {
    assert_eq!(
        copy_strategy(Some(BUFFERED_COPY_LIMIT + 1)),
        CopyStrategy::Streamed {
            expected: BUFFERED_COPY_LIMIT + 1
        }
    );
}
