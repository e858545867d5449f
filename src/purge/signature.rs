//! Standard Webhooks signatures (<https://www.standardwebhooks.com/>), symmetric `v1` only.
//!
//! The signed content is `{webhook-id}.{webhook-timestamp}.{raw body}`; the signature is
//! HMAC-SHA256 over it with the secret's raw bytes, sent as `v1,<base64>` in the
//! `webhook-signature` header. That header may carry several space-separated signatures
//! (the sender signs with each of its secrets during a rotation); one match is enough.
//!
//! Modelled on svix's verifier — one error variant per failure, a public [`sign`], a
//! constant-time comparison, several secrets and signatures — with one change: time is an
//! argument (`now`, Unix seconds). Nothing here reads a clock (`SystemTime::now()` panics on
//! `wasm32-unknown-unknown`).
//!
//! Hazards:
//! - Verify the *raw* body bytes. Re-serialized JSON (other spacing, key order) does not
//!   verify, by design.
//! - The caller must cap the body size (see [`crate::purge::body::MAX_BODY_BYTES`]) *before*
//!   calling [`verify`], so an unauthenticated client cannot make us hash megabytes.
//! - A verified message can be replayed within the tolerance window; the purge layer keeps
//!   a receipt per `webhook-id` for that window (see [`crate::purge::receipt::receipt_key`]).

use base64::prelude::{Engine as _, BASE64_STANDARD};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::fmt;

use crate::http::headers::Headers;
use crate::http::text::digits_u64;
use crate::http::time::UnixSecs;

type HmacSha256 = Hmac<Sha256>;

/// Prefix of a symmetric Standard Webhooks secret.
pub const SECRET_PREFIX: &str = "whsec_";
/// The only signature version we produce and accept (HMAC-SHA256). Entries with any other
/// version (`v1a,` = ed25519, future versions) are ignored, as the spec requires.
pub const SIGNATURE_VERSION: &str = "v1";
/// Shortest raw secret we accept. The spec recommends 24–64 random bytes; anything under
/// 16 bytes is a configuration mistake, not a secret.
pub const MIN_SECRET_BYTES: usize = 16;
/// Longest `webhook-id` we accept (bytes). The spec sets no limit; ours keeps KV keys
/// derived from it well under Workers KV's 512-byte key limit.
pub const MAX_ID_BYTES: usize = 256;
/// Most signature entries examined in one `webhook-signature` header; later ones are
/// ignored so a hostile header cannot make us run unbounded HMAC comparisons.
pub const MAX_SIGNATURES: usize = 16;

/// A webhook signing secret: the base64-decoded bytes of `whsec_<base64>`, held as a keyed
/// HMAC state. `Debug` never prints it.
#[derive(Clone)]
pub struct Secret(HmacSha256);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretError {
    /// Nothing (or only whitespace) given.
    Empty,
    /// The part after `whsec_` is not standard base64.
    NotBase64,
    /// Decoded to fewer than [`MIN_SECRET_BYTES`] bytes.
    TooShort { len: usize },
    /// Entry `index` (0-based) of a secret list is invalid.
    InList {
        index: usize,
        error: Box<SecretError>,
    },
}

impl fmt::Display for SecretError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretError::Empty => f.write_str("webhook secret is empty"),
            SecretError::NotBase64 => {
                f.write_str("webhook secret is not `whsec_` followed by standard base64")
            }
            SecretError::TooShort { len } => write!(
                f,
                "webhook secret decodes to {len} bytes; at least {MIN_SECRET_BYTES} required"
            ),
            SecretError::InList { index, error } => write!(f, "secret [{index}]: {error}"),
        }
    }
}

impl std::error::Error for SecretError {}

impl Secret {
    /// Parses `whsec_<base64>`. The prefix is optional: like the reference libraries
    /// (Python and JS `standardwebhooks`), a bare base64 string is accepted too, so a secret
    /// pasted without its prefix still works. Surrounding whitespace is trimmed.
    pub fn parse(s: &str) -> Result<Secret, SecretError> {
        let s = s.trim();
        let b64 = s.strip_prefix(SECRET_PREFIX).unwrap_or(s);
        if b64.is_empty() {
            return Err(SecretError::Empty);
        }
        let raw = BASE64_STANDARD
            .decode(b64)
            .map_err(|_| SecretError::NotBase64)?;
        Secret::from_bytes(&raw)
    }

