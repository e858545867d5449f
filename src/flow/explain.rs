//! `GET /__edgecache/explain?url=...&h=Name:%20value`: the same JSON as
//! `edgecache explain`, for bearers of `EDGECACHE_EXPLAIN_TOKEN` only.

use super::isolate::Isolate;
use super::platform::{Platform, Reply};
use super::reply::{json, plain};
use crate::http::cache_status::{CacheStatus, Detail, Fwd};
use crate::http::headers::Headers;
use crate::http::method::Method;
use crate::request::explain::{bearer_matches, explain};
use crate::request::key::KeyRequest;

/// Answers an explain request to `url` carrying `headers`; `token` is the
/// configured `EDGECACHE_EXPLAIN_TOKEN` (none refuses every request).
pub fn explain_request<P: Platform>(
    isolate: &Isolate<P>,
    url: &str,
    token: Option<&str>,
    headers: &Headers,
) -> Reply<P::Body, P::Whole> {
    let cs = CacheStatus::forward(Fwd::Bypass).detail(Detail::Explain);
    if !bearer_matches(token, headers.get("authorization")) {
        let text = "edgecache: explain needs Authorization: Bearer <EDGECACHE_EXPLAIN_TOKEN>";
        return plain(401, text, &cs);
    }
    let mut target = None;
    let mut req_headers = Headers::new();
    if let Ok(url) = url::Url::parse(url) {
        for (k, v) in url.query_pairs() {
            match k.as_ref() {
                "url" => target = Some(v.into_owned()),
                "h" => {
                    if let Some((n, val)) = v.split_once(':') {
                        req_headers.append(n.trim(), val.trim());
                    }
                }
                _ => {}
            }
        }
    }
    let Some(target) = target else {
        return plain(400, "edgecache: explain needs ?url=", &cs);
    };
    let e = explain(
        &isolate.config,
        &KeyRequest {
            method: &Method::Get,
            url: &target,
            headers: &req_headers,
            user_secret: isolate.user_secret(),
        },
    );
    match serde_json::to_vec_pretty(&e) {
        Ok(body) => json(200, body, &cs, &[]),
        Err(e) => plain(500, &format!("edgecache: {e}"), &cs),
    }
}
