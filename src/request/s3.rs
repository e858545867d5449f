//! The GET a miss sends an `s3` origin: URL (path- or virtual-host style),
//! the validators of a revalidation, and for a private bucket the SigV4
//! headers (`request::sigv4`). Nothing else of the client's request reaches
//! a bucket: no cookie, no credential, no `Range` (the cache stores whole
//! objects and serves ranges itself), no forwarded host.

use super::object_key::object_path;
use super::sigv4::{sign, Credentials, Scope, SignInput, EMPTY_PAYLOAD_SHA256};
use crate::config::{AddressStyle, S3Origin};
use crate::http::headers::Headers;
use crate::http::time::UnixSecs;

/// Request headers a bucket may see: the validators of a revalidation.
pub const BUCKET_REQUEST_HEADERS: [&str; 2] = ["if-none-match", "if-modified-since"];

/// A request ready for the glue's fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketGet {
    pub url: String,
    pub headers: Headers,
}

/// The `Host` the fetch will send (and the signature covers): host, and the
/// port when it is not the scheme's default.
fn host(origin: &S3Origin) -> String {
    let h = origin.endpoint.host_str().unwrap_or_default();
    let h = match origin.style {
        AddressStyle::Virtual => format!("{}.{h}", origin.bucket),
        AddressStyle::Path => h.to_string(),
    };
    match origin.endpoint.port() {
        Some(p) => format!("{h}:{p}"),
        None => h,
    }
}

/// The GET of object `key` from `origin`: `from` supplies the validators
/// ([`BUCKET_REQUEST_HEADERS`]; everything else in it is dropped), `creds`
/// signs it (a private bucket), at `now`.
pub fn s3_get(
    origin: &S3Origin,
    key: &str,
    from: &Headers,
    creds: Option<&Credentials>,
    now: UnixSecs,
) -> BucketGet {
    let host = host(origin);
    let path = match origin.style {
        AddressStyle::Virtual => format!("/{}", object_path(key)),
        AddressStyle::Path => format!("/{}/{}", origin.bucket, object_path(key)),
    };
    let url = format!("{}://{host}{path}", origin.endpoint.scheme());
    let mut headers = Headers::new();
    for name in BUCKET_REQUEST_HEADERS {
        if let Some(v) = from.get(name) {
            headers.append(name, v);
        }
    }
    if let Some(creds) = creds {
        let amz_date = crate::http::date::format_iso8601_basic(now);
        headers.append("x-amz-content-sha256", EMPTY_PAYLOAD_SHA256);
        headers.append("x-amz-date", &amz_date);
        // Every header sent is signed (the validators too: nothing on the
        // way can add or change one unnoticed).
        let mut signed: Vec<(&str, &str)> = vec![("host", host.as_str())];
        signed.extend(headers.iter());
        let signature = sign(
            &SignInput {
                method: "GET",
                path: &path,
                query: &[],
                headers: &signed,
                payload_sha256: EMPTY_PAYLOAD_SHA256,
            },
            creds,
            Scope {
                region: &origin.region,
                service: "s3",
            },
            now,
        );
        headers.append("authorization", &signature.authorization);
    }
    BucketGet { url, headers }
}
