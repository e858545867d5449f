//! The numbers of a report, per route and in all.

use super::read::Lines;
use crate::flow::observe::{Outcome, PurgeLine, RequestLine, Tier};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// How many missed keys a route lists.
pub const TOP_MISSED: usize = 5;

/// Origin latency percentiles (nearest rank), in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Latency {
    pub p50: u64,
    pub p95: u64,
    pub p99: u64,
}

/// A key that missed, why, and how often.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MissedKey {
    /// The key's hash as logged.
    pub key: String,
    /// The `detail` of the miss; `no_entry` when there was none (nothing stored).
    pub reason: String,
    pub count: u64,
}

/// One route's numbers (or all routes', under the name `all`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouteStats {
    /// The route's name; `-` for requests no route matched.
    pub route: String,
    pub requests: u64,
    pub hits_memory: u64,
    pub hits_cache: u64,
    pub misses: u64,
    pub stale: u64,
    pub bypass: u64,
    pub pass: u64,
    /// Responses with status 5xx.
    pub errors: u64,
    /// Hits and stale over hits, stale and misses (`None`: no cacheable request).
    pub hit_ratio: Option<f64>,
    /// The part of `hit_ratio` the memory tier served.
    pub memory_ratio: Option<f64>,
    /// The part of `hit_ratio` the Cache API served (stale included).
    pub cache_ratio: Option<f64>,
    /// Requests that went to the origin.
    pub origin_requests: u64,
    /// The share of requests the origin did not see.
    pub origin_offload: Option<f64>,
    pub origin_latency: Option<Latency>,
    /// Body bytes served from the memory tier or the Cache API.
    pub edge_bytes: u64,
    pub top_missed: Vec<MissedKey>,
}

/// A whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub all: RouteStats,
    /// By route name; `-` (no route) last.
    pub routes: Vec<RouteStats>,
    pub purges: Vec<PurgeLine>,
    /// The first and last request's time (Unix ms), when there is one.
    pub from: Option<u64>,
    pub to: Option<u64>,
}

/// Nearest-rank percentile `p` (1..=100) of sorted `v` (not empty).
fn percentile(sorted: &[u64], p: u64) -> u64 {
    let n = sorted.len() as u64;
    let rank = (p * n).div_ceil(100).max(1);
    sorted[usize::try_from(rank - 1).unwrap_or(0).min(sorted.len() - 1)]
}

pub fn latency(mut ms: Vec<u64>) -> Option<Latency> {
    if ms.is_empty() {
        return None;
    }
    ms.sort_unstable();
    Some(Latency {
        p50: percentile(&ms, 50),
        p95: percentile(&ms, 95),
        p99: percentile(&ms, 99),
    })
}

fn ratio(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// The numbers of `lines` (all of one route, or all routes) under `name`.
pub fn route_stats(name: &str, lines: &[&RequestLine]) -> RouteStats {
    let count = |f: &dyn Fn(&RequestLine) -> bool| lines.iter().filter(|l| f(l)).count() as u64;
    let hit_in = |tier: Tier| move |l: &RequestLine| l.outcome == Outcome::Hit && l.tier == tier;
    let hits_memory = count(&hit_in(Tier::Memory));
    let hits_cache = count(&hit_in(Tier::Cache));
    let misses = count(&|l| l.outcome == Outcome::Miss);
    let stale = count(&|l| l.outcome == Outcome::Stale);
    let cacheable = hits_memory + hits_cache + stale + misses;
    let origin_ms: Vec<u64> = lines.iter().filter_map(|l| l.origin_ms).collect();
    let requests = lines.len() as u64;
    let origin_requests = origin_ms.len() as u64;
    RouteStats {
        route: name.to_string(),
        requests,
        hits_memory,
        hits_cache,
        misses,
        stale,
        bypass: count(&|l| l.outcome == Outcome::Bypass),
        pass: count(&|l| l.outcome == Outcome::Pass),
        errors: count(&|l| l.status >= 500),
        hit_ratio: ratio(hits_memory + hits_cache + stale, cacheable),
        memory_ratio: ratio(hits_memory, cacheable),
        cache_ratio: ratio(hits_cache + stale, cacheable),
        origin_requests,
        origin_offload: ratio(requests - origin_requests, requests),
        origin_latency: latency(origin_ms),
        edge_bytes: lines
            .iter()
            .filter(|l| matches!(l.tier, Tier::Memory | Tier::Cache))
            .filter_map(|l| l.bytes)
            .sum(),
        top_missed: top_missed(lines),
    }
}

/// The keys that missed most on `lines`, with the reason, most first (ties
/// by key, then reason).
fn top_missed(lines: &[&RequestLine]) -> Vec<MissedKey> {
    let mut by: HashMap<(&str, &str), u64> = HashMap::new();
    for l in lines.iter().filter(|l| l.outcome == Outcome::Miss) {
        let key = l.key.as_deref().unwrap_or("-");
        let reason = l.detail.as_deref().unwrap_or("no_entry");
        *by.entry((key, reason)).or_default() += 1;
    }
    let mut out: Vec<MissedKey> = by
        .into_iter()
        .map(|((key, reason), count)| MissedKey {
            key: key.to_string(),
            reason: reason.to_string(),
            count,
        })
        .collect();
    out.sort_by(|a, b| (b.count, &a.key, &a.reason).cmp(&(a.count, &b.key, &b.reason)));
    out.truncate(TOP_MISSED);
    out
}

/// The report of `lines`.
pub fn summarize(lines: &Lines) -> Report {
    let mut routes: BTreeMap<&str, Vec<&RequestLine>> = BTreeMap::new();
    for l in &lines.requests {
        routes
            .entry(l.route.as_deref().unwrap_or("-"))
            .or_default()
            .push(l);
    }
    let all: Vec<&RequestLine> = lines.requests.iter().collect();
    let mut per: Vec<RouteStats> = routes
        .iter()
        .map(|(name, ls)| route_stats(name, ls))
        .collect();
    // `-` (no route) after the named routes.
    per.sort_by_key(|r| r.route == "-");
    Report {
        all: route_stats("all", &all),
        routes: per,
        purges: lines.purges.clone(),
        from: lines.requests.first().map(|r| r.time),
        to: lines.requests.last().map(|r| r.time),
    }
}
