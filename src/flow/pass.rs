//! Pass-through, over the platform: the client's request forwarded to the
//! origin, nothing read from or written to the cache; a non-error answer to
//! an unsafe method invalidates in this data centre ([`super::invalidate`]).

use super::invalidate::after_answer;
use super::isolate::{Isolate, Trace};
use super::plan::{Incoming, Invalidation};
use super::platform::{Fetch, IoError, OriginRequest, Outgoing, Platform, Reply, Source};
use super::reply::{origin_failed, with_cache_status, Replied};
use super::settle::timed;
use crate::http::cache_status::CacheStatus;
use crate::http::headers::Headers;
use crate::http::method::Method;
use crate::request::canonical::key_host;
use crate::request::forward::{pass_headers, RequestBody};
use crate::response::delivery::{BodyPart, Delivery};
use std::time::Duration;

/// Timeout for pass-through requests (no route, or bypassed).
pub const PASS_TIMEOUT: Duration = Duration::from_secs(30);

/// A request `flow::plan` passes through, with the parts of `Plan::Pass`.
pub struct PassRequest<'a, B> {
    /// As sent (parsed once from the runtime's string).
    pub method: &'a Method,
    pub url: &'a str,
    pub headers: &'a Headers,
    /// The client's body, unread.
    pub body: Option<B>,
    pub cache_status: CacheStatus,
    pub invalidate: Option<Invalidation>,
    pub forward_body: RequestBody,
}

/// Forwards the client's request (method, `request::forward::pass_headers`,
/// body) to the origin, and relays its answer.
pub async fn pass<P: Platform>(
    platform: &P,
    isolate: &Isolate<P>,
    trace: &Trace,
    req: PassRequest<'_, P::Body>,
) -> Replied<P> {
    let config = &isolate.config;
    let url = url::Url::parse(req.url).map_err(|e| IoError(e.to_string()))?;
    let mut target = format!(
        "{}{}",
        config.origin.as_str().trim_end_matches('/'),
        url.path()
    );
    if let Some(q) = url.query() {
        target.push('?');
        target.push_str(q);
    }
    // The public host: the request URL's, spelled as keys spell it.
    let fwd = pass_headers(req.headers, req.forward_body, key_host(&url).as_deref());
    let body = match req.forward_body {
        RequestBody::Forward => req.body.map(Outgoing::Stream),
        RequestBody::Withhold => None,
    };
    let origin = OriginRequest {
        url: &target,
        method: req.method,
        headers: &fwd,
        body,
        timeout: PASS_TIMEOUT,
    };
    let answer = match timed(platform, Some(trace), origin).await {
        Fetch::Answered(a) => a,
        Fetch::Failed { error, why } => {
            return Ok(origin_failed(platform, error, &why, req.cache_status))
        }
    };
    if req.invalidate.is_some() {
        let url = url.to_string();
        let incoming = Incoming {
            method: req.method,
            url: &url,
            headers: req.headers,
            has_body: false,
            user_secret: isolate.user_secret(),
        };
        for inv in after_answer(
            config,
            &incoming,
            req.invalidate,
            answer.status,
            &answer.headers,
        ) {
            invalidate_here(platform, isolate, inv).await;
        }
    }
    let cs = req.cache_status.fwd_status(answer.status);
    Ok(Reply {
        delivery: Delivery {
            status: answer.status,
            headers: with_cache_status(answer.headers, &cs),
            body: BodyPart::Whole,
        },
        source: Source::Stream(answer.body),
    })
}

/// RFC 9111 §4.4: a non-error answer to an unsafe request invalidates the
/// target URI (and same-host `Location` / `Content-Location`), in this data
/// centre only (`flow::plan::Invalidation`: no KV write).
async fn invalidate_here<P: Platform>(platform: &P, isolate: &Isolate<P>, inv: Invalidation) {
    for key in &inv.key_urls {
        platform.cache_delete(key).await;
    }
    isolate.memory.borrow_mut().remove_base(&inv.base_url);
}
