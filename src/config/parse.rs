//! `EDGECACHE` JSON → validated `Config`.
//!
//! Two stages: serde reads raw structs (`deny_unknown_fields`, so a typo such as
//! `tll = "5m"` is an error, not a silently ignored field), then validation turns
//! them into the types in `config.rs`. Routes are read one at a time so an error
//! names the route it sits in.

use super::defaults::{
    CREDENTIAL_HEADERS, DEFAULT_FORWARD_HEADERS, DEFAULT_TAG_HEADERS, DEFAULT_TRACKING_PARAMS,
    FORBIDDEN_FORWARD_HEADERS, MAX_KV_PROPAGATION, MAX_MEMORY_AGE, MAX_MEMORY_BYTES, MAX_POLL_MS,
    MIN_POLL_MS,
};
use super::error::{ConfigError, Place};
use super::fields::{duration, from_value, not_json};
use super::model::{Config, Limits, MemorySettings, PurgeSettings, Route, ZonePlan};
use super::query_rules::TrackingParams;
use super::route::{parse_route, RawRoute};
use crate::http::text::is_token;
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    origin: String,
    tracking_params: Option<Vec<String>>,
    forward_headers: Option<Vec<String>>,
    tag_headers: Option<Vec<String>>,
    #[serde(default)]
    expose_tag_headers: bool,
    #[serde(default)]
    debug: bool,
    limits: Option<Value>,
    purge: Option<Value>,
    memory: Option<Value>,
    observability: Option<Value>,
    origins: Option<Value>,
    #[serde(default)]
    routes: Vec<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    max_url_bytes: Option<u64>,
    max_query_params: Option<u64>,
    max_headers: Option<u64>,
    max_header_bytes: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMemory {
    max_bytes: Option<u64>,
    max_entry_bytes: Option<u64>,
    max_age: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPurge {
    generation_memo: Option<String>,
    tolerance: Option<String>,
    clock_skew: Option<String>,
    kv_propagation: Option<String>,
    poll: Option<String>,
    zone_id: Option<String>,
    api_base: Option<String>,
    zone_plan: Option<String>,
}

impl Config {
    /// Parses and validates the `EDGECACHE` var (as wrangler delivers it: a JSON object).
    pub fn from_json(value: &Value) -> Result<Config, ConfigError> {
        let raw: RawConfig = from_value(Place::Top, value.clone())?;
        let origin = super::origins::parse_origin_url(&raw.origin)?;
        let origins = super::origins::parse_origins(raw.origins)?;
        let tracking_params = tracking_list(raw.tracking_params)?;
        let forward_headers = header_list(
            raw.forward_headers,
            DEFAULT_FORWARD_HEADERS,
            "forward_headers",
        )?;
        for h in &forward_headers {
            if FORBIDDEN_FORWARD_HEADERS.contains(&h.as_str()) {
                return Err(ConfigError::ForbiddenHeader {
                    field: "forward_headers",
                    value: h.clone(),
                });
            }
            if CREDENTIAL_HEADERS.contains(&h.as_str()) {
                return Err(ConfigError::BadValue {
                    place: Place::Top,
                    field: "forward_headers",
                    value: h.clone(),
                    reason: "credentials are forwarded only on `per_user` routes",
                });
            }
        }
        let tag_headers = header_list(raw.tag_headers, DEFAULT_TAG_HEADERS, "tag_headers")?;
        let limits = parse_limits(raw.limits)?;
        let purge = parse_purge(raw.purge)?;
        let memory = parse_memory(raw.memory)?;
        let observability = super::observability::parse_observability(raw.observability)?;

        let routes = parse_routes(raw.routes, &tracking_params, &forward_headers, &origins)?;
        Ok(Config {
            origin,
            tracking_params: TrackingParams::new(tracking_params),
            forward_headers,
            tag_headers,
            expose_tag_headers: raw.expose_tag_headers,
            debug: raw.debug,
            limits,
            purge,
            memory,
            observability,
            origins,
            routes,
        })
    }

    /// `from_json` on a JSON text.
    pub fn from_json_str(text: &str) -> Result<Config, ConfigError> {
        let value: Value = serde_json::from_str(text).map_err(not_json)?;
        Config::from_json(&value)
    }
}

/// `routes`, in order: each validated, against the named origins too; no
/// duplicate name, none shadowed by an earlier one.
fn parse_routes(
    raw_routes: Vec<Value>,
    tracking_params: &[String],
    forward_headers: &[String],
    origins: &std::collections::BTreeMap<String, super::origins::Origin>,
) -> Result<Vec<Route>, ConfigError> {
    let mut routes: Vec<Route> = Vec::with_capacity(raw_routes.len());
    for (i, rv) in raw_routes.into_iter().enumerate() {
        let place = match rv.get("name").and_then(Value::as_str) {
            Some(n) => Place::Route(n.to_string()),
            None => Place::RouteIndex(i),
        };
        let rr: RawRoute = from_value(place, rv)?;
        let mut route = parse_route(rr, tracking_params, forward_headers)?;
        super::route_origin::check_route_origin(&mut route, origins)?;
        if routes.iter().any(|r| r.name == route.name) {
            return Err(ConfigError::DuplicateRoute { name: route.name });
        }
        if let Some(earlier) = routes.iter().find(|r| route.path.is_covered_by(&r.path)) {
            return Err(ConfigError::UnreachableRoute {
                route: route.name.clone(),
                pattern: route.path.source.clone(),
                shadowed_by: earlier.name.clone(),
            });
        }
        routes.push(route);
    }
    Ok(routes)
}

/// `tracking_params` as given, or the default list; a `*` only at the end
/// of a name that has something before it.
fn tracking_list(given: Option<Vec<String>>) -> Result<Vec<String>, ConfigError> {
    let list = match given {
        Some(v) => v,
        None => DEFAULT_TRACKING_PARAMS
            .iter()
            .map(|s| s.to_string())
            .collect(),
    };
    for t in &list {
        let stem = t.strip_suffix('*').unwrap_or(t);
        if stem.is_empty() || stem.contains('*') {
            return Err(ConfigError::BadParamName {
                place: Place::Top,
                field: "tracking_params",
                value: t.clone(),
            });
        }
    }
    Ok(list)
}

fn header_list(
    given: Option<Vec<String>>,
    default: &[&str],
    field: &'static str,
) -> Result<Vec<String>, ConfigError> {
    let list = match given {
        Some(v) => v,
        None => return Ok(default.iter().map(|s| s.to_string()).collect()),
    };
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for h in list {
        if !is_token(&h) {
            return Err(ConfigError::BadHeaderName {
                place: Place::Top,
                field,
                value: h,
            });
        }
        let lower = h.to_ascii_lowercase();
        if !out.contains(&lower) {
            out.push(lower);
        }
    }
    Ok(out)
}

fn parse_limits(v: Option<Value>) -> Result<Limits, ConfigError> {
    let raw: RawLimits = match v {
        None => return Ok(Limits::default()),
        Some(v) => from_value(Place::Section("limits"), v)?,
    };
    let d = Limits::default();
    let pick = |field: &'static str, v: Option<u64>, dflt: usize| -> Result<usize, ConfigError> {
        match v {
            None => Ok(dflt),
            Some(n) if (1..=1_048_576).contains(&n) => Ok(n as usize),
            Some(n) => Err(ConfigError::BadLimit { field, value: n }),
        }
    };
    Ok(Limits {
        max_url_bytes: pick("max_url_bytes", raw.max_url_bytes, d.max_url_bytes)?,
        max_query_params: pick("max_query_params", raw.max_query_params, d.max_query_params)?,
        max_headers: pick("max_headers", raw.max_headers, d.max_headers)?,
        max_header_bytes: pick("max_header_bytes", raw.max_header_bytes, d.max_header_bytes)?,
    })
}

