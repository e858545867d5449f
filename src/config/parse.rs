//! `EDGECACHE` JSON → validated `Config`.
//!
//! Two stages: serde reads raw structs (`deny_unknown_fields`, so a typo such as
//! `tll = "5m"` is an error, not a silently ignored field), then validation turns
//! them into the types in `config.rs`. Routes are read one at a time so an error
//! names the route it sits in.

use super::error::{ConfigError, Place};
use super::{
    Config, Credential, Limits, ParamFilter, PurgeSettings, QueryRules, Route, RouteKind, TtlMode,
};
use crate::config::Secs;
use crate::duration::parse_duration;
use crate::routes::parse_pattern;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// Tracking parameters dropped from every key by default. A trailing `*` is a
/// prefix match. Analytics and ad-click ids: they never change an API response,
/// and each click carries a unique value, so keeping them would make every
/// request a miss.
pub const DEFAULT_TRACKING_PARAMS: &[&str] = &[
    "utm_*",
    "fbclid",
    "gclid",
    "dclid",
    "gbraid",
    "wbraid",
    "msclkid",
    "mc_cid",
    "mc_eid",
    "_ga",
    "_gl",
    "yclid",
    "igshid",
    "twclid",
    "ttclid",
    "li_fat_id",
];

/// Request headers forwarded to the origin by default (on cacheable routes,
/// only those also named in the route's `vary` are sent: see `key::origin_headers`).
pub const DEFAULT_FORWARD_HEADERS: &[&str] = &["accept", "accept-language"];

/// Headers that let a client rewrite the host, path or method the origin sees
/// (cache poisoning / routing confusion): refused in `forward_headers`.
pub const FORBIDDEN_FORWARD_HEADERS: &[&str] = &[
    "host",
    "x-forwarded-host",
    "forwarded",
    "x-host",
    "x-original-url",
    "x-rewrite-url",
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
    "connection",
    "transfer-encoding",
    "te",
    "upgrade",
];

/// Credential headers: never in `vary` or `forward_headers`; per-user routes
/// handle them (keyed by HMAC, forwarded only there).
pub const CREDENTIAL_HEADERS: &[&str] = &["authorization", "cookie", "proxy-authorization"];

pub const DEFAULT_TAG_HEADERS: &[&str] = &["cache-tag", "surrogate-key"];
pub const DEFAULT_CREDENTIALS: &[&str] = &["authorization", "cookie:sessionid"];
pub const DEFAULT_API_BASE: &str = "https://api.cloudflare.com/client/v4";

/// The reserved query parameter that carries the variant part of a key.
pub const VARIANT_PARAM: &str = "__edgecache";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    origin: String,
    tracking_params: Option<Vec<String>>,
    forward_headers: Option<Vec<String>>,
    tag_headers: Option<Vec<String>>,
    #[serde(default)]
    debug: bool,
    limits: Option<Value>,
    purge: Option<Value>,
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
struct RawPurge {
    generation_memo: Option<String>,
    tolerance: Option<String>,
    clock_skew: Option<String>,
    zone_id: Option<String>,
    api_base: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "lowercase")]
enum RawKind {
    #[default]
    Api,
    Media,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "lowercase")]
