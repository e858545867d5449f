//! A bucket read's answer, classified (`response::bucket::classify`): an
//! object (2xx, or a 304 to a conditional read) goes on with the bucket's
//! internal fields removed; anything else becomes `FetchError::Bucket`, with
//! the cause for the log (never a credential: only the error body's `<Code>`
//! is read from it).

use super::bucket::BucketTarget;
use super::fetched::FetchError;
use super::platform::{Answer, Fetch, Platform};
use crate::response::bucket::{classify, client_visible, error_code, BucketAnswer};

/// Largest error body read for its `<Code>` (S3's are a few hundred bytes).
pub const ERROR_BODY_LIMIT: usize = 16 * 1024;

/// The name a bucket read is logged under: the origin's (`s3`) or its
/// binding's (`r2`).
pub fn bucket_name<'a>(target: &'a BucketTarget<'_>) -> &'a str {
    match target {
        BucketTarget::S3 { origin, .. } => origin.name.as_str(),
        BucketTarget::R2 { origin, .. } => origin.binding.as_str(),
    }
}

/// `fetch` (a bucket's raw answer) as the sequence reads it: an object, or
/// the failure its status and error `<Code>` mean.
pub async fn classified<P: Platform>(
    platform: &P,
    fetch: Fetch<P::Body>,
    name: &str,
) -> Fetch<P::Body> {
    let Fetch::Answered(a) = fetch else {
        return fetch;
    };
    let status = a.status;
    if (200..300).contains(&status) || status == 304 {
        return Fetch::Answered(Answer {
            headers: client_visible(&a.headers),
            ..a
        });
    }
    let body = platform.read_upto(a.body, ERROR_BODY_LIMIT).await;
    let text = body.map(|b| String::from_utf8_lossy(&b).into_owned());
    let code = text.as_deref().and_then(error_code);
    let answer = classify(status, code);
    let why = match answer {
        BucketAnswer::Refused(r) => r.cause(),
        BucketAnswer::NotFound => "no such object",
        _ => "the bucket answered with an error",
    };
    Fetch::Failed {
        error: FetchError::Bucket(answer),
        why: format!("bucket `{name}`: {status} {}: {why}", code.unwrap_or("-")),
    }
}
