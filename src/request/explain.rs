//! `explain`: what the cache would do with a request, as JSON for operators
//! (`edgecache explain URL`, the `/__edgecache/explain` endpoint).

use crate::config::Config;
use crate::request::key::{cache_key, KeyError, KeyOutcome, KeyRequest};
use serde::Serialize;

/// `{route, key, ttl_seconds, tags, cacheable, reason}`. `reason` is a stable
/// snake_case string when not cacheable: `no_route`, `method`, `credentials`,
/// `suspicious_path`, `url_too_long`, `too_many_params`, `too_many_headers`,
/// `headers_too_large`, `bad_url`, `unsupported_scheme`, `missing_user_secret`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    pub route: Option<String>,
    pub key: Option<String>,
    /// The route TTL (the origin may shorten it under `ttl_mode = "respect"`).
    pub ttl_seconds: Option<u64>,
    pub tags: Vec<String>,
    pub cacheable: bool,
    pub reason: Option<String>,
}

pub fn explain(config: &Config, req: &KeyRequest) -> Explanation {
    let not = |route: Option<String>, reason: &str| Explanation {
        route,
        key: None,
        ttl_seconds: None,
        tags: Vec::new(),
        cacheable: false,
        reason: Some(reason.to_string()),
    };
    match cache_key(config, req) {
        Ok(KeyOutcome::Cache(k)) => Explanation {
            route: Some(k.route.name.clone()),
            key: Some(k.url().to_string()),
            ttl_seconds: Some(k.route.ttl),
            tags: k.tags().into_owned(),
            cacheable: true,
            reason: None,
        },
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