enum RawTtlMode {
    #[default]
    Respect,
    Override,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    name: String,
    path: String,
    #[serde(default)]
    kind: RawKind,
    ttl: String,
    #[serde(default)]
    ttl_mode: RawTtlMode,
    #[serde(default)]
    status_ttl: BTreeMap<String, String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    query: RawQuery,
    #[serde(default)]
    vary: Vec<String>,
    #[serde(default)]
    per_user: bool,
    credentials: Option<Vec<String>>,
    stale_while_revalidate: Option<String>,
    stale_if_error: Option<String>,
    timeout: Option<String>,
    browser_cache_control: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawQuery {
    allow: Option<Vec<String>>,
    deny: Option<Vec<String>>,
    #[serde(default)]
    defaults: BTreeMap<String, String>,
    #[serde(default)]
    clamp: BTreeMap<String, [i64; 2]>,
    #[serde(default)]
    lowercase: Vec<String>,
}

impl Config {
    /// Parses and validates the `EDGECACHE` var (as wrangler delivers it: a JSON object).
    pub fn from_json(value: &Value) -> Result<Config, ConfigError> {
        let raw: RawConfig =
            serde_json::from_value(value.clone()).map_err(|e| shape(Place::Top, e))?;
        let origin = parse_origin(&raw.origin)?;
        let tracking_params = match raw.tracking_params {
            Some(v) => v,
            None => DEFAULT_TRACKING_PARAMS
                .iter()
                .map(|s| s.to_string())
                .collect(),
        };
        for t in &tracking_params {
            let stem = t.strip_suffix('*').unwrap_or(t);
            if stem.is_empty() || stem.contains('*') {
                return Err(ConfigError::BadParamName {
                    place: Place::Top,
                    field: "tracking_params",
                    value: t.clone(),
                });
            }
        }
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

        let mut routes: Vec<Route> = Vec::with_capacity(raw.routes.len());
        for (i, rv) in raw.routes.into_iter().enumerate() {
            let place = match rv.get("name").and_then(Value::as_str) {
                Some(n) => Place::Route(n.to_string()),
                None => Place::RouteIndex(i),
            };
            let rr: RawRoute = serde_json::from_value(rv).map_err(|e| shape(place, e))?;
            let route = parse_route(rr, &tracking_params, &forward_headers)?;
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
        Ok(Config {
            origin,
            tracking_params,
            forward_headers,
            tag_headers,
            debug: raw.debug,
            limits,
            purge,
            routes,
        })
    }

    /// `from_json` on a JSON text.
    pub fn from_json_str(text: &str) -> Result<Config, ConfigError> {
        let value: Value = serde_json::from_str(text).map_err(|e| shape(Place::Top, e))?;
        Config::from_json(&value)
    }
}

fn shape(place: Place, e: serde_json::Error) -> ConfigError {
    ConfigError::Shape {
        place,
        message: e.to_string(),
    }
}

fn parse_origin(s: &str) -> Result<url::Url, ConfigError> {
    let bad = |reason| ConfigError::BadOrigin {
        value: s.to_string(),
        reason,
    };
    let u = url::Url::parse(s).map_err(|_| bad("not an absolute URL"))?;
    if u.scheme() != "http" && u.scheme() != "https" {
        return Err(bad("scheme must be http or https"));
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err(bad("no host"));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(bad("no user info allowed"));
    }
    if u.path() != "/" || u.query().is_some() || u.fragment().is_some() {
        return Err(bad("no path, query or fragment allowed"));
    }
    Ok(u)
}

/// RFC 9110 §5.6.2 token characters.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
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

fn duration(
    place: &Place,
    field: &str,
    value: Option<&str>,
    default: Secs,
) -> Result<Secs, ConfigError> {
    match value {
        None => Ok(default),
        Some(v) => parse_duration(v).map_err(|error| ConfigError::BadDuration {
            place: place.clone(),
            field: field.to_string(),
            error,
        }),
    }
}

fn parse_limits(v: Option<Value>) -> Result<Limits, ConfigError> {
    let raw: RawLimits = match v {
        None => return Ok(Limits::default()),
        Some(v) => serde_json::from_value(v).map_err(|e| shape(Place::Section("limits"), e))?,
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

fn parse_purge(v: Option<Value>) -> Result<PurgeSettings, ConfigError> {
    let place = Place::Section("purge");
    let raw: RawPurge = match v {
        None => return Ok(PurgeSettings::default()),
        Some(v) => serde_json::from_value(v).map_err(|e| shape(place.clone(), e))?,
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
    Ok(PurgeSettings {
        generation_memo,
        tolerance,
        clock_skew,
        zone_id: raw.zone_id,
        api_base,
    })
}

fn parse_route(
    raw: RawRoute,
    tracking: &[String],
    forward: &[String],
) -> Result<Route, ConfigError> {
    let name = raw.name;
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    {
        return Err(ConfigError::BadRouteName { name });
    }
    let place = Place::Route(name.clone());
    let path = parse_pattern(&raw.path).map_err(|reason| ConfigError::BadPath {
        route: name.clone(),
        value: raw.path.clone(),
        reason,
    })?;
    let ttl = duration(&place, "ttl", Some(&raw.ttl), 0)?;
    let mut status_ttl = BTreeMap::new();
    for (status, d) in &raw.status_ttl {
        let code = status
            .parse::<u16>()
            .ok()
            .filter(|c| (100..=599).contains(c) && status.len() == 3)
            .ok_or_else(|| ConfigError::BadStatus {
                route: name.clone(),
                value: status.clone(),
            })?;
        status_ttl.insert(
            code,
            duration(&place, &format!("status_ttl.{status}"), Some(d), 0)?,
        );
    }
    for t in &raw.tags {
        check_tag(&name, t, &path)?;
    }
    let query = parse_query(&name, raw.query, tracking)?;
    let mut vary: Vec<String> = Vec::new();
    for h in raw.vary {
        let lower = h.to_ascii_lowercase();
        if lower.is_empty()
            || !lower
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        {
            return Err(ConfigError::BadHeaderName {
                place: place.clone(),
                field: "vary",
                value: h,
            });
        }
        if CREDENTIAL_HEADERS.contains(&lower.as_str()) {
            return Err(ConfigError::CredentialInVary {
                route: name.clone(),
                value: lower,
            });
        }
        if !forward.contains(&lower) {
            return Err(ConfigError::VaryNotForwarded {
                route: name.clone(),
                value: lower,
            });
        }
        if vary.contains(&lower) {
            return Err(ConfigError::BadValue {
                place,
                field: "vary",
                value: lower,
                reason: "listed twice",
            });
        }
        vary.push(lower);
    }
    let credentials = parse_credentials(&name, raw.credentials)?;
    if raw.per_user && credentials.is_empty() {
        return Err(ConfigError::BadValue {
            place,
            field: "credentials",
            value: "[]".into(),
            reason: "a `per_user` route needs at least one credential",
        });
    }
    if let Some(bcc) = &raw.browser_cache_control {
        if bcc.trim().is_empty() || bcc.chars().any(|c| c.is_control()) {
            return Err(ConfigError::BadValue {
                place,
                field: "browser_cache_control",
                value: bcc.clone(),
                reason: "must be a non-empty header value without control characters",
            });
        }
    }
    Ok(Route {
        kind: match raw.kind {
            RawKind::Api => RouteKind::Api,
            RawKind::Media => RouteKind::Media,
        },
        ttl_mode: match raw.ttl_mode {
            RawTtlMode::Respect => TtlMode::Respect,
            RawTtlMode::Override => TtlMode::Override,
        },
        stale_while_revalidate: duration(
            &place,
            "stale_while_revalidate",
            raw.stale_while_revalidate.as_deref(),
            0,
        )?,
        stale_if_error: duration(&place, "stale_if_error", raw.stale_if_error.as_deref(), 0)?,
        timeout: duration(&place, "timeout", raw.timeout.as_deref(), 10)?,
        name,
        path,
        ttl,
        status_ttl,
        tags: raw.tags,
        query,
        vary,
        per_user: raw.per_user,
        credentials,
        browser_cache_control: raw.browser_cache_control,
    })
}

/// Tag templates: printable ASCII without spaces, commas or quotes (a
/// `Cache-Tag` header is a comma-separated list), `{param}` naming a path param.
fn check_tag(route: &str, t: &str, path: &crate::config::PathPattern) -> Result<(), ConfigError> {
    let bad = |reason| ConfigError::BadTag {
        route: route.to_string(),
        value: t.to_string(),
        reason,
    };
    if t.is_empty() {
        return Err(bad("empty"));
    }
    if !t
        .bytes()
        .all(|b| b.is_ascii_graphic() && b != b',' && b != b'"')
    {
        return Err(bad("use printable ASCII without spaces, commas or quotes"));
    }
    let mut rest = t;
    while let Some(open) = rest.find(['{', '}']) {
        if rest.as_bytes()[open] == b'}' {
            return Err(bad("unmatched \"}\""));
        }
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or_else(|| bad("unclosed \"{\""))?;
        let param = &after[..close];
        if param.is_empty() || param.contains('{') {
            return Err(bad("empty or nested \"{}\""));
        }
        if !path.param_names().any(|p| p == param) {
            return Err(ConfigError::UnknownTagParam {
                route: route.to_string(),
                template: t.to_string(),
                param: param.to_string(),
            });
        }
        rest = &after[close + 1..];
    }
    Ok(())
}

fn parse_credentials(
    route: &str,
    given: Option<Vec<String>>,
) -> Result<Vec<Credential>, ConfigError> {
    let list = given.unwrap_or_else(|| DEFAULT_CREDENTIALS.iter().map(|s| s.to_string()).collect());
    let mut out = Vec::with_capacity(list.len());
    for c in list {
        let cred = if c.eq_ignore_ascii_case("authorization") {
            Credential::Authorization
        } else if let Some(name) = c.strip_prefix("cookie:").filter(|n| is_token(n)) {
            Credential::Cookie(name.to_string())
        } else {
            return Err(ConfigError::BadCredential {
                route: route.to_string(),
                value: c,
            });
        };
        if !out.contains(&cred) {
            out.push(cred);
        }
    }
    Ok(out)
}

fn parse_query(route: &str, raw: RawQuery, tracking: &[String]) -> Result<QueryRules, ConfigError> {
    let place = Place::Route(route.to_string());
    let check_names = |field: &'static str, names: &[String]| -> Result<(), ConfigError> {
        for n in names {
            if n.is_empty() || n.eq_ignore_ascii_case(VARIANT_PARAM) {
                return Err(ConfigError::BadParamName {
                    place: place.clone(),
                    field,
                    value: n.clone(),
                });
            }
        }
        Ok(())
    };
    let filter = match (raw.allow, raw.deny) {
        (Some(_), Some(_)) => {
            return Err(ConfigError::AllowAndDeny {
                route: route.to_string(),
            })
        }
        (Some(a), None) => {
            check_names("query.allow", &a)?;
            ParamFilter::Allow(a)
        }
        (None, Some(d)) => {
            check_names("query.deny", &d)?;
            ParamFilter::Deny(d)
        }
        (None, None) => ParamFilter::All,
    };
    let mut rules = QueryRules {
        filter,
        defaults: BTreeMap::new(),
        clamp: BTreeMap::new(),
        lowercase: raw.lowercase,
    };
    let kept = |field: &'static str, name: &str| -> Result<(), ConfigError> {
        if name.is_empty() || name.eq_ignore_ascii_case(VARIANT_PARAM) {
            return Err(ConfigError::BadParamName {
                place: place.clone(),
                field,
                value: name.to_string(),
            });
        }
        if !rules.filter.keeps(name) || crate::query::is_tracking(tracking, name.as_bytes()) {
            return Err(ConfigError::ExcludedParam {
                route: route.to_string(),
                field,
                param: name.to_string(),
            });
        }
        Ok(())
    };
    for n in &rules.lowercase {
        kept("lowercase", n)?;
    }
    for (n, [min, max]) in &raw.clamp {
        kept("clamp", n)?;
        if min > max {
            return Err(ConfigError::ClampRange {
                route: route.to_string(),
                param: n.clone(),
                min: *min,
                max: *max,
            });
        }
    }
    for n in raw.defaults.keys() {
        kept("defaults", n)?;
    }
    rules.clamp = raw
        .clamp
        .into_iter()
        .map(|(n, [a, b])| (n, (a, b)))
        .collect();
    // Defaults are compared with *normalized* values, so normalize them the same way
    // (a default of "Beginner" on a lower-cased param must still match).
    let mut defaults = BTreeMap::new();
    for (n, v) in raw.defaults {
        let norm = crate::query::normalize_value(&rules, n.as_bytes(), v.as_bytes());
        defaults.insert(n, String::from_utf8_lossy(&norm).into_owned());
    }
    rules.defaults = defaults;
    Ok(rules)
}
