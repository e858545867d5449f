//! The webhook's size limit, before any HMAC work: a declared length over it,
//! or a body (sent without one) that the glue cut at `BODY_READ_LIMIT`.

use edgecache::http::headers::Headers;
use edgecache::http::method::Method;
use edgecache::http::time::UnixSecs;
use edgecache::purge::body::MAX_BODY_BYTES;
use edgecache::purge::webhook::{authenticate, precheck, WebhookError, BODY_READ_LIMIT};

#[test]
fn the_glue_reads_one_byte_past_the_limit() {
    assert_eq!(BODY_READ_LIMIT, MAX_BODY_BYTES + 1);
}

#[test]
fn a_declared_length_over_the_limit_is_refused_with_its_size() {
    let e = precheck(&Method::Post, Some(MAX_BODY_BYTES + 1)).unwrap_err();
    assert_eq!(e.status(), 413);
    assert_eq!(
        e.message(),
        format!(
            "body of {} bytes is over the {MAX_BODY_BYTES}-byte limit",
            MAX_BODY_BYTES + 1
        )
    );
}

/// The refusal of an unsigned POST of `len` bytes sent without a length.
fn refusal(len: usize) -> WebhookError {
    let body = vec![b'a'; len];
    authenticate(
        &Method::Post,
        None,
        &Headers::new(),
        &body,
        &[],
        UnixSecs(0),
        300,
    )
    .unwrap_err()
}

#[test]
fn a_body_without_a_length_cut_at_the_read_limit_is_refused_without_a_size() {
    let e = refusal(BODY_READ_LIMIT);
    assert!(
        matches!(e, WebhookError::TooLarge { declared: None }),
        "{e:?}"
    );
    assert_eq!(e.status(), 413);
    assert_eq!(
        e.message(),
        format!("body is over the {MAX_BODY_BYTES}-byte limit")
    );
}

#[test]
fn a_body_at_the_limit_goes_on_to_the_signature_check() {
    let e = refusal(MAX_BODY_BYTES);
    assert!(matches!(e, WebhookError::Signature(_)), "{e:?}");
}

#[test]
fn a_webhook_without_a_secret_is_a_503_to_retry() {
    use edgecache::purge::signature::VerifyError;
    let e = WebhookError::Signature(VerifyError::NoSecrets);
    assert_eq!(e.status(), 503);
    assert_eq!(e.retry_after(), Some(1));
    assert_eq!(refusal(MAX_BODY_BYTES + 1).retry_after(), None);
    assert_eq!(
        WebhookError::Signature(VerifyError::NoValidSignature).retry_after(),
        None
    );
}
