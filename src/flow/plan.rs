//! The first decision on every request: reserved path, refusal, pass-through,
//! or a cache lookup (with the key, and what a miss must send the origin).

use super::bucket::{bucket_of, refuse_bypass, target, under_bucket_route, BucketTarget, Refused};
use crate::config::Origin;
use crate::config::{Config, Route};
use crate::http::cache_status::{CacheStatus, Detail, Fwd};
use crate::http::headers::Headers;
use crate::http::method::Method;
use crate::http::request_cc::RequestCacheControl;
use crate::http::reserved::RESERVED_PREFIX;
use crate::purge::generations::{request_names, GenName, Stamp};
use crate::request::forward::{append_public_origin, ask_codings, RequestBody};
use crate::request::key::{
    cache_key, cache_key_parsed, normalize_url_for_purge, BypassReason, CacheKey, KeyOutcome,
    KeyRequest,
};
use crate::request::limits::check_limits;

/// What the glue knows about a request before any I/O.
#[derive(Debug, Clone, Copy)]
pub struct Incoming<'a> {
    /// As sent (the glue parses the runtime's string once).
    pub method: &'a Method,
    pub url: &'a str,
    pub headers: &'a Headers,
    /// The request has a body (`Content-Length` > 0 or `Transfer-Encoding`).
    pub has_body: bool,
    /// Secret for per-user key HMACs (`EDGECACHE_KEY_SECRET`).
    pub user_secret: Option<&'a [u8]>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reserved {
    Purge,
    Explain,
    NotFound,
}

/// The first decision on every request.
#[derive(Debug)]
pub enum Plan<'c> {
    /// `/__edgecache/...`: handled by the worker itself.
    Reserved(Reserved),
    /// Answered by the worker with this status and message; never forwarded, never stored.
    Reject {
        status: u16,
        message: String,
        cache_status: CacheStatus,
        /// `Allow` of a 405 (RFC 9110 §15.5.6: the methods the target takes).
        allow: Option<&'static str>,
    },
    /// Forward the client's request ([`pass_headers`]); nothing read from or
    /// written to the cache.
    Pass {
        cache_status: CacheStatus,
        /// An unsafe method on a cached route: what a non-error answer
        /// invalidates in this data centre (RFC 9111 §4.4; `invalidate`).
        invalidate: Option<Invalidation>,
        /// Whether the request body goes on. Withheld for GET and HEAD: the
        /// Fetch API cannot send a body with them, so a GET with a body goes
        /// forward without it (and, being uncached, its answer reaches only
        /// this client).
        forward_body: RequestBody,
        /// The origin it goes to: the route's `http` origin, or the default.
        origin: &'c url::Url,
    },
    /// Cacheable: look the key up.
    Lookup(Box<Lookup<'c>>),
}

#[derive(Debug)]
pub struct Lookup<'c> {
    pub key: CacheKey<'c>,
    /// GET or HEAD (the only methods looked up); the origin is always sent GET.
    pub method: Method,
    /// Absolute origin URL: the origin base plus the canonical path and query,
    /// so the origin sees exactly what was keyed.
    pub origin_url: String,
    /// Only the keyed headers (declared `vary`, credentials on per-user routes).
    pub origin_headers: Headers,
    pub host: String,
    pub path: String,
    pub has_credentials: bool,
    /// The client's request `Cache-Control` (what it may change: `client_cc`).
    pub client_cc: RequestCacheControl,
    /// The object a miss reads when the route's origin is a bucket
    /// (`origin_url` is then unused).
    pub bucket: Option<BucketTarget<'c>>,
}

