//! Pass-through: the client's request forwarded to the origin, nothing read
//! from or written to the cache; a non-error answer to an unsafe method
//! invalidates (in this data centre: `flow::invalidate`).

use super::body::coded;
use super::convert::{rebuild_raw, to_core};
use super::observe::Trace;
use super::origin::{Fetch, OriginRequest};
use super::{origin_failed, State};
use crate::flow::invalidate::after_answer;
use crate::flow::plan::{Incoming, Invalidation};
use crate::flow::stored::without_tag_headers;
use crate::http::cache_status::CacheStatus;
use crate::http::headers::Headers as CoreHeaders;
use crate::http::method::Method;
use crate::request::canonical::key_host;
use crate::request::forward::{pass_headers, RequestBody};
use crate::response::coding::negotiate;
use std::time::Duration;
use worker::*;

/// Timeout for pass-through requests (no route, or bypassed).
const PASS_TIMEOUT: Duration = Duration::from_secs(30);

/// The parts of `flow::Plan::Pass`.
pub struct Pass<'a> {
    /// The origin's base URL (`flow::Plan::Pass::origin`).
    pub origin: &'a str,
    pub cache_status: CacheStatus,
    pub invalidate: Option<Invalidation>,
    pub forward_body: RequestBody,
}

/// Forwards the client's request (method, `request::forward::pass_headers`,
/// body) to the origin.
pub async fn pass(
    req: Request,
    method: &Method,
    state: &State,
    headers: &CoreHeaders,
    pass: Pass<'_>,
    trace: &Trace,
) -> Result<web_sys::Response> {
    let Pass {
        origin,
        cache_status,
        invalidate,
        forward_body,
    } = pass;
    let config = &state.config;
    let url = req.url()?;
    let mut target = format!("{}{}", origin.trim_end_matches('/'), url.path());
    if let Some(q) = url.query() {
        target.push('?');
        target.push_str(q);
    }
    // The public host: the request URL's, spelled as keys spell it.
    let fwd = pass_headers(headers, forward_body, key_host(&url).as_deref());
    let body = match forward_body {
        RequestBody::Forward => req.inner().body().map(wasm_bindgen::JsValue::from),
        RequestBody::Withhold => None,
    };
    // As sent: parsed in `glue::fetch` from the raw request, not through
    // `Request::method`, which maps unknown names to GET.
    let fetch = trace
        .fetch(OriginRequest {
            url: &target,
            method,
            headers: &fwd,
            body,
            timeout: PASS_TIMEOUT,
        })
        .await;
    let resp = match fetch {
        Fetch::Response(r) => r,
        Fetch::Failed { error, why } => {
            return origin_failed(error, &why, cache_status).map(Into::into)
        }
    };
    let status = resp.status_code();
    let mut out = to_core(resp.headers());
    without_tag_headers(config, &mut out);
    if invalidate.is_some() {
        let url = url.to_string();
        let incoming = Incoming {
            method,
            url: &url,
            headers,
            has_body: false,
            user_secret: state.key_secret.as_deref().map(str::as_bytes),
        };
        for inv in after_answer(config, &incoming, invalidate, status, &out) {
            invalidate_here(state, inv).await;
        }
    }
    out.append("cache-status", &cache_status.fwd_status(status).to_string());
    // Relayed as sent (a `web_sys` response: converting a `worker::Response`
    // would build it again without `encodeBody: "manual"` and code a coded
    // body twice), decoded for a client that prefers another coding.
    let coding = negotiate(headers, &mut out);
    rebuild_raw(coded(resp, coding), status, &out)
}

/// RFC 9111 §4.4: a non-error answer to an unsafe request invalidates the
/// target URI (and same-host `Location` / `Content-Location`), in this data
/// centre only (`flow::plan::Invalidation`: no KV write).
async fn invalidate_here(state: &State, inv: Invalidation) {
    let cache = Cache::default();
    for key in &inv.key_urls {
        let _ = cache.delete(key.as_str(), false).await;
    }
    state.memory.borrow_mut().remove_base(&inv.base_url);
}