fn parse_memory(v: Option<Value>) -> Result<MemorySettings, ConfigError> {
    let place = Place::Section("memory");
    let raw: RawMemory = match v {
        None => return Ok(MemorySettings::default()),
        Some(v) => from_value(place.clone(), v)?,
    };
    let d = MemorySettings::default();
    let bad = |field, value: u64, reason| ConfigError::BadValue {
        place: place.clone(),
        field,
        value: value.to_string(),
        reason,
    };
    let max_bytes = raw.max_bytes.unwrap_or(d.max_bytes);
    if max_bytes > MAX_MEMORY_BYTES {
        return Err(bad(
            "max_bytes",
            max_bytes,
            "at most 67108864 (64 MiB): an isolate has 128 MB in all; 0 turns the tier off",
        ));
    }
    let max_entry_bytes = raw
        .max_entry_bytes
        .unwrap_or(d.max_entry_bytes.min(max_bytes));
    if max_bytes > 0 && !(1..=max_bytes).contains(&max_entry_bytes) {
        return Err(bad(
            "max_entry_bytes",
            max_entry_bytes,
            "must be at least 1 and at most max_bytes",
        ));
    }
    if max_entry_bytes > super::defaults::BUFFERED_COPY_LIMIT {
        return Err(bad(
            "max_entry_bytes",
            max_entry_bytes,
            "at most 4194304 (4 MiB): larger bodies are streamed, never held whole",
        ));
    }
    let max_age = duration(&place, "max_age", raw.max_age.as_deref(), d.max_age)?;
    if max_bytes > 0 && !(1..=MAX_MEMORY_AGE).contains(&max_age) {
        return Err(ConfigError::BadValue {
            place,
            field: "max_age",
            value: raw.max_age.unwrap_or_default(),
            reason: "between 1s and 1h",
        });
    }
    Ok(MemorySettings {
        max_bytes,
        max_entry_bytes,
        max_age,
    })
}