    /// A secret from raw bytes (at least [`MIN_SECRET_BYTES`]).
    pub fn from_bytes(raw: &[u8]) -> Result<Secret, SecretError> {
        if raw.len() < MIN_SECRET_BYTES {
            return Err(SecretError::TooShort { len: raw.len() });
        }
        // HMAC accepts keys of any length; the error arm is unreachable in practice.
        HmacSha256::new_from_slice(raw)
            .map(Secret)
            .map_err(|_| SecretError::TooShort { len: raw.len() })
    }

    fn mac(&self, msg_id: &str, timestamp: UnixSecs, body: &[u8]) -> HmacSha256 {
        let mut mac = self.0.clone();
        mac.update(msg_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.0.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }
}

/// Several secrets separated by spaces and/or commas (rotation: put the new secret first,
/// keep the old one until every sender has switched). At least one is required.
pub fn parse_secrets(s: &str) -> Result<Vec<Secret>, SecretError> {
    let parts: Vec<&str> = s
        .split(|c: char| c == ',' || c.is_ascii_whitespace())
        .filter(|p| !p.is_empty())
        .collect();
    if parts.is_empty() {
        return Err(SecretError::Empty);
    }
    parts
        .iter()
        .enumerate()
        .map(|(index, p)| {
            Secret::parse(p).map_err(|e| SecretError::InList {
                index,
                error: Box::new(e),
            })
        })
        .collect()
}

/// Signs a message the way a Standard Webhooks sender does: returns `v1,<base64>`.
pub fn sign(secret: &Secret, msg_id: &str, timestamp: UnixSecs, body: &[u8]) -> String {
    let tag = secret.mac(msg_id, timestamp, body).finalize().into_bytes();
    format!("{SIGNATURE_VERSION},{}", BASE64_STANDARD.encode(tag))
}

/// The three Standard Webhooks headers, as received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookHeaders {
    /// `webhook-id`
    pub id: Option<String>,
    /// `webhook-timestamp` (Unix seconds, decimal)
    pub timestamp: Option<String>,
    /// `webhook-signature`; repeated fields are joined with a space.
    pub signature: Option<String>,
}

impl WebhookHeaders {
    pub fn from_headers(h: &Headers) -> WebhookHeaders {
        let sigs: Vec<&str> = h.get_all("webhook-signature").collect();
        WebhookHeaders {
            id: h.get("webhook-id").map(str::to_string),
            timestamp: h.get("webhook-timestamp").map(str::to_string),
            signature: if sigs.is_empty() {
                None
            } else {
                Some(sigs.join(" "))
            },
        }
    }
}

/// A message that passed verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub id: String,
    pub timestamp: UnixSecs,
    /// Which configured secret matched (for operator logs during a rotation; never sent to
    /// the client).
    pub secret_index: usize,
}

/// Why a webhook was refused. One variant per failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyError {
    MissingId,
    MissingTimestamp,
    MissingSignature,
    /// `webhook-id` is empty, longer than [`MAX_ID_BYTES`], or not printable ASCII.
    BadId,
    /// `webhook-timestamp` is not a plain decimal number of seconds.
    BadTimestamp(String),
    /// Older than `now - tolerance`.
    TimestampTooOld {
        timestamp: UnixSecs,
        now: UnixSecs,
    },
    /// Newer than `now + tolerance`.
    TimestampTooNew {
        timestamp: UnixSecs,
        now: UnixSecs,
    },
    /// No `v1` entry matched any configured secret.
    NoValidSignature,
    /// No secret configured: every message is refused.
    NoSecrets,
}

