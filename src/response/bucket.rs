//! What a bucket's answer means (S3's REST error responses:
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html>),
//! and which of its headers a client may see.
//!
//! Bucket internals never reach a client: `x-amz-*` / `x-goog-*` headers are
//! dropped from every answer (request ids, server-side encryption details,
//! user metadata), and an error answer is never relayed or stored: the
//! worker answers a clean status of its own, with the cause in
//! `Cache-Status` and the log line (the `<Code>` of the XML error body).
//!
//! HAZARD: S3 answers 403 AccessDenied, not 404, for a missing key when the
//! requester may not list the bucket (every private bucket read by a
//! get-only key). That 403 is the client's 404: a 403 would tell the world
//! which keys exist. A 403 that says the *signature* is wrong is the worker's
//! fault, a 502 naming the cause.

use crate::http::headers::Headers;

/// Why a bucket refused the worker's request (each answered 502).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `SignatureDoesNotMatch`: the secret access key is wrong.
    Signature,
    /// `InvalidAccessKeyId`: the access key id is unknown.
    AccessKeyId,
    /// `RequestTimeTooSkewed` (or a signature past its window): the clock
    /// is more than 15 minutes off the bucket's.
    ClockSkew,
    /// `NoSuchBucket`: the configured bucket does not exist.
    NoSuchBucket,
    /// `AuthorizationHeaderMalformed` and other 400s: e.g. a wrong region.
    BadRequest,
    /// Any other refusal (401, another 4xx).
    Other,
    /// Not the bucket's doing: a private origin's secrets are not set.
    NoCredentials,
}

impl Refusal {
    /// The `Cache-Status` detail token.
    pub fn detail(self) -> &'static str {
        match self {
            Refusal::Signature => "bucket_signature",
            Refusal::AccessKeyId => "bucket_access_key",
            Refusal::ClockSkew => "bucket_clock_skew",
            Refusal::NoSuchBucket => "bucket_missing",
            Refusal::BadRequest => "bucket_bad_request",
            Refusal::Other => "bucket_refused",
            Refusal::NoCredentials => "bucket_no_credentials",
        }
    }

    /// What an operator should do (the log line's `cause`).
    pub fn cause(self) -> &'static str {
        match self {
            Refusal::Signature => {
                "the bucket rejected the signature: the secret access key is wrong"
            }
            Refusal::AccessKeyId => "the bucket does not know the access key id",
            Refusal::ClockSkew => {
                "the request time is outside SigV4's window (15 min): the clock is skewed"
            }
            Refusal::NoSuchBucket => "the bucket does not exist (check `bucket` and `endpoint`)",
            Refusal::BadRequest => "the bucket found the request malformed (check `region`)",
            Refusal::Other => "the bucket refused the request",
            Refusal::NoCredentials => "the private bucket's access key secrets are not set",
        }
    }
}

/// A bucket answer, classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BucketAnswer {
    /// A 2xx or 304: relayed (with [`client_visible`] headers) and stored as
    /// any media answer.
    Object,
    /// No such object (404, or 403 AccessDenied): the client's 404, not stored.
    NotFound,
    /// The bucket refused the worker: 502.
    Refused(Refusal),
    /// A 5xx (`InternalError`, `SlowDown`...): 502, a stale entry may stand in.
    Failed,
}

/// Classifies `status` with the error body's `<Code>`, if it had one.
pub fn classify(status: u16, code: Option<&str>) -> BucketAnswer {
    match (status, code) {
        (200..=299 | 304, _) => BucketAnswer::Object,
        (_, Some("SignatureDoesNotMatch")) => BucketAnswer::Refused(Refusal::Signature),
        (_, Some("InvalidAccessKeyId")) => BucketAnswer::Refused(Refusal::AccessKeyId),
        (_, Some("RequestTimeTooSkewed" | "RequestExpired")) => {
            BucketAnswer::Refused(Refusal::ClockSkew)
        }
        (_, Some("NoSuchBucket")) => BucketAnswer::Refused(Refusal::NoSuchBucket),
        (404, _) | (403, Some("AccessDenied") | None) => BucketAnswer::NotFound,
        (500..=599, _) => BucketAnswer::Failed,
        (400, _) => BucketAnswer::Refused(Refusal::BadRequest),
        _ => BucketAnswer::Refused(Refusal::Other),
    }
}

/// The `<Code>` of an S3 XML error body (`<Error><Code>NoSuchKey</Code>…`);
/// `None` when there is none or it is not a plain token.
pub fn error_code(body: &str) -> Option<&str> {
    let start = body.find("<Code>")? + "<Code>".len();
    let len = body.get(start..)?.find("</Code>")?;
    let code = body.get(start..start + len)?.trim();
    let token = !code.is_empty()
        && code.len() <= 64
        && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.');
    token.then_some(code)
}

/// Whether a bucket response header may reach a client (or the cache).
fn hidden(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["x-amz-", "x-amzn-", "x-goog-"]
        .iter()
        .any(|p| n.starts_with(p))
        || n == "x-guploader-uploadid"
}

/// `headers` without the bucket's internals (`x-amz-*`, `x-amzn-*`,
/// `x-goog-*`, `x-guploader-uploadid`).
pub fn client_visible(headers: &Headers) -> Headers {
    let mut out = Headers::new();
    for (n, v) in headers.iter() {
        if !hidden(n) {
            out.append(n, v);
        }
    }
    out
}
