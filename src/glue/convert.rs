//! Conversions between `worker` types and core types. No decisions here.

use crate::headers::Headers as CoreHeaders;
use worker::{Headers, Response, ResponseBody, ResponseBuilder, Result};

/// Seconds since the Unix epoch, from JS `Date.now()`. The only clock read in
/// the program: `SystemTime::now()` panics on wasm32-unknown-unknown.
pub fn now_secs() -> u64 {
    (js_sys::Date::now() / 1000.0) as u64
}

/// Milliseconds since the Unix epoch (for logs and latency).
pub fn now_millis() -> u64 {
    js_sys::Date::now() as u64
}

pub fn to_core(headers: &Headers) -> CoreHeaders {
    headers.entries().collect()
}

pub fn to_worker(headers: &CoreHeaders) -> Result<Headers> {
    let out = Headers::new();
    for (name, value) in headers.iter() {
        out.append(name, value)?;
    }
    Ok(out)
}

/// A new response with `status`, `headers` and the body of `from` (a JS stream:
/// never read into Wasm memory).
pub fn rebuild(from: Response, status: u16, headers: &CoreHeaders) -> Result<Response> {
    let (_, body) = from.into_parts();
    Ok(ResponseBuilder::new()
        .with_status(status)
        .with_headers(to_worker(headers)?)
        .body(body))
}

/// A small response made by the worker itself (errors, receipts, 304s).
pub fn local(status: u16, headers: &CoreHeaders, body: Option<Vec<u8>>) -> Result<Response> {
    let builder = ResponseBuilder::new()
        .with_status(status)
        .with_headers(to_worker(headers)?);
    Ok(match body {
        Some(b) => builder.body(ResponseBody::Body(b)),
        None => builder.empty(),
    })
}