fn parse_purge(v: Option<Value>) -> Result<PurgeSettings, ConfigError> {
    let place = Place::Section("purge");
    let raw: RawPurge = match v {
        None => return Ok(PurgeSettings::default()),
        Some(v) => from_value(place.clone(), v)?,
    };
    let d = PurgeSettings::default();
    let generation_memo = duration(
        &place,
        "generation_memo",
        raw.generation_memo.as_deref(),
        d.generation_memo,
    )?;
    let tolerance = duration(&place, "tolerance", raw.tolerance.as_deref(), d.tolerance)?;
    let clock_skew = duration(
        &place,
        "clock_skew",
        raw.clock_skew.as_deref(),
        d.clock_skew,
    )?;
    let kv_propagation = duration(
        &place,
        "kv_propagation",
        raw.kv_propagation.as_deref(),
        d.kv_propagation,
    )?;
    if !(1..=MAX_KV_PROPAGATION).contains(&kv_propagation) {
        return Err(ConfigError::BadValue {
            place,
            field: "kv_propagation",
            value: raw.kv_propagation.unwrap_or_default(),
            reason: "between 1s and 1h (Workers KV: 60s)",
        });
    }
    let poll_ms = parse_poll(raw.poll.as_deref(), d.poll_ms)?;
    if let Some(z) = &raw.zone_id {
        if z.is_empty() || !z.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(ConfigError::BadValue {
                place,
                field: "zone_id",
                value: z.clone(),
                reason: "a zone id is letters and digits (32 hex digits on Cloudflare)",
            });
        }
    }
    let api_base = match raw.api_base {
        None => d.api_base,
        Some(a) => {
            let bad = |reason| ConfigError::BadUrl {
                place: Place::Section("purge"),
                field: "api_base",
                value: a.clone(),
                reason,
            };
            let u = url::Url::parse(&a).map_err(|_| bad("not an absolute URL"))?;
            if u.scheme() != "https" && u.scheme() != "http" {
                return Err(bad("scheme must be https (or http for a local fake)"));
            }
            if u.query().is_some() || u.fragment().is_some() {
                return Err(bad("no query or fragment allowed"));
            }
            a.trim_end_matches('/').to_string()
        }
    };
    let zone_plan = parse_zone_plan(raw.zone_plan.as_deref(), d.zone_plan)?;
    Ok(PurgeSettings {
        generation_memo,
        tolerance,
        clock_skew,
        kv_propagation,
        poll_ms,
        zone_id: raw.zone_id,
        api_base,
        zone_plan,
    })
}

/// `purge.poll`: `"<digits>ms"` or a duration (`"1s"`); `"0s"` or `"0ms"`
/// turns the fast path off; else between 100 ms and 1 min.
fn parse_poll(raw: Option<&str>, default: u64) -> Result<u64, ConfigError> {
    let Some(text) = raw else {
        return Ok(default);
    };
    let bad = |reason| ConfigError::BadValue {
        place: Place::Section("purge"),
        field: "poll",
        value: text.to_string(),
        reason,
    };
    let ms = match text.strip_suffix("ms") {
        Some(digits) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
            digits.parse::<u64>().map_err(|_| bad("too large"))?
        }
        Some(_) => return Err(bad("a duration such as \"500ms\" or \"1s\"")),
        None => super::duration::parse_duration(text)
            .map_err(|_| bad("a duration such as \"500ms\" or \"1s\""))?
            .saturating_mul(1000),
    };
    if ms != 0 && !(MIN_POLL_MS..=MAX_POLL_MS).contains(&ms) {
        return Err(bad("0 (off) or between 100ms and 1m"));
    }
    Ok(ms)
}

/// `purge.zone_plan`: the zone's Cloudflare plan (its purge API limits).
fn parse_zone_plan(raw: Option<&str>, default: ZonePlan) -> Result<ZonePlan, ConfigError> {
    Ok(match raw {
        None => default,
        Some("free") => ZonePlan::Free,
        Some("pro") => ZonePlan::Pro,
        Some("business") => ZonePlan::Business,
        Some("enterprise") => ZonePlan::Enterprise,
        Some(other) => {
            return Err(ConfigError::BadValue {
                place: Place::Section("purge"),
                field: "zone_plan",
                value: other.to_string(),
                reason: "one of \"free\", \"pro\", \"business\", \"enterprise\" (the zone's Cloudflare plan)",
            })
        }
    })
}
