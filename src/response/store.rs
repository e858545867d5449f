//! The storing decision: may this origin response enter the shared cache, for
//! how long, and with which fields removed (RFC 9111 §3, plus route rules).
//!
//! Pure: the caller passes `now`. Every refusal carries a
//! [`NotStoredReason`], which becomes the `Cache-Status` detail
//! (`Detail::from(&reason)`).
//!
//! Stale entries are revalidated with their validators (`response::revalidation`),
//! but a response that may only be reused after revalidating it *every* time
//! (`no-cache`, or `must-revalidate` / `proxy-revalidate` with no freshness
//! left) is simply not stored.

use super::coding::decodable;
use crate::config::{Route, RouteKind, TtlMode, MAX_ENTRY_LIFETIME};
use crate::http::cache_control::{CacheControl, FieldScope};
use crate::http::cache_status::Detail;
use crate::http::date;
use crate::http::headers::Headers;
use crate::http::method::Method;
use crate::http::targeted::{effective_cache_control, PolicySource};
use crate::http::time::UnixSecs;
use crate::response::age::corrected_initial_age;
use crate::response::media_type::{media_type_agrees, TypeCheck};

/// Status codes that are heuristically cacheable (RFC 9110 §15.1), hence
/// storable without `status_ttl`.
pub const HEURISTICALLY_CACHEABLE: &[u16] =
    &[200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501];

/// Statuses never stored, even if `status_ttl` names them: a 206 holds part of
/// a representation and would be served as the whole (RFC 9111 §3.3 requires
/// special handling we do not implement); 304 has no body; 1xx are interim.
pub const NEVER_STORED: &[u16] = &[206, 304];

/// Longest origin tag kept (Cloudflare's Cache-Tag limit).
pub const MAX_TAG_LEN: usize = 1024;

/// Facts about the client request that affect storing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestFacts<'a> {
    /// Only GET is stored. A HEAD response has no body; storing it would
    /// poison the GET entry.
    pub method: Method,
    /// The request path (no query), used for media-type armor on media routes.
    pub path: &'a str,
    /// A configured credential (Authorization, session cookie) was present.
    pub has_credentials: bool,
    /// The request carried a body; it is not in the key, so never store.
    pub has_body: bool,
    /// The client sent `Range`. A 200 to such a request is the full
    /// representation and may be stored; a 206 never is.
    pub is_range: bool,
}

/// The origin's answer, as far as storing is concerned.
#[derive(Debug, Clone, Copy)]
pub struct OriginResponse<'a> {
    pub status: u16,
    pub headers: &'a Headers,
    /// Seconds from the origin request to its answer (RFC 9111 §4.2.3
    /// `response_delay`; the answer arrived at `now`).
    pub response_delay: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreDecision {
    Store(StorePlan),
    DontStore(NotStoredReason),
}

/// How to store an accepted response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorePlan {
    /// Freshness left from now, seconds (> 0): the freshness lifetime less
    /// `initial_age`, capped by the route.
    pub ttl: u64,
    /// The answer's age on arrival (RFC 9111 §4.2.3 `corrected_initial_age`).
    pub initial_age: u64,
    /// Seconds after expiry during which stale may be served while refreshing.
    pub stale_while_revalidate: u64,
    /// Seconds after expiry during which stale may be served if the origin fails.
    pub stale_if_error: u64,
    /// Seconds after expiry a copy with a validator is kept to be revalidated
    /// (the route's `keep`; `flow::entry::cache_api_keep`).
    pub keep: u64,
    /// Lower-case field names to remove before storing (from `private="..."`
    /// and `no-cache="..."`, RFC 9111 §5.2.2.4, §5.2.2.7).
    pub strip_headers: Vec<String>,
    /// Origin tags from the configured tag headers (trimmed, deduped, in order).
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotStoredReason {
    MethodNotCacheable,
    RequestHasBody,
    StatusNotStorable(u16),
    /// A `Content-Range` answer to a ranged request: partial content.
    PartialContent,
    NoStore,
    Private,
    NoCache,
    /// `must-revalidate`/`proxy-revalidate` with no freshness: needs revalidation.
    MustRevalidate,
    SetCookie,
    VaryStar,
    /// The response varies on a request header the route's key does not include.
    VaryUndeclared(String),
    CredentialsWithoutPublic,
    /// Media route: extension and `Content-Type` disagree, or cannot be checked.
    MediaTypeMismatch,
    ZeroTtl,
    /// The request said `no-store` (RFC 9111 §5.2.1.5; decided in `flow::client_cc`).
    RequestNoStore,
    /// A `Content-Encoding` the worker cannot decode for a client that does not
    /// accept it (`br`, `deflate`, `zstd`, several codings): the origin was asked
    /// for gzip only (`request::forward::ORIGIN_CODINGS`), and one stored copy
    /// serves every client, so such a body is passed on, never stored.
    UndecodableCoding,
}