impl Lookup<'_> {
    pub fn route(&self) -> &Route {
        self.key.route
    }

    /// Generation names that apply to an entry of this key carrying `stamp`.
    pub fn names(&self, stamp: &Stamp) -> Vec<GenName> {
        let mut tags = self.key.tags().into_owned();
        tags.extend(stamp.tags().iter().cloned());
        request_names(&self.host, &self.path, self.key.base_url(), &tags)
    }

    /// Generation names known before any fetch: the key's own (URL, prefixes,
    /// route tags), without tags an origin answer may add.
    pub fn route_names(&self) -> Vec<GenName> {
        let tags = self.key.tags().into_owned();
        request_names(&self.host, &self.path, self.key.base_url(), &tags)
    }
}

/// Decides what to do with a request before any I/O.
pub fn plan<'c>(config: &'c Config, inc: &Incoming) -> Plan<'c> {
    let parsed = url::Url::parse(inc.url).ok();
    let path = parsed.as_ref().map(|u| u.path()).unwrap_or("");
    if let Some(rest) = path.strip_prefix(RESERVED_PREFIX) {
        return Plan::Reserved(match rest {
            "purge" => Reserved::Purge,
            "explain" => Reserved::Explain,
            _ => Reserved::NotFound,
        });
    }
    let param_count = parsed
        .as_ref()
        .and_then(|u| u.query())
        .map(crate::request::query::count_params)
        .unwrap_or(0);
    if let Err(v) = check_limits(inc.url.len(), param_count, inc.headers, &config.limits) {
        return Plan::Reject {
            status: v.status(),
            message: v.message().to_string(),
            cache_status: CacheStatus::forward(Fwd::Bypass).detail(Detail::Limits),
            allow: None,
        };
    }
    let req = KeyRequest {
        method: inc.method,
        url: inc.url,
        headers: inc.headers,
        user_secret: inc.user_secret,
    };
    let outcome = match cache_key_parsed(config, &req, parsed.as_ref()) {
        Ok(o) => o,
        Err(e) => {
            return Plan::Reject {
                status: 400,
                message: e.to_string(),
                cache_status: CacheStatus::forward(Fwd::Bypass).detail(Detail::BadRequest),
                allow: None,
            }
        }
    };
    keyed(config, inc, outcome, path)
}

/// What a keyed request's outcome leads to: pass through, refuse (a bucket
/// route's request that cannot be looked up), or look the key up.
fn keyed<'c>(config: &'c Config, inc: &Incoming, outcome: KeyOutcome<'c>, path: &str) -> Plan<'c> {
    // Not `has_body`: an HTTP/2 request body may come without `Content-Length`.
    let forward_body = if inc.method.is_get_or_head() {
        RequestBody::Withhold
    } else {
        RequestBody::Forward
    };
    match outcome {
        KeyOutcome::NoRoute => Plan::Pass {
            cache_status: CacheStatus::forward(Fwd::UriMiss).detail(Detail::NoRoute),
            invalidate: None,
            forward_body,
            origin: &config.origin,
        },
        KeyOutcome::Bypass {
            route: Some(r),
            reason,
        } if bucket_of(config, r).is_some() => reject(refuse_bypass(Some(reason))),
        // A suspicious path reports no route: still never sent elsewhere
        // when its raw path is under a bucket route.
        KeyOutcome::Bypass {
            route: None,
            reason,
        } if under_bucket_route(config, path) => reject(refuse_bypass(Some(reason))),
        KeyOutcome::Bypass { route, reason } => {
            let invalidate = match route {
                Some(_) if !inc.method.is_safe() => unsafe_invalidation(config, inc),
                _ => None,
            };
            let fwd = if reason == BypassReason::Method {
                Fwd::Method
            } else {
                Fwd::Bypass
            };
            Plan::Pass {
                cache_status: CacheStatus::forward(fwd).detail(reason.into()),
                invalidate,
                forward_body,
                origin: http_origin(config, route),
            }
        }
        KeyOutcome::Cache(key) => lookup(config, inc, key, forward_body),
    }
}

