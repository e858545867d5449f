//! What the worker tells its operator about each request and each purge: the
//! `Server-Timing` value, the log line (one JSON object, schema v1 in
//! `docs/observability.md`) and the Analytics Engine data point.
//!
//! Pure: the glue measures the times (JS `Date.now()` around the origin fetch
//! and around the whole request), reads the finished response's status,
//! `Cache-Status` and `Content-Length`, draws the sampling number, and prints
//! or writes what these functions return. Outcome and tier are read back from
//! the `Cache-Status` the core built, so every path (memory, cache, miss,
//! stale, pass, the worker's own errors) is classified in one place.
//!
//! HAZARD: a cache key can hold a per-user id (the HMAC of a credential) and
//! query values; the line carries only a hash of it ([`key_hash`]), never the
//! key itself.

use crate::http::text::sha256_hex;
use crate::http::time::UnixMillis;
use crate::purge::receipt::{Receipt, ZonePurgeStatus};
use serde::{Deserialize, Serialize};

/// The log schema's version (`v` in every line). Bump it when a field changes
/// meaning or goes; adding a field keeps it.
pub const LOG_VERSION: u32 = 1;

/// The Analytics Engine binding the worker writes to when it is configured
/// (`[[analytics_engine_datasets]] binding = "EDGECACHE_ANALYTICS"`).
pub const ANALYTICS_BINDING: &str = "EDGECACHE_ANALYTICS";

/// What the cache did with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Served from the memory tier or the Cache API, fresh.
    Hit,
    /// Went to the origin for a cacheable request (no entry, expired, purged).
    Miss,
    /// A stored entry served past its freshness (stale-while-revalidate or
    /// stale-if-error).
    Stale,
    /// A cached route (or the worker's own endpoints) not using the cache for
    /// this request: a credential, a limit, a request body.
    Bypass,
    /// No route, or an unsafe method: forwarded as sent.
    Pass,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Hit => "hit",
            Outcome::Miss => "miss",
            Outcome::Stale => "stale",
            Outcome::Bypass => "bypass",
            Outcome::Pass => "pass",
        }
    }
}

/// Where the answer's body came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// The isolate's memory tier.
    Memory,
    /// The Cache API.
    Cache,
    /// The origin.
    Origin,
    /// The worker itself (a refusal, a 404 under the reserved path, a 502/504
    /// when the origin gave no answer: then `origin_ms` says how long it tried).
    Edge,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Memory => "memory",
            Tier::Cache => "cache",
            Tier::Origin => "origin",
            Tier::Edge => "edge",
        }
    }
}

/// The origin as the glue saw it: its status (none when it gave no answer)
/// and how long the fetch took until the response headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OriginSeen {
    pub status: Option<u16>,
    pub ms: u64,
}

/// One request as the glue measured it.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestFacts<'a> {
    /// When the request arrived.
    pub time: UnixMillis,
    pub route: Option<&'a str>,
    pub method: &'a str,
    pub status: u16,
    /// The `Cache-Status` value the response carries.
    pub cache_status: Option<&'a str>,
    /// The cache key URL (hashed on the way out, never logged).
    pub key: Option<&'a str>,
    pub origin: Option<OriginSeen>,
    /// From arrival to the response (headers) handed back to the runtime.
    pub total_ms: u64,
    /// `Content-Length` of the response, when it has one.
    pub bytes: Option<u64>,
}

/// One request's log line (schema v1). The field order is the JSON's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestLine {
    /// Always `"request"`.
    pub edgecache: String,
    pub v: u32,
    /// Arrival, Unix milliseconds.
    pub time: u64,
    pub route: Option<String>,
    pub method: String,
    pub status: u16,
    pub outcome: Outcome,
    pub tier: Tier,
    /// First 16 hex digits of the key's SHA-256.
    pub key: Option<String>,
    pub origin_status: Option<u16>,
    pub origin_ms: Option<u64>,
    /// The worker's own time: total minus the origin's.
    pub edge_ms: u64,
    pub bytes: Option<u64>,
    /// The `Cache-Status` detail token (why), when there is one.
    pub detail: Option<String>,
}

/// The parts of our own `Cache-Status` value the outcome depends on.
#[derive(Debug, Default, PartialEq)]
struct StatusParts<'a> {
    hit: bool,
    fwd: Option<&'a str>,
    fwd_status: bool,
    detail: Option<&'a str>,
}

