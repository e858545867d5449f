//! `edgecache simulate`: replays an access log through three cache-key
//! functions under one cache model, to compare hit ratios.
//!
//! The three key functions:
//! - `raw-url`: the URL exactly as requested. What Django's `cache_page` keys
//!   on by default (`request.build_absolute_uri()`), and any cache without
//!   normalization.
//! - `sorted-query`: the URL with its `&`-separated query pieces sorted (byte
//!   order, whole `name=value` pieces), as Cloudflare's "Sort query string"
//!   cache setting does. Nothing is dropped or rewritten.
//! - `edgecache`: `key::cache_key` with the given config.
//!
//! Fairness rules, the same for all three:
//! - Only `GET` and `HEAD` are cacheable.
//! - Authenticated requests are uncacheable for every function. For the two
//!   baselines that is the only safe choice (a raw-URL key on an authenticated
//!   request would hand one user's data to the next requester of that URL);
//!   edgecache would in fact cache them on `per_user` routes, keyed per user,
//!   and bypass them elsewhere — counting them uncacheable understates it.
//! - One TTL per request: the TTL of the edgecache route its path matches (a
//!   property of the resource, not of the key), else `SimOptions::default_ttl`.
//! - One LRU+TTL model (`lru::LruTtl`) with the same capacity.
//!
//! Requests edgecache does not key (no route, bypass) are uncacheable for
//! edgecache only: the baselines cache every anonymous GET.

pub mod log;
pub mod lru;

use crate::config::{Config, Secs};
use crate::http::headers::Headers;
use crate::request::key::{cache_key, canonical_path, BypassReason, KeyOutcome, KeyRequest};
pub use log::{parse_log, read_log, LogEntry, LogError, LogFormat, LogOptions, ParsedLog};
use lru::{Lookup, LruTtl};
use serde::Serialize;
use std::collections::HashSet;

/// A way to turn a request into a cache key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyFunction {
    RawUrl,
    SortedQuery,
    Edgecache,
}

impl KeyFunction {
    pub const ALL: [KeyFunction; 3] = [
        KeyFunction::RawUrl,
        KeyFunction::SortedQuery,
        KeyFunction::Edgecache,
    ];

    pub fn name(&self) -> &'static str {
        match self {
            KeyFunction::RawUrl => "raw-url",
            KeyFunction::SortedQuery => "sorted-query",
            KeyFunction::Edgecache => "edgecache",
        }
    }
}

/// Why a request was not looked up in the cache model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uncacheable {
    Method,
    Authenticated,
    /// edgecache only: no route matches.
    NoRoute,
    /// edgecache only.
    Bypass(BypassReason),
    /// edgecache only: `cache_key` returned an error (bad URL, ...).
    KeyError,
}

/// The key a function gives a request, or why there is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyDecision {
    Key(String),
    Uncacheable(Uncacheable),
}

/// `a=1&c=3&b=2` → `a=1&b=2&c=3` on the query part of `url` (pieces compared
/// as bytes; empty pieces kept, nothing decoded).
pub fn sorted_query_url(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_string();
    };
    let mut pieces: Vec<&str> = query.split('&').collect();
    pieces.sort_unstable();
    format!("{base}?{}", pieces.join("&"))
}

/// The key `f` gives `entry` under `config`.
pub(crate) fn key_for(f: KeyFunction, config: &Config, entry: &LogEntry) -> KeyDecision {
    if !entry.method.is_get_or_head() {
        return KeyDecision::Uncacheable(Uncacheable::Method);
    }
    if entry.authenticated {
        return KeyDecision::Uncacheable(Uncacheable::Authenticated);
    }
    match f {
        KeyFunction::RawUrl => KeyDecision::Key(entry.url.clone()),
        KeyFunction::SortedQuery => KeyDecision::Key(sorted_query_url(&entry.url)),
        KeyFunction::Edgecache => {
            let headers = Headers::new();
            let req = KeyRequest {
                method: &entry.method,
                url: &entry.url,
                headers: &headers,
                user_secret: None,
            };
            match cache_key(config, &req) {
                Ok(KeyOutcome::Cache(k)) => KeyDecision::Key(k.into_url()),
                Ok(KeyOutcome::Bypass { reason, .. }) => {
                    KeyDecision::Uncacheable(Uncacheable::Bypass(reason))
                }
                Ok(KeyOutcome::NoRoute) => KeyDecision::Uncacheable(Uncacheable::NoRoute),
                Err(_) => KeyDecision::Uncacheable(Uncacheable::KeyError),
            }
        }
    }
}

