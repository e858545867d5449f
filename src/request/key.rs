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

pub use super::canonical::{canonical_path, key_host, KeyError};
use super::canonical::{canonicalize, parse_url, Canonical};
use super::tags::expand_tags;
use crate::config::pattern::Params;
use crate::http::cache_status::Detail;
use crate::http::headers::Headers;
use crate::http::method::Method;
use crate::http::reserved::VARIANT_PARAM;
use crate::request::query::{
    ascii_string, join_pairs, normalize_query, normalize_query_counted, QueryParam,
};
use crate::request::variant::{has_variant, present_credentials, user_id, write_variant};
use std::borrow::Cow;

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
pub(crate) fn cache_key_parsed<'c>(
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
    // Typed values as the view reads them (`:pk(int)`: `007` → `7`).
    let path = route.path.canonical_values(path);
    let path = path.as_ref();
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
    let (url, path_start, base_end) =
        write_key(&canon, path, &pairs, route, req.headers, user.as_deref());
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
    let path = match route {
        Some(r) => r.path.canonical_values(path),
        None => std::borrow::Cow::Borrowed(path),
    };
    let path = path.as_ref();
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

/// Writes the key URL, `https://host[:port]` `/path` `?query`
/// `&__edgecache=variant`, into one buffer; returns it with where the path
/// starts and where the base URL (the key without the variant) ends.
fn write_key(
    canon: &Canonical<'_>,
    path: &str,
    pairs: &[QueryParam<'_>],
    route: &Route,
    headers: &Headers,
    user: Option<&str>,
) -> (String, usize, usize) {
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
        join_pairs(pairs, &mut buf);
    }
    let base_end = buf.len();
    if varies {
        buf.push(if pairs.is_empty() { b'?' } else { b'&' });
        buf.extend_from_slice(VARIANT_PARAM.as_bytes());
        buf.push(b'=');
        write_variant(route, headers, user, &mut buf);
    }
    // All ASCII (host and path as `url` serializes them, the rest encoded), so
    // the offsets are character boundaries.
    let url = ascii_string(buf);
    (url, path_start, base_end)
}
