//! Origin fetch with a timeout. The request is built from core values in one
//! JS call; the response body stays a JS stream.

use crate::flow::fetched::{relayable, FetchError, Fetched};
use crate::http::headers::Headers as CoreHeaders;
use crate::http::method::Method;
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

/// How an origin fetch ended; the core decides what follows
/// (`flow::fetched::after_fetch`).
pub enum Fetch {
    Response(Response),
    /// No answer; `why` is for the log only.
    Failed {
        error: FetchError,
        why: String,
    },
}

impl Fetch {
    /// The outcome as the core reads it.
    pub fn outcome(&self) -> Fetched {
        match self {
            Fetch::Response(r) => Fetched::Answered(r.status_code()),
            Fetch::Failed { error, .. } => Fetched::Failed(*error),
        }
    }
}

pub struct OriginRequest<'a> {
    pub url: &'a str,
    /// Sent exactly as it reads ([`Method::as_str`]).
    pub method: &'a Method,
    pub headers: &'a CoreHeaders,
    /// A JS body to send (a stream on pass-through of unsafe methods; a string
    /// for API calls).
    pub body: Option<JsValue>,
    pub timeout: Duration,
}

pub async fn fetch_origin(req: OriginRequest<'_>) -> Fetch {
    let unreachable = |why: String| Fetch::Failed {
        error: FetchError::Unreachable,
        why,
    };
    let headers = match super::convert::to_worker(req.headers) {
        Ok(h) => h,
        Err(e) => return unreachable(format!("bad header: {e}")),
    };
    let body = req.body.unwrap_or(JsValue::NULL);
    let promise = edgecache_fetch(
        req.url,
        req.method.as_str(),
        &headers.0,
        &body,
        req.timeout.as_millis() as f64,
    );
    match wasm_bindgen_futures::JsFuture::from(promise).await {
        Ok(v) if v.is_null() => Fetch::Failed {
            error: FetchError::TimedOut,
            why: "timeout".to_string(),
        },
        Ok(v) => match v.as_string() {
            Some(why) => unreachable(why),
            None => {
                let resp = Response::from(worker::web_sys::Response::from(v));
                match resp.status_code() {
                    s if relayable(s) => Fetch::Response(resp),
                    s => Fetch::Failed {
                        error: FetchError::InvalidStatus,
                        why: format!("status {s}"),
                    },
                }
            }
        },
        Err(e) => unreachable(format!("{e:?}")),
    }
}
