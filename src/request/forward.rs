//! Which request headers reach the origin: on a cacheable route only the keyed
//! ones; on pass-through the client's, minus the fields that could steer the
//! origin or that belong to the connection.

use crate::http::fields::{connection_nominated, HOP_BY_HOP};
use crate::http::headers::Headers;

/// Headers that rewrite how the origin sees the request (host, scheme, path,
/// method) but are not part of the cache key. Forwarding any of them lets one
/// client make the origin produce a response that is then stored under a key
/// every other client shares: cache poisoning. They never pass, even if a
/// config allow-lists them.
pub const POISONING_HEADERS: &[&str] = &[
    "x-forwarded-host",
    "x-forwarded-scheme",
    "x-forwarded-proto",
    "x-forwarded-port",
    "x-host",
    "forwarded",
    "x-original-url",
    "x-rewrite-url",
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
];

/// The headers sent to the origin on a cacheable route: only names in `allow`
/// (case-insensitive), never hop-by-hop fields, never names the client listed
/// in `Connection` (RFC 9110 §7.6.1), never [`POISONING_HEADERS`].
///
/// Hazard: every forwarded header that can change the response must also be
/// in the cache key (`route.vary`); this function cannot check that.
pub fn forwarded_headers(incoming: &Headers, allow: &[String]) -> Headers {
    let nominated = connection_nominated(incoming);
    incoming
        .iter()
        .filter(|(name, _)| {
            allow.iter().any(|a| a.eq_ignore_ascii_case(name))
                && !HOP_BY_HOP.contains(name)
                && !POISONING_HEADERS.contains(name)
                && !nominated.iter().any(|n| n == name)
        })
        .collect()
}

/// Whether a pass-through sends the client's request body on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestBody {
    /// Send the body, with its framing fields.
    Forward,
    /// Send no body, and drop `Content-Length` and `Content-Type` with it.
    Withhold,
}

/// Headers sent to the origin on pass-through: the client's, minus hop-by-hop
/// fields and the host/path/method-rewriting ones
/// ([`crate::request::forward::POISONING_HEADERS`]: the answer is not stored, but
/// the origin should never be steered by them), minus `Host` (the fetch sets
/// the origin's), and minus the body framing when the body is not forwarded.
pub fn pass_headers(incoming: &Headers, body: RequestBody, public_host: Option<&str>) -> Headers {
    let names: Vec<String> = incoming.iter().map(|(n, _)| n.to_string()).collect();
    let mut out = crate::request::forward::forwarded_headers(incoming, &names);
    if let Some(host) = public_host {
        append_public_origin(&mut out, host);
    }
    out.remove("host");
    if body == RequestBody::Withhold {
        out.remove("content-length");
        out.remove("content-type");
    }
    out
}

/// The content coding a lookup asks the origin for (`Accept-Encoding`),
/// whatever the client accepts. In production Cloudflare's edge asks every
/// origin for compression (`gzip, br`), so an origin that compresses answers
/// compressed there; Miniflare's subrequests ask for nothing. Asking here makes
/// `make dev` and the tests see the answer production stores. Only gzip: the
/// stored body is kept as the origin coded it (`flow::entry::CODING_HEADER`),
/// and gzip is the coding the worker can decode for a client that prefers
/// another (`response::coding`; the edge then codes it as that client wants).
/// One value for every client, so it needs no place in the key; a route whose
/// `vary` names `accept-encoding` sends the client's (ours when it sent none).
pub const ORIGIN_CODINGS: &str = "gzip";

/// Asks the origin for [`ORIGIN_CODINGS`] unless `out` already carries an
/// `Accept-Encoding` (a route that varies on it).
pub fn ask_codings(out: &mut Headers) {
    if !out.contains("accept-encoding") {
        out.append("accept-encoding", ORIGIN_CODINGS);
    }
}

/// The scheme clients reach the edge with, as the origin is told it: keys are
/// `https` URLs (one entry serves every scheme a URL was asked with), and the
/// edge terminates TLS.
pub const PUBLIC_PROTO: &str = "https";

/// Tells the origin the public host and scheme (`X-Forwarded-Host`,
/// `X-Forwarded-Proto`), so links it builds (DRF pagination,
/// `build_absolute_uri`) point at the edge, not at the origin. Always ours,
/// never the client's: the client's own `X-Forwarded-*` are stripped
/// ([`POISONING_HEADERS`]); on a cacheable route `host` is the keyed host, so a
/// body can only name the host it is stored under.
pub fn append_public_origin(out: &mut Headers, host: &str) {
    out.append("x-forwarded-host", host);
    out.append("x-forwarded-proto", PUBLIC_PROTO);
}
