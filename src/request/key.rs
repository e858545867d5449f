//! The cache key: the function that decides the hit ratio, and whether one
//! user's data can reach another. See `docs/keys.md` for the rules with examples.
//!
//! A key is itself an `https://host/path?query` URL (so a zone purge by URL or
//! prefix reaches what the worker stored):
//!
//! ```text
//! https://api.example.com/api/courses/?level=beginner&perpage=10&__edgecache=accept-language.en
//! ```
//!
//! HAZARDS, in the order the code defends against them:
//! - Cache deception (`/api/me;x.css`, `/api/me%2Fx.css`): paths that an origin
//!   may read differently from us are never keyed (`Bypass(SuspiciousPath)`).
//! - Parameter cloaking (`;` as a separator): we split the query as Django does.
//! - Unkeyed inputs: the origin must be sent `CacheKey::origin_path_and_query`
//!   and `variant::origin_headers`, never the client's URL and headers, so that
//!   everything the origin can see is in the key.
//! - Variant forgery: incoming `__edgecache` params are dropped.
//! - Shared private data: credentials on a shared route bypass the cache; per-user
//!   routes key on an HMAC of the credential, never on the raw value or a
//!   client-supplied id.

use crate::config::{Config, Route};

use crate::config::pattern::Params;
use crate::http::cache_status::Detail;
use crate::http::headers::Headers;
use crate::http::method::Method;
use crate::http::reserved::VARIANT_PARAM;
use crate::request::query::{
    ascii_string, encode_component, join_pairs, normalize_query, normalize_query_counted,
};
use crate::request::variant::{has_variant, present_credentials, user_id, write_variant};
use std::borrow::Cow;
use std::fmt;

/// What the key function needs from a request.
#[derive(Debug, Clone, Copy)]
pub struct KeyRequest<'a> {
    /// As sent; case-sensitive (RFC 9110 §9.1): `get` is not `GET`.
    pub method: &'a Method,
    /// The absolute request URL as the client sent it.
    pub url: &'a str,
    pub headers: &'a Headers,
    /// Secret for per-user HMAC ids (a wrangler secret). `None` makes requests
    /// with credentials on per-user routes an error, never a shared key.
    pub user_secret: Option<&'a [u8]>,
}

/// Why a request on (possibly) a route is not served from or stored in the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BypassReason {
    /// Not GET or HEAD.
    Method,
    /// A credential (or URL user info) on a route that is not `per_user`.
    Credentials,
    /// A path an origin may parse differently from us (see `docs/keys.md`).
    SuspiciousPath,
    UrlTooLong,
    TooManyParams,
    TooManyHeaders,
    HeadersTooLarge,
}

impl BypassReason {
    /// Stable snake_case name (logs, `explain`, `Cache-Status` detail).
    pub fn as_str(&self) -> &'static str {
        match self {
            BypassReason::Method => "method",
            BypassReason::Credentials => "credentials",
            BypassReason::SuspiciousPath => "suspicious_path",
            BypassReason::UrlTooLong => "url_too_long",
            BypassReason::TooManyParams => "too_many_params",
            BypassReason::TooManyHeaders => "too_many_headers",
            BypassReason::HeadersTooLarge => "headers_too_large",
        }
    }
}

impl From<BypassReason> for Detail {
    fn from(reason: BypassReason) -> Detail {
        Detail::Reason(reason.as_str())
    }
}

/// A computed key for a cacheable request.
///
/// One string holds the key URL; the parts other code needs (the key without
/// the variant, the origin path and query, the variant) are ranges of it, so
/// a key costs one allocation for its text, and dropping it one free.
#[derive(Debug, Clone, PartialEq)]
pub struct CacheKey<'c> {
    pub route: &'c Route,
    /// Index of `route` in `config.routes`.
    pub route_index: usize,
    /// `https://host[:port]` `/path` `?query` `&__edgecache=variant`, all ASCII.
    url: String,
    /// Where the path starts in `url`.
    path_start: usize,
    /// Where `base_url` ends in `url` (the variant param, if any, follows).
    base_end: usize,
}