impl NotStoredReason {
    /// Stable snake_case token for `Cache-Status: detail=`.
    pub fn as_str(&self) -> &'static str {
        match self {
            NotStoredReason::MethodNotCacheable => "method_not_cacheable",
            NotStoredReason::RequestHasBody => "request_has_body",
            NotStoredReason::StatusNotStorable(_) => "status_not_storable",
            NotStoredReason::PartialContent => "partial_content",
            NotStoredReason::NoStore => "no_store",
            NotStoredReason::Private => "private",
            NotStoredReason::NoCache => "no_cache",
            NotStoredReason::MustRevalidate => "must_revalidate",
            NotStoredReason::SetCookie => "set_cookie",
            NotStoredReason::VaryStar => "vary_star",
            NotStoredReason::VaryUndeclared(_) => "vary_undeclared",
            NotStoredReason::CredentialsWithoutPublic => "credentials_without_public",
            NotStoredReason::MediaTypeMismatch => "media_type_mismatch",
            NotStoredReason::ZeroTtl => "zero_ttl",
            NotStoredReason::RequestNoStore => "request_no_store",
            NotStoredReason::UndecodableCoding => "undecodable_coding",
        }
    }
}

impl From<&NotStoredReason> for Detail {
    fn from(reason: &NotStoredReason) -> Detail {
        Detail::Reason(reason.as_str())
    }
}

/// Decides whether and how to store `resp` in the shared cache.
///
/// Order of checks (first refusal wins): method and body; status; `no-store`;
/// `private`; `no-cache`; `Set-Cookie`; `Vary`; credentials; media type;
/// content coding; TTL.
///
/// * `Vary: accept-encoding` is ignored: every client's request reaches the
///   origin with the same `Accept-Encoding` (`request::forward::ORIGIN_CODINGS`),
///   and the one coded body stored is decoded for a client that prefers
///   another coding (`response::coding`). `Cookie` and
///   `Authorization` are covered by the credential rules (see
///   `is_credential_header`). Any other `Vary` name must be in `route.vary`
///   (which the key includes), else serving one client's variant to another
///   is possible.
/// * With credentials on a non-`per_user` route, only `public` or `s-maxage`
///   allows storing (RFC 9111 §3.5); otherwise one user's data would be served
///   to all.
/// * `TtlMode::Override` replaces lifetimes, never prohibitions: `no-store`,
///   `private`, `no-cache` and `must-revalidate` at zero still refuse.
pub fn decide_store(
    route: &Route,
    config_tag_headers: &[String],
    req: &RequestFacts<'_>,
    resp: &OriginResponse<'_>,
    now: UnixSecs,
) -> StoreDecision {
    match plan(route, config_tag_headers, req, resp, now) {
        Ok(p) => StoreDecision::Store(p),
        Err(r) => StoreDecision::DontStore(r),
    }
}

