//! Origin fetch with a timeout. The request is built from core values; the
//! response body stays a JS stream.

use crate::headers::Headers as CoreHeaders;
use futures_util::future::{select, Either};
use std::time::Duration;
use worker::{AbortController, Delay, Fetch, Method, Request, RequestInit, Response};

/// How an origin fetch ended, for the core to decide on (serve stale, 502, 504).
pub enum OriginResult {
    Response(Response),
    /// Connection refused, reset, DNS, TLS...: the message is for the log only.
    Unreachable(String),
    TimedOut,
}

pub struct OriginRequest<'a> {
    pub url: &'a str,
    pub method: Method,
    pub headers: &'a CoreHeaders,
    /// A JS body stream to forward (unsafe methods on pass-through only).
    pub body: Option<wasm_bindgen::JsValue>,
    pub timeout: Duration,
}

pub async fn fetch_origin(req: OriginRequest<'_>) -> OriginResult {
    let mut init = RequestInit::new();
    init.with_method(req.method)
        .with_redirect(worker::RequestRedirect::Manual)
        .with_body(req.body);
    match super::convert::to_worker(req.headers) {
        Ok(h) => {
            init.with_headers(h);
        }
        Err(e) => return OriginResult::Unreachable(format!("bad header: {e}")),
    }
    let request = match Request::new_with_init(req.url, &init) {
        Ok(r) => r,
        Err(e) => return OriginResult::Unreachable(format!("bad origin request: {e}")),
    };
    let controller = AbortController::default();
    let signal = controller.signal();
    let fetch = Fetch::Request(request);
    let send = Box::pin(fetch.send_with_signal(&signal));
    let timer = Box::pin(Delay::from(req.timeout));
    let outcome = match select(send, timer).await {
        Either::Left((Ok(resp), _)) => OriginResult::Response(resp),
        Either::Left((Err(e), _)) => OriginResult::Unreachable(e.to_string()),
        Either::Right(_) => OriginResult::TimedOut,
    };
    if matches!(outcome, OriginResult::TimedOut) {
        controller.abort();
    }
    outcome
}