/// A keyed request: look it up, unless it has a body (a GET with a body: the
/// body is not in the key, so it must not shape an entry).
fn lookup<'c>(
    config: &'c Config,
    inc: &Incoming,
    key: CacheKey<'c>,
    forward_body: RequestBody,
) -> Plan<'c> {
    let bucket = match bucket_of(config, key.route) {
        Some(_) if inc.has_body => return reject(refuse_bypass(None)),
        Some(origin) => match target(origin, key.route, key.path()) {
            Ok(t) => Some(t),
            Err(refused) => return reject(refused),
        },
        None => None,
    };
    if inc.has_body {
        return Plan::Pass {
            cache_status: CacheStatus::forward(Fwd::Bypass).detail(Detail::RequestBody),
            invalidate: None,
            forward_body,
            origin: http_origin(config, Some(key.route)),
        };
    }
    let origin = http_origin(config, Some(key.route))
        .as_str()
        .trim_end_matches('/');
    let origin_url = format!("{origin}{}", key.origin_path_and_query());
    let mut origin_headers = crate::request::variant::origin_headers(key.route, inc.headers);
    append_public_origin(&mut origin_headers, key.host());
    ask_codings(&mut origin_headers);
    let (host, path) = (key.host().to_string(), key.path().to_string());
    let has_credentials =
        !crate::request::variant::present_credentials(key.route, inc.headers).is_empty();
    Plan::Lookup(Box::new(Lookup {
        method: inc.method.clone(),
        origin_url,
        origin_headers,
        host,
        path,
        has_credentials,
        client_cc: RequestCacheControl::from_headers(inc.headers),
        key,
        bucket,
    }))
}

/// The base URL requests on `route` go to: its `http` origin, or the
/// top-level `origin` (bucket routes never pass through: [`refuse_bypass`]).
fn http_origin<'c>(config: &'c Config, route: Option<&Route>) -> &'c url::Url {
    match route.and_then(|r| config.named_origin(r)) {
        Some(Origin::Http(u)) => u,
        _ => &config.origin,
    }
}

fn reject<'c>(r: Refused) -> Plan<'c> {
    Plan::Reject {
        status: r.status,
        message: r.message.to_string(),
        cache_status: r.cache_status,
        allow: (r.status == 405).then_some("GET, HEAD"),
    }
}

/// The request has a body: a `Content-Length` other than `0`, or a
/// `Transfer-Encoding` (RFC 9112 §6.1). Such a request is never answered from
/// or stored in the cache (its body is not in the key).
pub fn has_body(headers: &Headers) -> bool {
    headers
        .get("content-length")
        .is_some_and(|v| v.trim() != "0")
        || headers.contains("transfer-encoding")
}

/// What an unsafe request's success invalidates (RFC 9111 §4.4): in this data
/// centre only. The Cache API entries of the base key and of the requester's
/// own variant are deleted, and the memory tier drops every variant of the
/// base key. No KV write: an anonymous request must not be able to spend the
/// account's KV writes or reach other data centres; global invalidation is the
/// signed webhook's job (docs/caching.md, "Unsafe methods").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalidation {
    /// The base key URL: every variant of the request's URL (the memory tier
    /// drops them all).
    pub base_url: String,
    /// Key URLs to delete from this data centre's Cache API: the base key,
    /// then the requester's variant when the route has one.
    pub key_urls: Vec<String>,
}

/// The invalidation an unsafe request on a cached route would make: its URL
/// keyed as a GET with the same headers.
pub(super) fn unsafe_invalidation(config: &Config, inc: &Incoming) -> Option<Invalidation> {
    let (_, base_url) = normalize_url_for_purge(config, inc.url).ok()?;
    let mut key_urls = vec![base_url.clone()];
    let as_get = KeyRequest {
        method: &Method::Get,
        url: inc.url,
        headers: inc.headers,
        user_secret: inc.user_secret,
    };
    if let Ok(KeyOutcome::Cache(key)) = cache_key(config, &as_get) {
        if key.url() != base_url {
            key_urls.push(key.into_url());
        }
    }
    Some(Invalidation { base_url, key_urls })
}
