//! A bucket route's path → the object key: `/media/<rest>` → `<prefix><rest>`.
//!
//! `rest` is what the route's `*` matched in the *canonical* path (see
//! docs/keys.md: unreserved characters decoded, other escapes kept with
//! upper-case hex, `.`/`..` segments already resolved by the URL parser).
//! It is percent-decoded once into the UTF-8 key S3 stores, then encoded
//! again for the request path by [`object_path`] (the SigV4 canonical URI
//! is that same string: `request::sigv4`).
//!
//! HAZARD: an escaped slash decodes into a segment boundary: `a%2F..%2Fb`
//! is the key `a/../b`, which a URL parser between the worker and the bucket
//! (or the bucket's own) would resolve to `b`, so one URL could read another
//! object than its cache key names. Dot segments are refused *after*
//! decoding, with control characters, invalid UTF-8, an empty key and keys
//! longer than S3 allows; each refusal answers 404 without reaching the bucket.

use super::sigv4::uri_encode;
use crate::config::origins::MAX_OBJECT_KEY_BYTES;

/// Why a path names no object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectKeyError {
    /// Nothing after the route's prefix (`/media/`): a listing, never served.
    Empty,
    /// A `.` or `..` segment once decoded.
    DotSegment,
    /// A `%` not followed by two hex digits.
    BadEscape,
    /// The decoded bytes are not UTF-8.
    NotUtf8,
    /// A control character (U+0000–U+001F, U+007F) once decoded.
    ControlCharacter,
    /// Longer than S3's 1024 bytes (prefix included).
    TooLong(usize),
}

/// `prefix` + the decoded `rest`, or why there is no such object.
pub fn object_key(prefix: &str, rest: &str) -> Result<String, ObjectKeyError> {
    let decoded = percent_decode(rest)?;
    let decoded = String::from_utf8(decoded).map_err(|_| ObjectKeyError::NotUtf8)?;
    if decoded.is_empty() {
        return Err(ObjectKeyError::Empty);
    }
    if decoded.chars().any(|c| c.is_ascii_control()) {
        return Err(ObjectKeyError::ControlCharacter);
    }
    if decoded.split('/').any(|s| s == "." || s == "..") {
        return Err(ObjectKeyError::DotSegment);
    }
    let key = format!("{prefix}{decoded}");
    if key.len() > MAX_OBJECT_KEY_BYTES {
        return Err(ObjectKeyError::TooLong(key.len()));
    }
    Ok(key)
}

/// The key as a URL path (after the bucket, without the leading `/`): every
/// byte outside RFC 3986's unreserved set encoded, `/` kept.
pub fn object_path(key: &str) -> String {
    uri_encode(key, true)
}

fn percent_decode(s: &str) -> Result<Vec<u8>, ObjectKeyError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            let hex = b.get(i + 1..i + 3).ok_or(ObjectKeyError::BadEscape)?;
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return Err(ObjectKeyError::BadEscape);
            }
            let hex = std::str::from_utf8(hex).map_err(|_| ObjectKeyError::BadEscape)?;
            let v = u8::from_str_radix(hex, 16).map_err(|_| ObjectKeyError::BadEscape)?;
            out.push(v);
            i += 3;
        } else {
            out.push(c);
            i += 1;
        }
    }
    Ok(out)
}
