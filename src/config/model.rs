//! The validated configuration: the types every other module reads.

use super::defaults::{DEFAULT_API_BASE, DEFAULT_CLOCK_SKEW, DEFAULT_KV_PROPAGATION};
use super::duration::Secs;
use super::pattern::{Params, PathPattern};
use super::query_rules::{QueryRules, TrackingParams};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Origin base URL, e.g. `http://127.0.0.1:8000` (scheme + host + port, no path).
    pub origin: url::Url,
    /// Query parameter names dropped from every key; a trailing `*` is a prefix match.
    pub tracking_params: TrackingParams,
    /// Request headers forwarded to the origin on cacheable routes (lower-case names).
    pub forward_headers: Vec<String>,
    /// Response headers that carry origin tags (lower-case), e.g. `cache-tag`, `surrogate-key`.
    pub tag_headers: Vec<String>,
    /// When true, `Cache-Status` carries `key=`.
    pub debug: bool,
    pub limits: Limits,
    pub purge: PurgeSettings,
    pub memory: MemorySettings,
    pub observability: ObservabilitySettings,
    /// Ordered: first match wins. No match = pass through, never stored.
    pub routes: Vec<Route>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    pub max_url_bytes: usize,
    pub max_query_params: usize,
    pub max_headers: usize,
    pub max_header_bytes: usize,
}

impl Default for Limits {
    /// 8 KiB URL, 100 query params, 100 headers, 32 KiB of headers.
    fn default() -> Self {
        Limits {
            max_url_bytes: 8192,
            max_query_params: 100,
            max_headers: 100,
            max_header_bytes: 32768,
        }
    }
}

/// The isolate's memory tier (see `crate::flow::memory`).
#[derive(Debug, Clone, PartialEq)]
pub struct MemorySettings {
    /// Bytes held in all (bodies, headers, keys); 0 turns the tier off.
    pub max_bytes: u64,
    /// Largest body kept.
    pub max_entry_bytes: u64,
    /// Longest an entry stays in memory, however long its TTL.
    pub max_age: Secs,
}

impl Default for MemorySettings {
    /// 16 MiB in all, bodies up to 128 KiB, at most 60 s in memory.
    fn default() -> Self {
        MemorySettings {
            max_bytes: 16 * 1024 * 1024,
            max_entry_bytes: 128 * 1024,
            max_age: 60,
        }
    }
}

/// What the worker reports about each request.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservabilitySettings {
    /// Send `Server-Timing` (the edge's time and, when it went there, the
    /// origin's) on every response.
    pub server_timing: bool,
    /// Fraction of requests that get a log line, from 0 to 1. Errors (5xx)
    /// are logged whatever this says; purges always are.
    pub log_sample: f64,
}

impl Default for ObservabilitySettings {
    /// `Server-Timing` on, every request logged.
    fn default() -> Self {
        ObservabilitySettings {
            server_timing: true,
            log_sample: 1.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PurgeSettings {
    /// How long an isolate may reuse generation numbers read from KV.
    pub generation_memo: Secs,
    /// Timestamp tolerance for signed webhooks (both directions).
    pub tolerance: Secs,
    /// Allowance for clock differences between data centres: an entry whose fetch
    /// started up to this long after a purge of one of its names still counts as
    /// purged, unless it recorded that purge's very mark before its fetch (see
    /// `crate::purge::generations`, rule 2).
    pub clock_skew: Secs,
    /// How long a Workers KV write may take to be seen in other locations
    /// (60 s in production: a location caches what it read for that long).
    /// The staleness bound a receipt states includes it; only a test against
    /// an emulated KV has a reason to set it lower.
    pub kv_propagation: Secs,
    /// Cloudflare zone purge: zone id (token is a secret). None = layer off.
    pub zone_id: Option<String>,
    /// Base URL of the zone purge API (configurable so tests can use a fake).
    pub api_base: String,
    /// The zone's Cloudflare plan: its purge API rate limit and items per call.
    pub zone_plan: ZonePlan,
}

/// A Cloudflare plan, as far as the purge API's limits go
/// (<https://developers.cloudflare.com/cache/how-to/purge-cache/>): Free 5
/// requests a minute (burst 25), Pro 5 a second, Business 10, Enterprise 50;
/// 100 items per request (Enterprise 500).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZonePlan {
    Free,
    Pro,
    Business,
    Enterprise,
}

impl Default for PurgeSettings {
    /// Memo 5 s, tolerance 5 min, clock skew 2 s, zone purge off, the public
    /// Cloudflare API, the Free plan's limits.
    fn default() -> Self {
        PurgeSettings {
            generation_memo: 5,
            tolerance: 300,
            clock_skew: DEFAULT_CLOCK_SKEW,
            kv_propagation: DEFAULT_KV_PROPAGATION,
            zone_id: None,
            api_base: DEFAULT_API_BASE.to_string(),
            // The strictest limits: a faster plan only leaves room unused.
            zone_plan: ZonePlan::Free,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteKind {
    Api,
    Media,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TtlMode {
    /// Origin freshness (`s-maxage` > `max-age` > `Expires`) capped by the route TTL;
    /// the route TTL applies when the origin says nothing.
    Respect,
    /// Route TTL wins whatever the origin says (but `no-store`/`private` still forbid storing).
    Override,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// `Authorization` header.
    Authorization,
    /// A named cookie, e.g. Django's `sessionid`.
    Cookie(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    pub name: String,
    pub path: PathPattern,
    pub kind: RouteKind,
    pub ttl: Secs,
    pub ttl_mode: TtlMode,
    /// Status code → TTL; naming an error status here makes it storable.
    pub status_ttl: BTreeMap<u16, Secs>,
    /// Tag templates such as `course:{pk}`; `{name}` must be a path param.
    pub tags: Vec<String>,
    pub query: QueryRules,
    /// Declared request headers in the key (lower-case names).
    pub vary: Vec<String>,
    pub per_user: bool,
    /// Credentials that identify a user (checked in order).
    pub credentials: Vec<Credential>,
    pub stale_while_revalidate: Secs,
    pub stale_if_error: Secs,
    /// How long past freshness an entry with a validator is kept to be
    /// revalidated (`flow::entry::cache_api_keep`).
    pub keep: Secs,
    /// Origin fetch timeout.
    pub timeout: Secs,
    /// When set, replaces `Cache-Control` on responses sent to clients.
    pub browser_cache_control: Option<String>,
    /// Honour the request's `Cache-Control: no-cache` / `max-age` (off by
    /// default: any client could force origin requests; see `flow::client_cc`).
    pub honor_request_cache_control: bool,
}

impl Config {
    /// First route whose pattern matches the canonical `path`, with its index
    /// in `routes` and the captured params. `None` = pass through, never stored.
    pub fn routes_match(&self, path: &str) -> Option<(usize, Params)> {
        let i = self.route_index(path)?;
        Some((i, self.routes[i].path.matches(path)?))
    }

    /// [`Config::routes_match`] without the params (nothing allocated).
    pub(crate) fn route_index(&self, path: &str) -> Option<usize> {
        self.routes
            .iter()
            .position(|r| r.path.matches_with(path, |_, _| ()))
    }
}
