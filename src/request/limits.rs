//! Request size limits, checked before any cache or origin work.

use crate::config::Limits;
use crate::http::headers::Headers;

/// A request refused before any cache or origin work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LimitViolation {
    /// 414 URI Too Long (RFC 9110 §15.5.15).
    UriTooLong { len: usize, max: usize },
    /// 400: more query parameters than a key is built from.
    TooManyParams { count: usize, max: usize },
    /// 431 Request Header Fields Too Large (RFC 6585 §5): total size.
    HeadersTooLarge { bytes: usize, max: usize },
    /// 431: too many fields.
    TooManyHeaders { count: usize, max: usize },
}

impl LimitViolation {
    /// The HTTP status to answer with. The one place these map to a status.
    pub fn status(&self) -> u16 {
        match self {
            LimitViolation::UriTooLong { .. } => 414,
            LimitViolation::TooManyParams { .. } => 400,
            LimitViolation::HeadersTooLarge { .. } | LimitViolation::TooManyHeaders { .. } => 431,
        }
    }

    /// A short, client-safe message.
    pub fn message(&self) -> &'static str {
        match self {
            LimitViolation::UriTooLong { .. } => "URI too long",
            LimitViolation::TooManyParams { .. } => "too many query parameters",
            LimitViolation::HeadersTooLarge { .. } => "request header fields too large",
            LimitViolation::TooManyHeaders { .. } => "too many request header fields",
        }
    }
}

/// Checks request size limits, in this order: URL length, query parameter
/// count, header count, header bytes (each field counted as
/// `name.len() + value.len() + 4` for `": "` and CRLF, as on the wire).
pub fn check_limits(
    url_len: usize,
    query_param_count: usize,
    headers: &Headers,
    limits: &Limits,
) -> Result<(), LimitViolation> {
    if url_len > limits.max_url_bytes {
        return Err(LimitViolation::UriTooLong {
            len: url_len,
            max: limits.max_url_bytes,
        });
    }
    if query_param_count > limits.max_query_params {
        return Err(LimitViolation::TooManyParams {
            count: query_param_count,
            max: limits.max_query_params,
        });
    }
    check_header_limits(headers, limits)
}

/// The header half of [`check_limits`] (count, then total bytes with 4 bytes
/// of framing per field), shared with the key function.
pub(crate) fn check_header_limits(
    headers: &Headers,
    limits: &Limits,
) -> Result<(), LimitViolation> {
    if headers.len() > limits.max_headers {
        return Err(LimitViolation::TooManyHeaders {
            count: headers.len(),
            max: limits.max_headers,
        });
    }
    let bytes = headers.iter().fold(0usize, |acc, (n, v)| {
        acc.saturating_add(n.len() + v.len() + 4)
    });
    if bytes > limits.max_header_bytes {
        return Err(LimitViolation::HeadersTooLarge {
            bytes,
            max: limits.max_header_bytes,
        });
    }
    Ok(())
}
