//! The canonical spelling of a request URL's parts: host and port as keys
//! write them, and the path with canonical percent-encoding (or `None` when a
//! path could be read differently by an origin: never keyed).

use super::query::{encode_component, is_unreserved};
use std::borrow::Cow;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// Not an absolute URL.
    BadUrl { url: String, reason: String },
    /// Not http or https.
    UnsupportedScheme(String),
    /// A per-user route got a credential but no `user_secret` is configured:
    /// fail closed (the glue answers 500 or passes through uncached).
    MissingUserSecret { route: String },
    /// `normalize_url_for_purge` only: such a path is never stored.
    SuspiciousPath(String),
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::BadUrl { url, reason } => write!(f, "bad URL {url:?}: {reason}"),
            KeyError::UnsupportedScheme(s) => {
                write!(f, "unsupported scheme {s:?} (use http or https)")
            }
            KeyError::MissingUserSecret { route } => write!(
                f,
                "route `{route}` is per_user but no user secret is configured"
            ),
            KeyError::SuspiciousPath(p) => write!(f, "suspicious path {p:?} is never cached"),
        }
    }
}

impl std::error::Error for KeyError {}

/// The port part of keys: none for 80 and 443. The key scheme is always https,
/// so both default ports are dropped (`http://h:443/` and `https://h/` are one
/// key; otherwise a key would not be stable when re-keyed as https).
pub(super) fn key_port(u: &url::Url) -> Option<u16> {
    u.port().filter(|p| *p != 80 && *p != 443)
}

/// The host part of keys: host (lower-cased by the URL parser), plus `:port`
/// unless the port is 80 or 443 (see [`key_port`]). Generation names for
/// prefixes use the same spelling, so a purge by `https://h:8443/x` reaches
/// requests to `h:8443`.
pub fn key_host(u: &url::Url) -> Option<String> {
    let host = u.host_str().filter(|h| !h.is_empty())?.to_ascii_lowercase();
    Some(match key_port(u) {
        Some(p) => format!("{host}:{p}"),
        None => host,
    })
}

/// A parsed request URL in canonical form, borrowing from the parsed URL.
pub(super) struct Canonical<'u> {
    /// Lower-cased, IDNA-mapped host (IPv6 in brackets).
    pub(super) host: &'u str,
    /// Non-default port (neither 80 nor 443).
    pub(super) port: Option<u16>,
    /// `None` when the path is suspicious.
    pub(super) path: Option<Cow<'u, str>>,
    pub(super) query: &'u str,
    pub(super) has_userinfo: bool,
}

impl Canonical<'_> {
    /// Appends `https://host[:port]` to `out`.
    pub(super) fn write_authority(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"https://");
        out.extend_from_slice(self.host.as_bytes());
        if let Some(p) = self.port {
            out.push(b':');
            out.extend_from_slice(p.to_string().as_bytes());
        }
    }
}

pub(super) fn parse_url(url: &str) -> Result<url::Url, KeyError> {
    url::Url::parse(url).map_err(|e| KeyError::BadUrl {
        url: url.to_string(),
        reason: e.to_string(),
    })
}

pub(super) fn canonicalize<'u>(url: &str, u: &'u url::Url) -> Result<Canonical<'u>, KeyError> {
    if u.scheme() != "http" && u.scheme() != "https" {
        return Err(KeyError::UnsupportedScheme(u.scheme().to_string()));
    }
    let host = u
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| KeyError::BadUrl {
            url: url.to_string(),
            reason: "no host".into(),
        })?;
    let port = key_port(u);
    Ok(Canonical {
        host,
        port,
        path: canonical_path_cow(u.path()),
        query: u.query().unwrap_or(""),
        has_userinfo: !u.username().is_empty() || u.password().is_some(),
    })
}

/// Canonical percent-encoding of a path already parsed by `url` (dot segments
/// resolved, `\` turned into `/`, non-ASCII encoded): escapes of unreserved
/// characters decoded (`%41` → `A`), other escapes upper-cased (`%c3` → `%C3`),
/// literal characters kept (`!` and `%21` stay distinct: RFC 3986 §6.2.2.2).
///
/// `None` (suspicious) when the path has an empty segment (`//`: one origin
/// merges it into `/`, another serves another file or a 404, so `/media//a.png`
/// could be a copy of `/media/a.png` that a purge of that URL never names),
/// contains `;` (matrix/path parameters:
/// `/api/me;x.css` is `/api/me` to some servers), an escaped `/`, `\`, `;`,
/// `#`, `?`, `.` (`%2F %5C %3B %23 %3F %2E`: decoded after routing by some
/// origins, which is how cache-deception and traversal tricks work), an escaped
/// control byte (`%00`-`%1F`, `%7F`), or a `%` not followed by two hex digits.
pub fn canonical_path(path: &str) -> Option<String> {
    canonical_path_cow(path).map(Cow::into_owned)
}

/// [`canonical_path`], borrowing `path` when it is already canonical (ASCII
/// without `%` or `;`: the common case, and nothing to rewrite).
fn canonical_path_cow(path: &str) -> Option<Cow<'_, str>> {
    if path.contains("//") {
        return None;
    }
    if path.bytes().all(|b| b.is_ascii() && b != b'%' && b != b';') {
        return Some(Cow::Borrowed(path));
    }
    let b = path.as_bytes();
    let mut out = String::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b';' => return None,
            b'%' => {
                let hex = b.get(i + 1..i + 3)?;
                let s = std::str::from_utf8(hex).ok()?;
                let byte = u8::from_str_radix(s, 16).ok()?;
                if !hex.iter().all(u8::is_ascii_hexdigit)
                    || matches!(
                        byte,
                        0x00..=0x1F | 0x7F | b'/' | b'\\' | b';' | b'#' | b'?' | b'.'
                    )
                {
                    return None;
                }
                if is_unreserved(byte) {
                    out.push(char::from(byte));
                } else {
                    out.push_str(&encode_component(&[byte]));
                }
                i += 3;
            }
            c => {
                out.push(char::from(c));
                i += 1;
            }
        }
    }
    Some(Cow::Owned(out))
}
