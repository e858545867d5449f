//! Origin fetch with a timeout. The request is built from core values in one
//! JS call; the response body stays a JS stream.

use crate::http::headers::Headers as CoreHeaders;
use std::time::Duration;
use wasm_bindgen::prelude::*;
use worker::Response;

// `fetch` with manual redirects and a timeout: src/glue/js/fetch.js.
#[wasm_bindgen(module = "/src/glue/js/fetch.js")]
extern "C" {
    fn edgecache_fetch(
        url: &str,
        method: &str,
        headers: &worker::web_sys::Headers,
        body: &JsValue,
        timeout_ms: f64,
    ) -> js_sys::Promise;
}

/// How an origin fetch ended, for the core to decide on (serve stale, 502, 504).
pub enum OriginResult {
    Response(Response),
    /// Connection refused, reset, DNS, TLS...: the message is for the log only.
    Unreachable(String),
    TimedOut,
}

pub struct OriginRequest<'a> {
    pub url: &'a str,
    pub method: &'a str,
    pub headers: &'a CoreHeaders,
    /// A JS body to send (a stream on pass-through of unsafe methods; a string
    /// for API calls).
    pub body: Option<JsValue>,
    pub timeout: Duration,
}

pub async fn fetch_origin(req: OriginRequest<'_>) -> OriginResult {
    let headers = match super::convert::to_worker(req.headers) {
        Ok(h) => h,
        Err(e) => return OriginResult::Unreachable(format!("bad header: {e}")),
    };
    let body = req.body.unwrap_or(JsValue::NULL);
    let promise = edgecache_fetch(
        req.url,
        req.method,
        &headers.0,
        &body,
        req.timeout.as_millis() as f64,
    );
    match wasm_bindgen_futures::JsFuture::from(promise).await {
        Ok(v) if v.is_null() => OriginResult::TimedOut,
        Ok(v) => match v.as_string() {
            Some(why) => OriginResult::Unreachable(why),
            None => OriginResult::Response(Response::from(worker::web_sys::Response::from(v))),
        },
        Err(e) => OriginResult::Unreachable(format!("{e:?}")),
    }
}