impl<'c> CacheKey<'c> {
    /// The full key: [`CacheKey::base_url`] plus `__edgecache=<variant>` as
    /// the last param when the route has variant dimensions.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The host as keys spell it (`host[:port]`, see [`key_host`]): the
    /// authority of [`CacheKey::url`].
    pub fn host(&self) -> &str {
        self.url
            .get("https://".len()..self.path_start)
            .unwrap_or_default()
    }

    /// [`CacheKey::url`], owned.
    pub fn into_url(self) -> String {
        self.url
    }

    /// The key without the variant: the same for every variant of a URL (what
    /// purge by URL works on).
    pub fn base_url(&self) -> &str {
        self.url.get(..self.base_end).unwrap_or_default()
    }

    /// Canonical path and query (no variant): what must be requested from the
    /// origin, so the origin sees exactly what was keyed.
    pub fn origin_path_and_query(&self) -> &str {
        self.url
            .get(self.path_start..self.base_end)
            .unwrap_or_default()
    }

    /// The canonical path (what the route matched).
    pub fn path(&self) -> &str {
        let pq = self.origin_path_and_query();
        pq.split_once('?').map_or(pq, |(path, _)| path)
    }

    /// The encoded variant value, if the route has variant dimensions.
    pub fn variant(&self) -> Option<&str> {
        self.url
            .get(self.base_end..)?
            .get(1..)?
            .strip_prefix(VARIANT_PARAM)?
            .strip_prefix('=')
    }

    /// Path parameters, canonical segments (matched again on [`CacheKey::path`]).
    pub fn params(&self) -> Params {
        self.route.path.matches(self.path()).unwrap_or_default()
    }

    /// Route tag templates expanded with the path params; borrowed from the
    /// route when no template has a `{param}` to fill. Expanded when asked
    /// for, not kept in the key: only an entry found under the key is checked
    /// against tag purges (`flow::Lookup::names`), so a lookup that finds
    /// nothing never needs them.
    pub fn tags(&self) -> Cow<'c, [String]> {
        expand_tags(self.route, self.path())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum KeyOutcome<'c> {
    Cache(CacheKey<'c>),
    /// Pass through to the origin; do not read or write the cache.
    Bypass {
        route: Option<&'c Route>,
        reason: BypassReason,
    },
    /// No route matches: pass through, never stored.
    NoRoute,
}

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
fn key_port(u: &url::Url) -> Option<u16> {
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
struct Canonical<'u> {
    /// Lower-cased, IDNA-mapped host (IPv6 in brackets).
    host: &'u str,
    /// Non-default port (neither 80 nor 443).
    port: Option<u16>,
    /// `None` when the path is suspicious.
    path: Option<Cow<'u, str>>,
    query: &'u str,
    has_userinfo: bool,
}

impl Canonical<'_> {
    /// Appends `https://host[:port]` to `out`.
    fn write_authority(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"https://");
        out.extend_from_slice(self.host.as_bytes());
        if let Some(p) = self.port {
            out.push(b':');
            out.extend_from_slice(p.to_string().as_bytes());
        }
    }
}

fn parse_url(url: &str) -> Result<url::Url, KeyError> {
    url::Url::parse(url).map_err(|e| KeyError::BadUrl {
        url: url.to_string(),
        reason: e.to_string(),
    })
}

