//! The origin: resources `/api/items/<n>` whose data changes (a new version
//! each time; the body *is* its version, so the checker can tell how old a
//! served body is). Answers carry an `ETag`, the route's tag as `Cache-Tag`,
//! and a `Cache-Control` (some with stale windows far past
//! the route's, which the worker must cut; one per resource and run). A
//! conditional request for the
//! current version is answered 304.

use super::world::{OriginFault, World, BODY_BYTES};
use crate::flow::fetched::{FetchError, Fetched};
use crate::http::headers::Headers;

/// Resources the origin serves.
pub const RESOURCES: usize = 4;
/// The public host the worker is reached on.
pub const HOST: &str = "api.example.com";

/// The public URL of resource `r`.
pub fn url(r: usize) -> String {
    format!("https://{HOST}/api/items/{r}")
}

/// The same resource at a path no route covers: passed through, never stored.
pub fn live_url(r: usize) -> String {
    format!("https://{HOST}/api/live/{r}")
}

/// The resource a URL names (the key URL or origin URL of one, cached or not).
pub fn resource_of(url: &str) -> Option<usize> {
    let tail = url
        .split("/api/items/")
        .nth(1)
        .or_else(|| url.split("/api/live/").nth(1))?;
    let digits: String = tail.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[derive(Debug)]
pub struct Origin {
    /// Current version of each resource.
    pub versions: Vec<u64>,
    /// Each resource's `Cache-Control` (one of [`CACHE_CONTROLS`]), drawn per run.
    pub cache_control: Vec<&'static str>,
    /// Requests it received (all kinds).
    pub requests: u64,
    /// When the last origin fault ended (true ms).
    pub healthy_since: u64,
}

/// What the origin's answers say about caching: one per resource, for the
/// whole run (an API's endpoint answers alike).
pub const CACHE_CONTROLS: [&str; 4] = [
    "max-age=60, stale-if-error=31536000",
    "max-age=20, stale-while-revalidate=30",
    "max-age=0, must-revalidate",
    "max-age=120",
];

impl Default for Origin {
    fn default() -> Origin {
        Origin {
            versions: vec![1; RESOURCES],
            cache_control: vec![CACHE_CONTROLS[3]; RESOURCES],
            requests: 0,
            healthy_since: 0,
        }
    }
}

/// An origin answer: status, headers and the body's version.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: Headers,
    pub version: u64,
}

/// What a fetch ended with.
pub enum Fetch {
    Response(Answer),
    Failed(FetchError),
}

impl Fetch {
    pub fn outcome(&self) -> Fetched {
        match self {
            Fetch::Response(a) => Fetched::Answered(a.status),
            Fetch::Failed(e) => Fetched::Failed(*e),
        }
    }
}

fn answer(w: &World, r: usize, if_none_match: Option<&str>) -> Answer {
    let o = w.origin.borrow();
    let version = o.versions.get(r).copied().unwrap_or(0);
    let cache_control = o.cache_control.get(r).copied().unwrap_or("no-store");
    drop(o);
    let etag = format!("\"v{version}\"");
    let mut headers = Headers::new();
    headers.append("etag", &etag);
    headers.append("cache-control", cache_control);
    headers.append("cache-tag", &format!("item:{r}"));
    if if_none_match == Some(etag.as_str()) {
        return Answer {
            status: 304,
            headers,
            version,
        };
    }
    headers.append("content-type", "application/json");
    headers.append("content-length", &BODY_BYTES.to_string());
    Answer {
        status: 200,
        headers,
        version,
    }
}

/// A GET of `origin_url` with `headers` (an `if-none-match` makes it
/// conditional), under `timeout` seconds. The answer is the resource as it is
/// when the request reaches the origin (half way through the round trip).
pub async fn fetch(w: &World, origin_url: &str, headers: &Headers, timeout: u64) -> Fetch {
    w.origin.borrow_mut().requests += 1;
    let fault = w.faults.get().origin;
    let timeout_ms = timeout.saturating_mul(1000);
    let rtt = match fault {
        OriginFault::Slow => w.draw(2_000, timeout_ms.saturating_sub(500).max(2_000)),
        _ => w.draw(20, 400),
    };
    if fault == OriginFault::Hangs || rtt >= timeout_ms {
        w.exec.sleep(timeout_ms).await;
        return Fetch::Failed(FetchError::TimedOut);
    }
    w.exec.sleep(rtt / 2).await;
    let Some(r) = resource_of(origin_url) else {
        return Fetch::Failed(FetchError::Unreachable);
    };
    let mut a = answer(w, r, headers.get("if-none-match"));
    w.exec.sleep(rtt - rtt / 2).await;
    if w.faults.get().origin == OriginFault::Errors {
        a.status = 503;
        a.headers = Headers::new();
    }
    Fetch::Response(a)
}

/// The stale windows (stale-while-revalidate, stale-if-error; ms) an entry
/// of a resource answered with `cache_control` is stored with on `route`:
/// the longer of the route's and the origin's (`response::store`; the
/// origin's are at most a year here, inside `MAX_ENTRY_LIFETIME`).
pub fn stale_windows(route: &crate::config::Route, cache_control: &str) -> (u64, u64) {
    let directive = |name: &str| {
        cache_control
            .split(',')
            .filter_map(|d| d.trim().strip_prefix(name)?.strip_prefix('='))
            .find_map(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let swr = route
        .stale_while_revalidate
        .max(directive("stale-while-revalidate"));
    let sie = route.stale_if_error.max(directive("stale-if-error"));
    (swr.saturating_mul(1000), sie.saturating_mul(1000))
}
