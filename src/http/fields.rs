//! Header fields that belong to one connection, not to the message: never
//! forwarded, never stored (RFC 9110 §7.6.1, RFC 9111 §3.1).

use crate::http::headers::Headers;

/// Hop-by-hop fields (RFC 9110 §7.6.1) plus `proxy-authorization`, which is
/// meant for the next proxy (us), never the origin.
pub const HOP_BY_HOP: &[&str] = &[
    "connection",
    "proxy-connection",
    "keep-alive",
    "te",
    "transfer-encoding",
    "upgrade",
    "trailer",
    "proxy-authorization",
];

/// The field names a message's `Connection` header lists (lower-case): they
/// are hop-by-hop for that message (RFC 9110 §7.6.1).
pub(crate) fn connection_nominated(headers: &Headers) -> Vec<String> {
    headers
        .get_all("connection")
        .flat_map(|v| v.split(','))
        .map(|n| n.trim().to_ascii_lowercase())
        .filter(|n| !n.is_empty())
        .collect()
}

/// True when `name` does not describe a message framed by `Transfer-Encoding`:
/// RFC 9112 §6.3 says `Transfer-Encoding` overrides `Content-Length`, and a
/// proxy must remove the `Content-Length` before passing the message on. The
/// runtime's fetch reads the body as chunked but keeps the stale length among
/// the fields; stored beside a body of another length it would make every
/// copy look truncated (never stored) or frame a hit wrongly.
pub fn frames_body(headers: &Headers, name: &str) -> bool {
    !(name.eq_ignore_ascii_case("content-length") && headers.contains("transfer-encoding"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_length_beside_transfer_encoding_is_dropped() {
        let mut h = Headers::new();
        h.append("content-length", "3");
        assert!(frames_body(&h, "content-length"));
        h.append("transfer-encoding", "chunked");
        assert!(!frames_body(&h, "content-length"));
        assert!(!frames_body(&h, "Content-Length"));
        assert!(frames_body(&h, "content-type"));
    }
}
