//! Shared test helpers: `Route` and `Headers` builders.
#![allow(dead_code)]

use std::collections::BTreeMap;

use edgecache::config::{
    Limits, ParamFilter, PathPattern, PathSegment, QueryRules, Route, RouteKind, TtlMode,
};
use edgecache::http::headers::Headers;

/// An API route `/api/*`: ttl 300, Respect, no vary, not per-user, no stale windows.
pub fn api_route() -> Route {
    Route {
        name: "api".into(),
        path: PathPattern {
            source: "/api/*".into(),
            segments: vec![PathSegment::Literal("api".into())],
            trailing_slash: false,
            wildcard: true,
        },
        kind: RouteKind::Api,
        ttl: 300,
        ttl_mode: TtlMode::Respect,
        status_ttl: BTreeMap::new(),
        tags: vec![],
        query: QueryRules {
            filter: ParamFilter::All,
            defaults: BTreeMap::new(),
            clamp: BTreeMap::new(),
            lowercase: vec![],
        },
        vary: vec![],
        per_user: false,
        credentials: vec![],
        stale_while_revalidate: 0,
        stale_if_error: 0,
        keep: 86_400,
        timeout: 10,
        browser_cache_control: None,
        honor_request_cache_control: false,
        origin: None,
        serve_private: false,
    }
}

/// A media route `/media/*` with ttl 86400.
pub fn media_route() -> Route {
    let mut r = api_route();
    r.name = "media".into();
    r.path.source = "/media/*".into();
    r.path.segments = vec![PathSegment::Literal("media".into())];
    r.kind = RouteKind::Media;
    r.ttl = 86_400;
    r
}

pub fn headers(pairs: &[(&str, &str)]) -> Headers {
    pairs.iter().copied().collect()
}

pub fn limits() -> Limits {
    Limits {
        max_url_bytes: 2048,
        max_query_params: 10,
        max_headers: 5,
        max_header_bytes: 200,
    }
}