/// The TTL every function uses for `url`: its edgecache route's, else `default`.
pub(crate) fn ttl_for(config: &Config, url: &str, default: Secs) -> Secs {
    url::Url::parse(url)
        .ok()
        .and_then(|u| canonical_path(u.path()))
        .and_then(|p| config.routes_match(&p))
        .map_or(default, |(i, _)| config.routes[i].ttl)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimOptions {
    /// Entries the modelled cache holds.
    pub capacity: usize,
    /// TTL for requests outside every route.
    pub default_ttl: Secs,
}

impl Default for SimOptions {
    /// 10 000 entries; 5 minutes outside routes.
    fn default() -> Self {
        SimOptions {
            capacity: 10_000,
            default_ttl: 300,
        }
    }
}

/// What one key function did over a whole log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub function: KeyFunction,
    pub requests: u64,
    /// Requests not looked up (method, authenticated, or edgecache's bypasses).
    pub uncacheable: u64,
    pub hits: u64,
    /// Not in the cache (never seen, or evicted).
    pub misses: u64,
    /// In the cache but past its TTL.
    pub expired: u64,
    /// Distinct keys among cacheable requests.
    pub distinct_keys: u64,
    pub evictions: u64,
}

impl Stats {
    /// Hits over all requests (uncacheable ones count as not hit).
    pub(crate) fn hit_ratio(&self) -> f64 {
        ratio(self.hits, self.requests)
    }

    /// Requests that reached the origin: everything but hits.
    pub fn origin_requests(&self) -> u64 {
        self.requests - self.hits
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// Replays `entries` through each of `functions`, each with its own fresh
/// cache model. Deterministic: the same log gives the same stats.
pub fn simulate(
    config: &Config,
    entries: &[LogEntry],
    functions: &[KeyFunction],
    opts: &SimOptions,
) -> Vec<Stats> {
    let ttls: Vec<Secs> = entries
        .iter()
        .map(|e| ttl_for(config, &e.url, opts.default_ttl))
        .collect();
    functions
        .iter()
        .map(|&f| {
            let mut cache = LruTtl::new(opts.capacity);
            let mut distinct = HashSet::new();
            let mut s = Stats {
                function: f,
                requests: 0,
                uncacheable: 0,
                hits: 0,
                misses: 0,
                expired: 0,
                distinct_keys: 0,
                evictions: 0,
            };
            for (entry, &ttl) in entries.iter().zip(&ttls) {
                s.requests += 1;
                let key = match key_for(f, config, entry) {
                    KeyDecision::Key(k) => k,
                    KeyDecision::Uncacheable(_) => {
                        s.uncacheable += 1;
                        continue;
                    }
                };
                match cache.access(&key, entry.time, ttl) {
                    Lookup::Hit => s.hits += 1,
                    Lookup::Miss => s.misses += 1,
                    Lookup::Expired => s.expired += 1,
                }
                distinct.insert(key);
            }
            s.distinct_keys = distinct.len() as u64;
            s.evictions = cache.evictions();
            s
        })
        .collect()
}

/// A plain-text table of `stats`.
pub fn render_table(stats: &[Stats]) -> String {
    let mut out = format!(
        "{:<14} {:>9} {:>10} {:>9} {:>13} {:>11} {:>9}\n",
        "key function", "requests", "hit ratio", "hits", "distinct keys", "uncacheable", "origin"
    );
    for s in stats {
        out.push_str(&format!(
            "{:<14} {:>9} {:>9.1}% {:>9} {:>13} {:>11} {:>9}\n",
            s.function.name(),
            s.requests,
            s.hit_ratio() * 100.0,
            s.hits,
            s.distinct_keys,
            s.uncacheable,
            s.origin_requests()
        ));
    }
    out
}