impl VerifyError {
    /// The one place a verification failure becomes an HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            VerifyError::NoSecrets => 503,
            _ => 401,
        }
    }

    /// A short message for the client. It names the failing check but never which secret
    /// was tried or what the expected signature was.
    pub fn client_message(&self) -> &'static str {
        match self {
            VerifyError::MissingId => "missing webhook-id header",
            VerifyError::MissingTimestamp => "missing webhook-timestamp header",
            VerifyError::MissingSignature => "missing webhook-signature header",
            VerifyError::BadId => "invalid webhook-id header",
            VerifyError::BadTimestamp(_) => "invalid webhook-timestamp header",
            VerifyError::TimestampTooOld { .. } => "webhook-timestamp too old",
            VerifyError::TimestampTooNew { .. } => "webhook-timestamp too far in the future",
            VerifyError::NoValidSignature => "no valid signature",
            VerifyError::NoSecrets => "purge webhook not configured",
        }
    }
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifyError::BadTimestamp(v) => write!(f, "invalid webhook-timestamp {v:?}"),
            VerifyError::TimestampTooOld { timestamp, now } => {
                write!(f, "webhook-timestamp {timestamp} too old (now {now})")
            }
            VerifyError::TimestampTooNew { timestamp, now } => {
                write!(f, "webhook-timestamp {timestamp} too new (now {now})")
            }
            other => f.write_str(other.client_message()),
        }
    }
}

impl std::error::Error for VerifyError {}

/// Parses a timestamp strictly: 1–19 ASCII digits, nothing else (no sign, no spaces, no
/// fraction), fitting in `u64`.
fn parse_timestamp(s: &str) -> Option<UnixSecs> {
    digits_u64(s, 19).map(UnixSecs)
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_ID_BYTES && id.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

/// Verifies a Standard Webhooks message against any of `secrets`.
///
/// `now` is the current time; the timestamp must lie within
/// `now ± tolerance` (inclusive). Signature entries with another version prefix are
/// ignored; a bare `v1,`, invalid base64, or a signature of the wrong length simply does
/// not match. Each comparison is constant-time (`Mac::verify_slice`, via `subtle`).
pub fn verify(
    secrets: &[Secret],
    headers: &WebhookHeaders,
    body: &[u8],
    now: UnixSecs,
    tolerance: u64,
) -> Result<Verified, VerifyError> {
    if secrets.is_empty() {
        return Err(VerifyError::NoSecrets);
    }
    let id = headers.id.as_deref().ok_or(VerifyError::MissingId)?;
    let ts_raw = headers
        .timestamp
        .as_deref()
        .ok_or(VerifyError::MissingTimestamp)?;
    let sig_header = headers
        .signature
        .as_deref()
        .ok_or(VerifyError::MissingSignature)?;
    if !valid_id(id) {
        return Err(VerifyError::BadId);
    }
    let timestamp =
        parse_timestamp(ts_raw).ok_or_else(|| VerifyError::BadTimestamp(ts_raw.to_string()))?;
    // `now - tolerance <= timestamp <= now + tolerance`, without leaving u64.
    if now.saturating_sub(timestamp) > tolerance {
        return Err(VerifyError::TimestampTooOld { timestamp, now });
    }
    if timestamp.saturating_sub(now) > tolerance {
        return Err(VerifyError::TimestampTooNew { timestamp, now });
    }

    let candidates: Vec<Vec<u8>> = sig_header
        .split(' ')
        .filter(|e| !e.is_empty())
        .take(MAX_SIGNATURES)
        .filter_map(|entry| {
            let (version, b64) = entry.split_once(',')?;
            if version != SIGNATURE_VERSION {
                return None;
            }
            BASE64_STANDARD.decode(b64).ok()
        })
        .collect();

    for (secret_index, secret) in secrets.iter().enumerate() {
        let mac = secret.mac(id, timestamp, body);
        // Every candidate is compared (no early exit inside a secret's loop); which one
        // matched is not secret, only the expected tag is.
        let matched = candidates
            .iter()
            .fold(false, |acc, c| mac.clone().verify_slice(c).is_ok() | acc);
        if matched {
            return Ok(Verified {
                id: id.to_string(),
                timestamp,
                secret_index,
            });
        }
    }
    Err(VerifyError::NoValidSignature)
}
