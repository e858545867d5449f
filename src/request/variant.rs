//! The variant part of a key: declared request headers and per-user identity.
//!
//! HAZARD: everything that can change a cacheable response must be in the key
//! or never reach the origin. Headers outside the route's `vary` are not sent
//! to the origin on cacheable routes (`origin_headers`), and per-user routes key
//! on a keyed hash of *every* credential the origin could authenticate with.
//! A client-supplied id (`X-User-Id`, a `user` query param) is never used:
//! a client can claim any id; it cannot forge another user's session.

use crate::config::{Credential, Route};
use crate::http::headers::Headers;
use crate::http::text::hex_lower;
use crate::request::query::encode_into;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The anonymous identity on a per-user route (no credential sent). It can
/// never equal a user's id: those are 32 hex digits.
pub const ANON: &str = "anon";

/// Normalizes a header value for keying and forwarding: trimmed, runs of
/// spaces/tabs collapsed to one space; for `accept`, `accept-encoding`,
/// `accept-language` (case-insensitive tokens, RFC 9110 §12.5) lower-cased.
pub(crate) fn normalize_header_value(name: &str, value: &str) -> String {
    let collapsed = value
        .split([' ', '\t'])
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if matches!(name, "accept" | "accept-encoding" | "accept-language") {
        collapsed.to_lowercase()
    } else {
        collapsed
    }
}

/// Values of the named cookie in every `Cookie` header, parsed as Django's
/// `parse_cookie` does (split on `;`, name and value trimmed; a chunk without
/// `=` has an empty name).
pub(crate) fn cookie_values<'h>(headers: &'h Headers, cookie: &str) -> Vec<&'h str> {
    headers
        .get_all("cookie")
        .flat_map(|h| h.split(';'))
        .filter_map(|chunk| chunk.split_once('='))
        .filter(|(n, _)| n.trim() == cookie)
        .map(|(_, v)| v.trim())
        .collect()
}

/// The credentials present in the request, as `(label, value)` in route order.
/// A repeated cookie contributes every value (we cannot know which one the
/// origin uses, so the identity depends on all of them).
pub(crate) fn present_credentials(route: &Route, headers: &Headers) -> Vec<(String, String)> {
    let mut out = Vec::new();
    // Most requests carry neither header: one look at the names, no look-ups
    // per credential (names are stored lower-cased).
    if !headers
        .iter()
        .any(|(n, _)| n == "authorization" || n == "cookie")
    {
        return out;
    }
    for c in &route.credentials {
        match c {
            Credential::Authorization => {
                if let Some(v) = headers.get_joined("authorization") {
                    out.push(("authorization".to_string(), v));
                }
            }
            Credential::Cookie(name) => {
                let vals = cookie_values(headers, name);
                if !vals.is_empty() {
                    out.push((format!("cookie:{name}"), vals.join("; ")));
                }
            }
        }
    }
    out
}

/// First 32 hex digits (128 bits) of HMAC-SHA256(secret, credentials).
/// Labels and values are NUL-terminated so no two credential sets share an input.
pub(crate) fn user_id(secret: &[u8], creds: &[(String, String)]) -> String {
    // HMAC accepts keys of any length, so this cannot fail; fall back to a
    // fixed marker rather than panic if it ever did (the caller never shares it).
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return "invalid-secret".to_string();
    };
    for (label, value) in creds {
        mac.update(label.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        mac.update(&[0]);
    }
    let digest = mac.finalize().into_bytes();
    hex_lower(digest.get(..16).unwrap_or(&digest))
}

/// Escapes `%` and `~` so a header value cannot forge a component separator.
fn escape(v: &str) -> String {
    v.replace('%', "%25").replace('~', "%7E")
}

/// True when keys on `route` carry a variant (declared `vary` headers, or per-user).
pub(crate) fn has_variant(route: &Route) -> bool {
    !route.vary.is_empty() || route.per_user
}

/// Appends the encoded variant value to `out` (nothing when the route has no
/// variant dimensions); the key writes it straight into its URL. The value:
/// components joined by `~`, one per `vary` header in route order
/// (`name.value` when present, `name` alone when absent, so absent ≠ empty),
/// then `user.<id>` on per-user routes. The structure is fixed by the route,
/// so the encoding is injective.
/// The encoding is per byte and `~`/`.` are unreserved, so encoding each
/// component in turn equals encoding the join.
pub(crate) fn write_variant(
    route: &Route,
    headers: &Headers,
    user: Option<&str>,
    out: &mut Vec<u8>,
) {
    for (i, h) in route.vary.iter().enumerate() {
        if i > 0 {
            out.push(b'~');
        }
        encode_into(h.as_bytes(), out);
        if let Some(v) = headers.get_joined(h) {
            out.push(b'.');
            encode_into(escape(&normalize_header_value(h, &v)).as_bytes(), out);
        }
    }
    if route.per_user {
        if !route.vary.is_empty() {
            out.push(b'~');
        }
        out.extend_from_slice(b"user.");
        encode_into(user.unwrap_or(ANON).as_bytes(), out);
    }
}

/// Headers to send to the origin for a cacheable request on `route`: the
/// route's `vary` headers, normalized exactly as in the key, and on per-user
/// routes the credentials (the `Cookie` header reduced to credential cookies).
/// Nothing else: an unkeyed header that reached the origin could change the
/// stored response for everyone (e.g. `Accept: text/html` → DRF's browsable API).
pub fn origin_headers(route: &Route, headers: &Headers) -> Headers {
    let mut out = Headers::new();
    for h in &route.vary {
        if let Some(v) = headers.get_joined(h) {
            out.append(h, &normalize_header_value(h, &v));
        }
    }
    if route.per_user {
        let mut cookies = Vec::new();
        for c in &route.credentials {
            match c {
                Credential::Authorization => {
                    if let Some(v) = headers.get_joined("authorization") {
                        out.append("authorization", &v);
                    }
                }
                Credential::Cookie(name) => {
                    for v in cookie_values(headers, name) {
                        cookies.push(format!("{name}={v}"));
                    }
                }
            }
        }
        if !cookies.is_empty() {
            out.append("cookie", &cookies.join("; "));
        }
    }
    out
}
