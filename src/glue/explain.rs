//! `GET /__edgecache/explain?url=...&h=Name:%20value`: the same JSON as
//! `edgecache explain`, for bearers of `EDGECACHE_EXPLAIN_TOKEN` only.

use super::{convert, plain, secret, State};
use crate::http::cache_status::{CacheStatus, Detail, Fwd};
use crate::http::headers::Headers as CoreHeaders;
use crate::http::method::Method;
use crate::request::explain::bearer_matches;
use crate::request::explain::explain;
use crate::request::key::KeyRequest;
use worker::*;

pub fn handle(req: &Request, env: &Env, state: &State, headers: &CoreHeaders) -> Result<Response> {
    let cs = CacheStatus::forward(Fwd::Bypass).detail(Detail::Explain);
    let token = secret(env, "EDGECACHE_EXPLAIN_TOKEN");
    if !bearer_matches(token.as_deref(), headers.get("authorization")) {
        return plain(
            401,
            "edgecache: explain needs Authorization: Bearer <EDGECACHE_EXPLAIN_TOKEN>",
            &cs,
        );
    }
    let url = req.url()?;
    let mut target = None;
    let mut req_headers = CoreHeaders::new();
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
    let Some(target) = target else {
        return plain(400, "edgecache: explain needs ?url=", &cs);
    };
    let e = explain(
        &state.config,
        &KeyRequest {
            method: &Method::Get,
            url: &target,
            headers: &req_headers,
            user_secret: state.key_secret.as_deref().map(str::as_bytes),
        },
    );
    let body = serde_json::to_vec_pretty(&e).map_err(|e| Error::RustError(e.to_string()))?;
    let mut h = CoreHeaders::new();
    h.append("content-type", "application/json");
    h.append("cache-control", "no-store");
    h.append("cache-status", &cs.to_string());
    convert::local(200, &h, Some(body))
}