fn plan(
    route: &Route,
    config_tag_headers: &[String],
    req: &RequestFacts<'_>,
    resp: &OriginResponse<'_>,
    now: UnixSecs,
) -> Result<StorePlan, NotStoredReason> {
    use NotStoredReason as R;
    let h = resp.headers;
    if req.method != Method::Get {
        return Err(R::MethodNotCacheable);
    }
    if req.has_body {
        return Err(R::RequestHasBody);
    }
    let status_override = route.status_ttl.get(&resp.status).copied();
    if NEVER_STORED.contains(&resp.status)
        || resp.status < 200
        || (status_override.is_none() && !HEURISTICALLY_CACHEABLE.contains(&resp.status))
    {
        return Err(R::StatusNotStorable(resp.status));
    }
    if req.is_range && h.contains("content-range") {
        return Err(R::PartialContent);
    }

    // RFC 9213 §2.2: a valid targeted field replaces `Cache-Control` and `Expires`.
    let (cc, source) = effective_cache_control(h);
    if cc.no_store {
        return Err(R::NoStore);
    }
    let mut strip: Vec<String> = Vec::new();
    for scope in [&cc.private, &cc.no_cache] {
        if let FieldScope::Fields(fields) = scope {
            for f in fields {
                if !strip.contains(f) {
                    strip.push(f.clone());
                }
            }
        }
    }
    if cc.private == FieldScope::Whole {
        return Err(R::Private);
    }
    if cc.no_cache == FieldScope::Whole {
        return Err(R::NoCache);
    }
    if h.contains("set-cookie") && !strip.iter().any(|f| f == "set-cookie") {
        return Err(R::SetCookie);
    }
    check_vary(route, h)?;
    if req.has_credentials && !route.per_user && !cc.public && cc.s_maxage.is_none() {
        return Err(R::CredentialsWithoutPublic);
    }
    if route.kind == RouteKind::Media
        && media_type_agrees(req.path, h.get("content-type")) != TypeCheck::Agrees
    {
        return Err(R::MediaTypeMismatch);
    }
    // A route keyed on `Accept-Encoding` keeps one copy per client value.
    let keyed_on_coding = route.vary.iter().any(|v| v == "accept-encoding");
    if !keyed_on_coding && !decodable(h) {
        return Err(R::UndecodableCoding);
    }

    let initial_age = corrected_initial_age(h, resp.response_delay, now);
    let origin = origin_freshness(&cc, source, h, now, initial_age);
    let (ttl, swr, sie) = lifetimes(route, &cc, origin, status_override)?;
    Ok(StorePlan {
        ttl,
        initial_age,
        stale_while_revalidate: swr,
        stale_if_error: sie,
        keep: route.keep,
        strip_headers: strip,
        tags: origin_tags(h, config_tag_headers),
    })
}

/// TTL and the two stale windows: the route's or a `status_ttl`, the origin's
/// freshness under `ttl_mode = "respect"`; none when revalidation is required.
///
/// RFC 9111 §5.2.2.10: `s-maxage` implies `proxy-revalidate`. So with
/// `must-revalidate`, `proxy-revalidate` or `s-maxage` nothing stale is served
/// on the route's say-so: the route's stale windows do not apply. The origin's
/// own `stale-while-revalidate` / `stale-if-error` (RFC 5861) still do beside
/// `s-maxage` (the origin allows that staleness explicitly), but not beside
/// `must-revalidate` / `proxy-revalidate`, which forbid it outright (§5.2.2.2).
fn lifetimes(
    route: &Route,
    cc: &CacheControl,
    origin: Option<u64>,
    status_override: Option<u64>,
) -> Result<(u64, u64, u64), NotStoredReason> {
    use NotStoredReason as R;
    let revalidate = cc.must_revalidate || cc.proxy_revalidate;
    if (revalidate || cc.s_maxage.is_some()) && origin == Some(0) {
        return Err(R::MustRevalidate);
    }
    let ttl = match (status_override, &route.ttl_mode) {
        (Some(t), _) => t,
        (None, TtlMode::Override) => route.ttl,
        (None, TtlMode::Respect) => origin.map_or(route.ttl, |o| o.min(route.ttl)),
    };
    if ttl == 0 {
        return Err(R::ZeroTtl);
    }
    let (swr, sie) = if revalidate {
        // RFC 9111 §5.2.2.2: must not serve stale without revalidating.
        (0, 0)
    } else if cc.s_maxage.is_some() {
        (
            cc.stale_while_revalidate.unwrap_or(0),
            cc.stale_if_error.unwrap_or(0),
        )
    } else {
        (
            route
                .stale_while_revalidate
                .max(cc.stale_while_revalidate.unwrap_or(0)),
            route.stale_if_error.max(cc.stale_if_error.unwrap_or(0)),
        )
    };
    // The origin's windows are cut so the entry lives at most
    // MAX_ENTRY_LIFETIME (purge records outlive that bound; an entry that
    // outlived its purge record would be served again as never purged).
    let room = MAX_ENTRY_LIFETIME.saturating_sub(ttl);
    Ok((ttl.min(MAX_ENTRY_LIFETIME), swr.min(room), sie.min(room)))
}

