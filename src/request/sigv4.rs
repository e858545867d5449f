//! AWS Signature Version 4 (header form), as S3-compatible buckets check it:
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html>.
//!
//! Built on `hmac` and `sha2`, which the worker already uses for webhook
//! signatures and per-user keys: no new crate in the Wasm, nothing that reads
//! a clock (the time is an argument) or the OS's randomness. Checked natively
//! against AWS's published test-suite vectors (`tests/fixtures/sigv4/`) and
//! against botocore's S3 signer on a few hundred generated requests
//! (`tests/fixtures/sigv4_botocore.json`, `tests/native/request/sigv4.rs`).
//!
//! S3's flavour: the canonical URI is the path as sent, each byte outside
//! RFC 3986's unreserved set percent-encoded once, `/` kept, and never
//! normalized (`a/../b` is a key of its own to S3; the object-key mapping
//! refuses dot segments before a request is built, because a URL parser on
//! the way would collapse them).
//!
//! HAZARD: the secret access key must never reach a log line or a `Debug`
//! print: [`Credentials`] prints only the access key id.

use crate::http::date::format_iso8601_basic;
use crate::http::text::hex_lower;
use crate::http::time::UnixSecs;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use std::fmt;

/// The only algorithm this module speaks.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// SHA-256 of the empty payload: the `x-amz-content-sha256` of a GET or HEAD.
pub const EMPTY_PAYLOAD_SHA256: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// An access key pair. `Debug` shows the key id only.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key_id: String,
    secret_access_key: String,
}

impl Credentials {
    pub fn new(access_key_id: &str, secret_access_key: &str) -> Credentials {
        Credentials {
            access_key_id: access_key_id.to_string(),
            secret_access_key: secret_access_key.to_string(),
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .finish()
    }
}

/// Region and service of the credential scope (`s3` for every S3-compatible
/// store; R2's S3 API and GCS's XML API take `auto`-style regions).
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub region: &'a str,
    pub service: &'a str,
}

/// What is signed.
#[derive(Debug, Clone, Copy)]
pub struct SignInput<'a> {
    pub method: &'a str,
    /// The path exactly as sent (already encoded: see [`uri_encode`]).
    pub path: &'a str,
    /// Query pairs, decoded; encoded and sorted here.
    pub query: &'a [(String, String)],
    /// The headers to sign (`host` and every `x-amz-*` sent), any case.
    pub headers: &'a [(&'a str, &'a str)],
    /// Hex SHA-256 of the body, or `UNSIGNED-PAYLOAD`.
    pub payload_sha256: &'a str,
}

/// Every intermediate, so a failing test shows which step differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    pub canonical_request: String,
    pub string_to_sign: String,
    pub signature: String,
    /// The `Authorization` header value.
    pub authorization: String,
    /// The `X-Amz-Date` value the signature was made for.
    pub amz_date: String,
}

/// Percent-encodes every byte outside `A-Z a-z 0-9 - . _ ~` as `%XX` (upper
/// case), keeping `/` when `keep_slash` (paths) and encoding it otherwise
/// (query names and values). Space is `%20`, never `+`.
pub fn uri_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        let unreserved = b.is_ascii_alphanumeric() || b"-._~".contains(&b);
        if unreserved || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Signs `input` at `at` for `scope` with `creds`.
pub fn sign(input: &SignInput<'_>, creds: &Credentials, scope: Scope<'_>, at: UnixSecs) -> Signed {
    let amz_date = format_iso8601_basic(at);
    let date = amz_date.get(..8).unwrap_or_default();
    let (canonical_headers, signed_headers) = canonical_headers(input.headers);
    let canonical_request = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        input.method,
        input.path,
        canonical_query(input.query),
        canonical_headers,
        signed_headers,
        input.payload_sha256
    );
    let credential_scope = format!("{date}/{}/{}/aws4_request", scope.region, scope.service);
    let string_to_sign = format!(
        "{ALGORITHM}\n{amz_date}\n{credential_scope}\n{}",
        hex_lower(&Sha256::digest(canonical_request.as_bytes()))
    );
    let mut key = hmac(
        format!("AWS4{}", creds.secret_access_key).as_bytes(),
        date.as_bytes(),
    );
    for part in [scope.region, scope.service, "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    let signature = hex_lower(&hmac(&key, string_to_sign.as_bytes()));
    let authorization = format!(
        "{ALGORITHM} Credential={}/{credential_scope}, SignedHeaders={signed_headers}, \
         Signature={signature}",
        creds.access_key_id
    );
    Signed {
        canonical_request,
        string_to_sign,
        signature,
        authorization,
        amz_date,
    }
}

fn hmac(key: &[u8], msg: &[u8]) -> Vec<u8> {
    // HMAC takes a key of any length: `new_from_slice` cannot fail for it.
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(msg);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// Names and values encoded, sorted by name then value, `&`-joined.
fn canonical_query(query: &[(String, String)]) -> String {
    let mut pairs: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (uri_encode(k, false), uri_encode(v, false)))
        .collect();
    pairs.sort();
    let parts: Vec<String> = pairs.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    parts.join("&")
}

/// `name:value\n` lines (names lower-cased and sorted; values trimmed, runs of
/// spaces collapsed; repeated names joined with `,` in order) and the
/// `;`-joined signed header names.
fn canonical_headers(headers: &[(&str, &str)]) -> (String, String) {
    let mut merged: Vec<(String, String)> = Vec::with_capacity(headers.len());
    for (name, value) in headers {
        let name = name.to_ascii_lowercase();
        let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
        match merged.iter_mut().find(|(n, _)| *n == name) {
            Some((_, v)) => {
                v.push(',');
                v.push_str(&value);
            }
            None => merged.push((name, value)),
        }
    }
    merged.sort_by(|a, b| a.0.cmp(&b.0));
    let mut lines = String::new();
    for (n, v) in &merged {
        lines.push_str(n);
        lines.push(':');
        lines.push_str(v);
        lines.push('\n');
    }
    let names: Vec<&str> = merged.iter().map(|(n, _)| n.as_str()).collect();
    (lines, names.join(";"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_prints_the_secret() {
        let c = Credentials::new("AKID", "very-secret");
        let printed = format!("{c:?}");
        assert!(printed.contains("AKID"));
        assert!(!printed.contains("very-secret"));
    }

    #[test]
    fn encodes_space_plus_tilde_and_unicode() {
        assert_eq!(uri_encode("a b+c~d/é", true), "a%20b%2Bc~d/%C3%A9");
        assert_eq!(uri_encode("a/b", false), "a%2Fb");
    }
}
