//! `explain`: what the cache would do with a request, as JSON for operators
//! (`edgecache explain URL`, the `/__edgecache/explain` endpoint).

use super::variant::{cookie_values, normalize_header_value};
use crate::config::{Config, Credential, Route};
use crate::http::headers::Headers;
use crate::request::key::{cache_key, KeyError, KeyOutcome, KeyRequest};
use serde::Serialize;
use std::collections::BTreeMap;

/// `{route, key, ttl_seconds, tags, cacheable, reason, request_headers, note}`.
/// `reason` is a stable snake_case string when not cacheable: `no_route`,
/// `method`, `credentials`, `suspicious_path`, `url_too_long`,
/// `too_many_params`, `too_many_headers`, `headers_too_large`, `bad_url`,
/// `unsupported_scheme`, `missing_user_secret`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    pub route: Option<String>,
    pub key: Option<String>,
    /// The route TTL (the origin may shorten it under `ttl_mode = "respect"`).
    pub ttl_seconds: Option<u64>,
    pub tags: Vec<String>,
    pub cacheable: bool,
    pub reason: Option<String>,
    /// The request headers the key depends on (the route's `vary`, and on a
    /// per-user route its credentials: `authorization`, `cookie:NAME`), as this
    /// explanation assumed them:
    /// the normalized value, `"(present)"` for a credential, `null` for not
    /// sent. Real clients send headers the explanation was not given (curl
    /// sends `Accept: */*`), so their key can differ.
    pub request_headers: BTreeMap<String, Option<String>>,
    /// How to explain the key a real client gets, when it may differ.
    pub note: Option<String>,
}

/// The headers `route`'s key depends on, as found in `headers`.
fn assumed_headers(route: &Route, headers: &Headers) -> BTreeMap<String, Option<String>> {
    let mut out: BTreeMap<String, Option<String>> = route
        .vary
        .iter()
        .map(|h| {
            let v = headers.get_joined(h).map(|v| normalize_header_value(h, &v));
            (h.clone(), v)
        })
        .collect();
    if route.per_user {
        for c in &route.credentials {
            let (name, present) = match c {
                Credential::Authorization => (
                    "authorization".to_string(),
                    headers.get("authorization").is_some(),
                ),
                Credential::Cookie(n) => {
                    (format!("cookie:{n}"), !cookie_values(headers, n).is_empty())
                }
            };
            out.insert(name, present.then(|| "(present)".to_string()));
        }
    }
    out
}

fn note_for(assumed: &BTreeMap<String, Option<String>>) -> Option<String> {
    let absent: Vec<&str> = assumed
        .iter()
        .filter(|(_, v)| v.is_none())
        .map(|(k, _)| k.as_str())
        .collect();
    if absent.is_empty() {
        return None;
    }
    let curl = if absent.contains(&"accept") {
        " curl sends `Accept: */*` and browsers their own Accept, so their key differs: \
         add -H 'Accept: */*' (endpoint: &h=Accept:*/*) to see the key curl gets."
    } else {
        ""
    };
    Some(format!(
        "explained as sent without {}; the key changes when a request carries them.{curl} \
         Give headers with -H 'Name: value' (endpoint: &h=Name:value).",
        absent.join(", ")
    ))
}

pub fn explain(config: &Config, req: &KeyRequest) -> Explanation {
    let not = |route: Option<String>, reason: &str| Explanation {
        route,
        key: None,
        ttl_seconds: None,
        tags: Vec::new(),
        cacheable: false,
        reason: Some(reason.to_string()),
        request_headers: BTreeMap::new(),
        note: None,
    };
    match cache_key(config, req) {
        Ok(KeyOutcome::Cache(k)) => {
            let request_headers = assumed_headers(k.route, req.headers);
            Explanation {
                route: Some(k.route.name.clone()),
                key: Some(k.url().to_string()),
                ttl_seconds: Some(k.route.ttl),
                tags: k.tags().into_owned(),
                cacheable: true,
                reason: None,
                note: note_for(&request_headers),
                request_headers,
            }
        }
        Ok(KeyOutcome::Bypass { route, reason }) => {
            not(route.map(|r| r.name.clone()), reason.as_str())
        }
        Ok(KeyOutcome::NoRoute) => not(None, "no_route"),
        Err(KeyError::BadUrl { .. }) => not(None, "bad_url"),
        Err(KeyError::UnsupportedScheme(_)) => not(None, "unsupported_scheme"),
        Err(KeyError::MissingUserSecret { route }) => not(Some(route), "missing_user_secret"),
        Err(KeyError::SuspiciousPath(_)) => not(None, "suspicious_path"),
    }
}

/// Checks `Authorization: Bearer <token>` against the configured token in
/// constant time (no early exit on the first differing byte). A missing
/// configured token refuses everything.
pub fn bearer_matches(configured: Option<&str>, authorization: Option<&str>) -> bool {
    let (Some(want), Some(got)) = (configured, authorization) else {
        return false;
    };
    let Some(got) = got.strip_prefix("Bearer ") else {
        return false;
    };
    if want.is_empty() {
        return false;
    }
    let (a, b) = (want.as_bytes(), got.trim().as_bytes());
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= usize::from(x ^ y);
    }
    diff == 0
}