/// Reads a value built by `http::cache_status::CacheStatus` (the worker's
/// own, so its parameter order and spelling are known).
fn parts(value: &str) -> StatusParts<'_> {
    let mut p = StatusParts::default();
    for param in value.split(';').skip(1).map(str::trim) {
        let (name, v) = param.split_once('=').unwrap_or((param, ""));
        match name {
            "hit" => p.hit = true,
            "fwd" => p.fwd = Some(v),
            "fwd-status" => p.fwd_status = true,
            "detail" => p.detail = Some(v.trim_matches('"')),
            _ => {}
        }
    }
    p
}

/// Outcome and tier of a response with `Cache-Status` `value`, and whether the
/// origin was asked.
pub fn classify(value: Option<&str>, asked_origin: bool) -> (Outcome, Tier, Option<&str>) {
    let p = value.map(parts).unwrap_or_default();
    let from_store = |p: &StatusParts| match p.detail {
        Some("memory") => Tier::Memory,
        _ => Tier::Cache,
    };
    let forwarded = if asked_origin {
        Tier::Origin
    } else {
        Tier::Edge
    };
    let (outcome, tier) = match (p.hit, p.fwd, p.detail) {
        (true, _, Some("stale_while_revalidate" | "soft_purged")) => (Outcome::Stale, Tier::Cache),
        (true, _, _) => (Outcome::Hit, from_store(&p)),
        // stale-if-error: the stored entry stood in for a failed origin.
        (false, Some("stale"), _) if !p.fwd_status => (Outcome::Stale, Tier::Cache),
        (false, Some("uri-miss"), Some("no_route")) | (false, Some("method"), _) => {
            (Outcome::Pass, forwarded)
        }
        (false, Some("bypass"), _) => (Outcome::Bypass, forwarded),
        (false, Some(_), _) => (Outcome::Miss, forwarded),
        (false, None, _) => (Outcome::Pass, forwarded),
    };
    // A 502/504 the worker made: the origin was asked but gave no answer.
    let tier = match (tier, p.detail) {
        (Tier::Origin, Some("origin_unreachable" | "origin_timeout")) => Tier::Edge,
        (t, _) => t,
    };
    (outcome, tier, p.detail)
}

/// The first 16 hex digits of the SHA-256 of `key`: enough to tell keys apart
/// in a report, nothing of what they hold.
pub fn key_hash(key: &str) -> String {
    let mut h = sha256_hex(key.as_bytes());
    h.truncate(16);
    h
}

impl RequestLine {
    pub fn new(f: &RequestFacts) -> RequestLine {
        let (outcome, tier, detail) = classify(f.cache_status, f.origin.is_some());
        let origin_ms = f.origin.map(|o| o.ms);
        RequestLine {
            edgecache: "request".into(),
            v: LOG_VERSION,
            time: f.time.0,
            route: f.route.map(str::to_string),
            method: f.method.to_string(),
            status: f.status,
            outcome,
            tier,
            key: f.key.map(key_hash),
            origin_status: f.origin.and_then(|o| o.status),
            origin_ms,
            edge_ms: f.total_ms.saturating_sub(origin_ms.unwrap_or(0)),
            bytes: f.bytes,
            detail: detail.map(str::to_string),
        }
    }

    /// The line of a request whose handler failed with an error (the runtime
    /// answers 500 itself): status 500, tier `edge`, detail `worker_error`.
    pub fn failed(f: &RequestFacts) -> RequestLine {
        let mut line = RequestLine::new(&RequestFacts {
            status: 500,
            cache_status: None,
            bytes: None,
            ..f.clone()
        });
        if f.key.is_some() {
            line.outcome = Outcome::Miss;
        }
        line.tier = Tier::Edge;
        line.detail = Some("worker_error".into());
        line
    }

    /// The line as printed: one JSON object, no newline inside.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Whether the line is an error's (always logged, whatever the sampling).
    pub fn is_error(&self) -> bool {
        is_error_status(self.status)
    }

    /// The Analytics Engine data point (layout in `docs/observability.md`).
    pub fn data_point(&self) -> DataPoint {
        let route = self.route.clone().unwrap_or_default();
        DataPoint {
            indexes: vec![route.clone()],
            blobs: vec![
                route,
                self.outcome.as_str().into(),
                self.tier.as_str().into(),
                self.method.clone(),
                self.detail.clone().unwrap_or_default(),
                self.key.clone().unwrap_or_default(),
            ],
            doubles: vec![
                f64::from(self.status),
                self.origin_status.map_or(0.0, f64::from),
                self.origin_ms.map_or(-1.0, |m| m as f64),
                self.edge_ms as f64,
                self.bytes.map_or(0.0, |b| b as f64),
            ],
        }
    }
}