/// `Vary: Cookie` / `Vary: Authorization` (Django adds `Cookie` whenever the
/// session is read) are governed by the credential rules instead: on shared
/// routes a request carrying a credential bypasses the cache and the origin is
/// never sent `Cookie` or `Authorization` for a cacheable request, so every
/// stored response is the "no credential" variant; on `per_user` routes the
/// credential is in the key. Either way no variant can reach the wrong client.
fn is_credential_header(name: &str) -> bool {
    ["cookie", "authorization"]
        .iter()
        .any(|c| c.eq_ignore_ascii_case(name))
}

fn check_vary(route: &Route, h: &Headers) -> Result<(), NotStoredReason> {
    for value in h.get_all("vary") {
        for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if name == "*" {
                return Err(NotStoredReason::VaryStar);
            }
            let declared = name.eq_ignore_ascii_case("accept-encoding")
                || route.vary.iter().any(|v| v.eq_ignore_ascii_case(name))
                || is_credential_header(name);
            if !declared {
                return Err(NotStoredReason::VaryUndeclared(name.to_ascii_lowercase()));
            }
        }
    }
    Ok(())
}

/// Remaining freshness the origin states, or `None` if it states none.
/// `s-maxage` > `max-age` > `Expires - Date` (RFC 9111 §4.2.1), minus the
/// answer's age on arrival (`initial_age`, RFC 9111 §4.2.3: an upstream
/// cache's `Age`, the time on the way). `Expires` is ignored when the policy
/// comes from a targeted field (RFC 9213 §2.2).
///
/// Fail safe: an invalid `Expires`, or several that disagree, is `0` (RFC 9111
/// §5.3). A missing or invalid `Date` is taken as `now`.
pub(crate) fn origin_freshness(
    cc: &CacheControl,
    source: PolicySource,
    h: &Headers,
    now: UnixSecs,
    initial_age: u64,
) -> Option<u64> {
    let lifetime = if let Some(s) = cc.s_maxage {
        s
    } else if let Some(m) = cc.max_age {
        m
    } else if source != PolicySource::CacheControl {
        return None;
    } else {
        let mut values = h.get_all("expires");
        let first = values.next()?;
        let expires = if values.all(|v| v.trim() == first.trim()) {
            date::parse(first)
        } else {
            None
        };
        match expires {
            None => 0,
            Some(exp) => {
                let date = h.get("date").and_then(date::parse).unwrap_or(now);
                exp.saturating_sub(date)
            }
        }
    };
    Some(lifetime.saturating_sub(initial_age))
}

/// Origin tags from `tag_headers`. `surrogate-key` lists are space-separated
/// (Fastly convention); all other headers (`cache-tag`) comma-separated.
/// A tag is kept if it is 1..=1024 bytes of visible ASCII (no spaces, no
/// commas); others are ignored. Duplicates are dropped, first seen order kept.
/// Case is preserved: the purge side must compare the same way.
pub(crate) fn origin_tags(h: &Headers, tag_headers: &[String]) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    for name in tag_headers {
        let space_separated = name.eq_ignore_ascii_case("surrogate-key");
        for value in h.get_all(name) {
            let parts: Vec<&str> = if space_separated {
                value.split_ascii_whitespace().collect()
            } else {
                value.split(',').map(str::trim).collect()
            };
            for t in parts {
                let valid = !t.is_empty()
                    && t.len() <= MAX_TAG_LEN
                    && t.bytes().all(|b| b.is_ascii_graphic() && b != b',');
                if valid && !tags.iter().any(|x| x == t) {
                    tags.push(t.to_string());
                }
            }
        }
    }
    tags
}
