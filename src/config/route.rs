//! One `[[vars.EDGECACHE.routes]]` entry: raw serde struct → validated `Route`
//! (path pattern, TTLs, tags, query rules, variants, credentials). Shared field
//! helpers (durations, header lists) live in `parse.rs`.

use super::defaults::{CREDENTIAL_HEADERS, DEFAULT_CREDENTIALS};
use super::duration::Secs;
use super::error::{ConfigError, Place};
use super::fields::duration;
use super::lifetime::{check_lifetime, parse_keep};
use super::model::{Credential, Route, RouteKind, TtlMode};
use super::pattern::{parse_pattern, PathPattern};
use super::query_rules::{ParamFilter, QueryRules};
use crate::http::reserved::VARIANT_PARAM;
use crate::http::text::is_token;
use serde::Deserialize;
use std::collections::BTreeMap;

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
pub(super) struct RawRoute {
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
    keep: Option<String>,
    timeout: Option<String>,
    browser_cache_control: Option<String>,
    #[serde(default)]
    honor_request_cache_control: bool,
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

pub(super) fn parse_route(
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
    let status_ttl = parse_status_ttl(&name, &place, &raw.status_ttl)?;
    for t in &raw.tags {
        check_tag(&name, t, &path)?;
    }
    let query = parse_query(&name, raw.query, tracking)?;
    let vary = parse_vary(&name, &place, raw.vary, forward)?;
    let credentials = parse_credentials(&name, raw.credentials)?;
    if raw.per_user && credentials.is_empty() {
        return Err(ConfigError::BadValue {
            place,
            field: "credentials",
            value: "[]".into(),
            reason: "a `per_user` route needs at least one credential",
        });
    }
    check_browser_cache_control(&place, raw.browser_cache_control.as_deref())?;
    let swr = duration(
        &place,
        "stale_while_revalidate",
        raw.stale_while_revalidate.as_deref(),
        0,
    )?;
    let sie = duration(&place, "stale_if_error", raw.stale_if_error.as_deref(), 0)?;
    check_lifetime(&place, &raw.ttl, &status_ttl, ttl, swr.max(sie))?;
    let keep = parse_keep(&place, raw.keep)?;
    Ok(Route {
        kind: match raw.kind {
            RawKind::Api => RouteKind::Api,
            RawKind::Media => RouteKind::Media,
        },
        ttl_mode: match raw.ttl_mode {
            RawTtlMode::Respect => TtlMode::Respect,
            RawTtlMode::Override => TtlMode::Override,
        },
        stale_while_revalidate: swr,
        stale_if_error: sie,
        keep,
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
        honor_request_cache_control: raw.honor_request_cache_control,
    })
}

/// `browser_cache_control`: a non-empty header value without control characters.
fn check_browser_cache_control(place: &Place, value: Option<&str>) -> Result<(), ConfigError> {
    match value {
        Some(bcc) if bcc.trim().is_empty() || bcc.chars().any(|c| c.is_control()) => {
            Err(ConfigError::BadValue {
                place: place.clone(),
                field: "browser_cache_control",
                value: bcc.to_string(),
                reason: "must be a non-empty header value without control characters",
            })
        }
        _ => Ok(()),
    }
}

/// `status_ttl`: three-digit statuses 100..=599, each with a duration.
fn parse_status_ttl(
    name: &str,
    place: &Place,
    raw: &BTreeMap<String, String>,
) -> Result<BTreeMap<u16, Secs>, ConfigError> {
    let mut status_ttl = BTreeMap::new();
    for (status, d) in raw {
        let code = status
            .parse::<u16>()
            .ok()
            .filter(|c| (100..=599).contains(c) && status.len() == 3)
            .ok_or_else(|| ConfigError::BadStatus {
                route: name.to_string(),
                value: status.clone(),
            })?;
        status_ttl.insert(
            code,
            duration(place, &format!("status_ttl.{status}"), Some(d), 0)?,
        );
    }
    Ok(status_ttl)
}

/// `vary`: header names, lower-cased, never a credential, each forwarded
/// (`forward_headers`), none twice.
fn parse_vary(
    name: &str,
    place: &Place,
    raw: Vec<String>,
    forward: &[String],
) -> Result<Vec<String>, ConfigError> {
    let mut vary: Vec<String> = Vec::new();
    for h in raw {
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
                route: name.to_string(),
                value: lower,
            });
        }
        if !forward.contains(&lower) {
            return Err(ConfigError::VaryNotForwarded {
                route: name.to_string(),
                value: lower,
            });
        }
        if vary.contains(&lower) {
            return Err(ConfigError::BadValue {
                place: place.clone(),
                field: "vary",
                value: lower,
                reason: "listed twice",
            });
        }
        vary.push(lower);
    }
    Ok(vary)
}

/// Tag templates: printable ASCII without spaces, commas or quotes (a
/// `Cache-Tag` header is a comma-separated list), `{param}` naming a path param.
fn check_tag(route: &str, t: &str, path: &PathPattern) -> Result<(), ConfigError> {
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

/// `query.allow` / `query.deny` (one of them at most), names checked.
fn parse_filter(
    route: &str,
    place: &Place,
    allow: Option<Vec<String>>,
    deny: Option<Vec<String>>,
) -> Result<ParamFilter, ConfigError> {
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
    Ok(match (allow, deny) {
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
    })
}

fn parse_query(route: &str, raw: RawQuery, tracking: &[String]) -> Result<QueryRules, ConfigError> {
    let place = Place::Route(route.to_string());
    let filter = parse_filter(route, &place, raw.allow, raw.deny)?;
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
        if !rules.filter.keeps(name) || super::query_rules::is_tracking(tracking, name.as_bytes()) {
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
        let norm = rules.normalize_value(n.as_bytes(), v.as_bytes());
        defaults.insert(n, String::from_utf8_lossy(&norm).into_owned());
    }
    rules.defaults = defaults;
    Ok(rules)
}