fn canonicalize<'u>(url: &str, u: &'u url::Url) -> Result<Canonical<'u>, KeyError> {
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
/// `None` (suspicious) when the path contains `;` (matrix/path parameters:
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
                if crate::request::query::is_unreserved(byte) {
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

/// The route's tags with `{name}` expanded from the params `path` matched
/// (`,` escaped). One left-to-right pass per template; the same as replacing
/// each `{name}` in turn, since canonical path segments never hold `{` or `}`
/// (the URL parser escapes them), so a substituted value cannot form or break
/// another placeholder. Borrowed when there is nothing to expand.
fn expand_tags<'c>(route: &'c Route, path: &str) -> Cow<'c, [String]> {
    let templates = &route.tags;
    if !route.path.has_params() || !templates.iter().any(|t| has_byte(t, b'{')) {
        return Cow::Borrowed(templates);
    }
    // The param whose name, then `}`, starts `after` (first in pattern order),
    // with its value: matched again on `path` rather than collected, so the
    // usual one placeholder per template costs no allocation.
    let param_at = |after: &str| {
        let mut hit = None;
        let matched = route.path.matches_with(path, |name, value| {
            if hit.is_none() && after.strip_prefix(name).is_some_and(|r| r.starts_with('}')) {
                hit = Some((name, value));
            }
        });
        hit.filter(|_| matched)
    };
    let expand = |t: &String| {
        if !has_byte(t, b'{') {
            return t.clone();
        }
        let mut s = String::with_capacity(t.len() + 16);
        let mut rest = t.as_str();
        while let Some(open) = rest.bytes().position(|b| b == b'{') {
            s.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            match param_at(after) {
                Some((name, value)) => {
                    // `,` separates tags in `Cache-Tag`; canonical segments may hold one.
                    if has_byte(value, b',') {
                        s.push_str(&value.replace(',', "%2C"));
                    } else {
                        s.push_str(value);
                    }
                    rest = &after[name.len() + 1..];
                }
                None => {
                    s.push('{');
                    rest = after;
                }
            }
        }
        s.push_str(rest);
        s
    };
    Cow::Owned(templates.iter().map(expand).collect())
}

/// `s.contains(b as char)` for an ASCII `b`, as a plain loop: tag templates
/// and path segments are a few bytes, too short for `memchr` to pay off.
fn has_byte(s: &str, b: u8) -> bool {
    s.bytes().any(|c| c == b)
}

fn over_header_limits(config: &Config, headers: &Headers) -> Option<BypassReason> {
    use crate::request::limits::{check_header_limits, LimitViolation};
    match check_header_limits(headers, &config.limits) {
        Ok(()) => None,
        Err(LimitViolation::TooManyHeaders { .. }) => Some(BypassReason::TooManyHeaders),
        Err(_) => Some(BypassReason::HeadersTooLarge),
    }
}

/// Computes the key for a request, or says why it is not cacheable.
///
/// Order of checks: size limits, URL parse, suspicious path, route match,
/// method, user info, query size, credentials, then the size limits again on
/// the key itself. `HEAD` gets the same key as `GET`.
/// Idempotent: keying `CacheKey::url` again (same headers) gives the same key
/// (`fuzz/` checks this).
///
/// Cost: one `Url::parse`; the key URL, variant included, is written once
/// into one buffer that the key keeps (`base_url` and the rest are ranges of
/// it). A canonical request allocates that buffer and the list of query
/// pairs, nothing per parameter; route tags are expanded only when asked for
/// ([`CacheKey::tags`]).
pub fn cache_key<'c>(config: &'c Config, req: &KeyRequest) -> Result<KeyOutcome<'c>, KeyError> {
    cache_key_parsed(config, req, None)
}

