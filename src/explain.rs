//! `explain`: what the cache would do with a request, as JSON for operators
//! (`edgecache explain URL`, the `/__edgecache/explain` endpoint).

use crate::config::Config;
use crate::key::{cache_key, KeyError, KeyOutcome, KeyRequest};
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
