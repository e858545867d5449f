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