/// [`cache_key`] for a caller that has already parsed `req.url`: `parsed` is
/// `Url::parse(req.url).ok()`, so the parse is not repeated (`None` parses,
/// and reports a bad URL, as [`cache_key`] does).
pub fn cache_key_parsed<'c>(
    config: &'c Config,
    req: &KeyRequest,
    parsed: Option<&url::Url>,
) -> Result<KeyOutcome<'c>, KeyError> {
    let bypass = |route, reason| Ok(KeyOutcome::Bypass { route, reason });
    if req.url.len() > config.limits.max_url_bytes {
        return bypass(None, BypassReason::UrlTooLong);
    }
    if let Some(reason) = over_header_limits(config, req.headers) {
        return bypass(None, reason);
    }
    let owned;
    let parsed = match parsed {
        Some(u) => u,
        None => {
            owned = parse_url(req.url)?;
            &owned
        }
    };
    let canon = canonicalize(req.url, parsed)?;
    let Some(path) = canon.path.as_deref() else {
        return bypass(None, BypassReason::SuspiciousPath);
    };
    let Some(route_index) = config.route_index(path) else {
        return Ok(KeyOutcome::NoRoute);
    };
    let route = &config.routes[route_index];
    if !req.method.is_get_or_head() {
        return bypass(Some(route), BypassReason::Method);
    }
    if canon.has_userinfo {
        return bypass(Some(route), BypassReason::Credentials);
    }
    // Normalized before the checks that follow it (it only reads the query),
    // so that the parameters are counted in the same pass.
    let (pairs, param_count) =
        normalize_query_counted(canon.query, Some(&route.query), &config.tracking_params);
    if param_count > config.limits.max_query_params {
        return bypass(Some(route), BypassReason::TooManyParams);
    }
    let creds = present_credentials(route, req.headers);
    let user = match (route.per_user, creds.is_empty(), req.user_secret) {
        (false, false, _) => return bypass(Some(route), BypassReason::Credentials),
        (_, true, _) => None,
        (true, false, Some(secret)) => Some(user_id(secret, &creds)),
        (true, false, None) => {
            return Err(KeyError::MissingUserSecret {
                route: route.name.clone(),
            })
        }
    };
    let varies = has_variant(route);
    // `https://host[:port]` `/path` `?query` `&__edgecache=variant`: one buffer;
    // the query is re-encoded at most 3× longer than it came. The variant's
    // length is not known before it is written: room for a short one.
    let capacity = 8
        + canon.host.len()
        + 6
        + path.len()
        + 1
        + 3 * canon.query.len()
        + if varies {
            VARIANT_PARAM.len() + 2 + 24 * (route.vary.len() + 1)
        } else {
            0
        };
    let mut buf = Vec::with_capacity(capacity);
    canon.write_authority(&mut buf);
    let path_start = buf.len();
    buf.extend_from_slice(path.as_bytes());
    if !pairs.is_empty() {
        buf.push(b'?');
        join_pairs(&pairs, &mut buf);
    }
    let base_end = buf.len();
    if varies {
        buf.push(if pairs.is_empty() { b'?' } else { b'&' });
        buf.extend_from_slice(VARIANT_PARAM.as_bytes());
        buf.push(b'=');
        write_variant(route, req.headers, user.as_deref(), &mut buf);
    }
    // All ASCII (host and path as `url` serializes them, the rest encoded), so
    // the offsets are character boundaries.
    let url = ascii_string(buf);
    // A key is itself a request URL and must pass the limits it was checked
    // against, or keying it again would bypass (found by fuzzing): the variant
    // adds a parameter, and canonical escapes lengthen (`+` → `%20`, `'` → `%27`).
    if url.len() > config.limits.max_url_bytes {
        return bypass(Some(route), BypassReason::UrlTooLong);
    }
    if pairs.len() + usize::from(varies) > config.limits.max_query_params {
        return bypass(Some(route), BypassReason::TooManyParams);
    }
    Ok(KeyOutcome::Cache(CacheKey {
        route,
        route_index,
        url,
        path_start,
        base_end,
    }))
}

/// Any spelling of a URL → the `base_url` its requests are keyed under (and the
/// route it belongs to, if any). For purge webhooks: the origin may send
/// `http://API.example.com/api/courses/?page=1&utm_source=x`; this gives the
/// same `https://api.example.com/api/courses/` the requests produced. Outside
/// any route only tracking and variant params are dropped.
pub fn normalize_url_for_purge<'c>(
    config: &'c Config,
    url: &str,
) -> Result<(Option<&'c Route>, String), KeyError> {
    let parsed = parse_url(url)?;
    let canon = canonicalize(url, &parsed)?;
    let Some(path) = canon.path.as_deref() else {
        return Err(KeyError::SuspiciousPath(url.to_string()));
    };
    let route = config.route_index(path).map(|i| &config.routes[i]);
    let pairs = normalize_query(
        canon.query,
        route.map(|r| &r.query),
        &config.tracking_params,
    );
    let mut base = Vec::with_capacity(canon.host.len() + path.len() + 3 * canon.query.len() + 16);
    canon.write_authority(&mut base);
    base.extend_from_slice(path.as_bytes());
    if !pairs.is_empty() {
        base.push(b'?');
        join_pairs(&pairs, &mut base);
    }
    Ok((route, ascii_string(base)))
}