/// Whether a request gets a log line: errors always, others when the glue's
/// uniform draw in [0, 1) falls under `log_sample`.
pub fn sampled(log_sample: f64, draw: f64, error: bool) -> bool {
    error || draw < log_sample
}

/// Whether a response with `status` is an error's (its line is always logged).
pub fn is_error_status(status: u16) -> bool {
    status >= 500
}

/// The draw [`sampled`] needs when `log_sample` is all or nothing (then no
/// random number is drawn: it is a JS call in Workers); `None` when the
/// platform must draw one.
pub fn fixed_draw(log_sample: f64) -> Option<f64> {
    match log_sample {
        s if s >= 1.0 => Some(0.0),
        s if s <= 0.0 => Some(1.0),
        _ => None,
    }
}

/// `Server-Timing` (W3C Server Timing): the edge's own time and, when the
/// origin was asked, the origin's, in milliseconds. In Workers the clock only
/// moves across I/O, so a hit served without any I/O reads `edge;dur=0`.
pub fn server_timing(total_ms: u64, origin_ms: Option<u64>) -> String {
    let edge = total_ms.saturating_sub(origin_ms.unwrap_or(0));
    match origin_ms {
        Some(o) => format!("edge;dur={edge}, origin;dur={o}"),
        None => format!("edge;dur={edge}"),
    }
}

/// One Analytics Engine data point (`writeDataPoint`'s argument).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataPoint {
    pub indexes: Vec<String>,
    pub blobs: Vec<String>,
    pub doubles: Vec<f64>,
}

/// One purge's log line (schema v1): the receipt in numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PurgeLine {
    /// Always `"purge"`.
    pub edgecache: String,
    pub v: u32,
    pub time: u64,
    /// The `webhook-id`.
    pub id: String,
    /// The receipt's status (200, or 503 when the generations were not written).
    pub status: u16,
    /// The tags purged (the origin's own names).
    pub tags: Vec<String>,
    pub urls: usize,
    pub prefixes: usize,
    pub everything: bool,
    /// Generation names written to KV.
    pub bumped: usize,
    /// Entries deleted in this data centre.
    pub deleted: usize,
    /// `off`, `queued`, `ok` or `failed`.
    pub zone: String,
    pub replayed: bool,
}

impl PurgeLine {
    pub fn new(time: UnixMillis, r: &Receipt) -> PurgeLine {
        let zone = match r.layers.zone_purge.status {
            ZonePurgeStatus::Off => "off",
            ZonePurgeStatus::Queued => "queued",
            ZonePurgeStatus::Ok => "ok",
            ZonePurgeStatus::Failed => "failed",
        };
        PurgeLine {
            edgecache: "purge".into(),
            v: LOG_VERSION,
            time: time.0,
            id: r.id.clone(),
            status: r.status(),
            tags: r.invalidated.tags.clone(),
            urls: r.invalidated.urls.len(),
            prefixes: r.invalidated.prefixes.len(),
            everything: r.invalidated.everything,
            bumped: r.layers.generations.bumped,
            deleted: r.layers.local_delete.deleted,
            zone: zone.into(),
            replayed: r.replayed,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The purge's Analytics Engine data point: index and first blob `""`
    /// (no route), outcome blob `purge`.
    pub fn data_point(&self) -> DataPoint {
        DataPoint {
            indexes: vec![String::new()],
            blobs: vec![
                String::new(),
                "purge".into(),
                String::new(),
                "POST".into(),
                self.tags.join(" "),
                self.id.clone(),
            ],
            doubles: vec![
                f64::from(self.status),
                self.bumped as f64,
                self.deleted as f64,
                0.0,
                0.0,
            ],
        }
    }
}

/// The route whose pattern matches `url`'s path, for the log line of a
/// request the plan did not key (a pass-through, a bypass).
pub fn route_of<'c>(config: &'c crate::config::Config, url: &str) -> Option<&'c str> {
    let parsed = url::Url::parse(url).ok()?;
    let i = config.route_index(parsed.path())?;
    Some(config.routes[i].name.as_str())
}
