//! Conversions between `worker` types and core types. No decisions here.

use crate::http::headers::Headers as CoreHeaders;
use crate::http::time::UnixMillis;
use wasm_bindgen::prelude::*;
use worker::{Headers, Response, ResponseBody, ResponseBuilder, Result};

// Header lists cross the Wasm boundary as one string each way ("name\nvalue\n"
// per field) instead of one JS call per field. Fetch forbids LF in header names
// and values, so the separator cannot occur inside a field; a core list that
// holds one anyway takes the per-field path (and fails as `append` does).
// The JS side: src/glue/js/headers.js.
#[wasm_bindgen(module = "/src/glue/js/headers.js")]
extern "C" {
    fn edgecache_headers_flat(h: &worker::web_sys::Headers) -> String;
    #[wasm_bindgen(catch)]
    fn edgecache_headers_from_flat(
        s: &str,
    ) -> std::result::Result<worker::web_sys::Headers, JsValue>;
    #[wasm_bindgen(catch)]
    fn edgecache_response(
        body: &JsValue,
        status: u16,
        s: &str,
    ) -> std::result::Result<worker::web_sys::Response, JsValue>;
}

/// Now, in milliseconds, from JS `Date.now()`: the only clock read in the
/// program (`SystemTime::now()` panics on wasm32-unknown-unknown). The core
/// reads it through `flow::platform::Platform::now`.
pub fn now_millis() -> UnixMillis {
    UnixMillis(js_sys::Date::now() as u64)
}

/// 64 random bits for a purge mark's nonce (`purge::mark`): it only has to
/// differ from every other purge of the same name, not to be secret.
pub fn nonce() -> u64 {
    let half = || (js_sys::Math::random() * 4_294_967_296.0) as u64 & 0xffff_ffff;
    (half() << 32) | half()
}

pub fn to_core(headers: &Headers) -> CoreHeaders {
    raw_to_core(&headers.0)
}

/// [`to_core`] for a `web_sys` header list.
pub fn raw_to_core(headers: &worker::web_sys::Headers) -> CoreHeaders {
    from_flat(&edgecache_headers_flat(headers))
}

/// A header list from its flat form (`name\nvalue\n` per field, as the JS
/// helpers write it).
pub fn from_flat(flat: &str) -> CoreHeaders {
    let mut parts = flat.split('\n');
    let mut out = CoreHeaders::new();
    while let (Some(name), Some(value)) = (parts.next(), parts.next()) {
        out.append(name, value);
    }
    out
}

/// The flat form of `headers` for the JS helpers, or `None` when a field holds
/// the separator (then the per-field path reports the invalid field).
fn flat(headers: &CoreHeaders) -> Option<String> {
    let mut flat = String::with_capacity(
        headers
            .iter()
            .map(|(n, v)| n.len() + v.len() + 2)
            .sum::<usize>(),
    );
    for (name, value) in headers.iter() {
        if name.contains('\n') || value.contains('\n') {
            return None;
        }
        flat.push_str(name);
        flat.push('\n');
        flat.push_str(value);
        flat.push('\n');
    }
    Some(flat)
}

pub fn to_worker(headers: &CoreHeaders) -> Result<Headers> {
    if let Some(flat) = flat(headers) {
        return Ok(Headers(edgecache_headers_from_flat(&flat)?));
    }
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

/// [`rebuild`] straight to the runtime's response: one JS call,
/// `new Response(body, {status, headers})`, which is what converting the
/// built `worker::Response` does.
pub fn rebuild_raw(
    from: Response,
    status: u16,
    headers: &CoreHeaders,
) -> Result<worker::web_sys::Response> {
    let flat = flat(headers);
    match (from.into_parts(), flat) {
        ((_, ResponseBody::Stream(s)), Some(flat)) => Ok(edgecache_response(&s, status, &flat)?),
        ((_, ResponseBody::Empty), Some(flat)) => {
            Ok(edgecache_response(&JsValue::NULL, status, &flat)?)
        }
        ((_, body), _) => Ok(ResponseBuilder::new()
            .with_status(status)
            .with_headers(to_worker(headers)?)
            .body(body)
            .into()),
    }
}

/// A response with `body` (any JS body: a `Blob`, a stream, null), `status`
/// and `headers`, in one JS call where the headers allow.
pub fn response_with(
    body: &JsValue,
    status: u16,
    headers: &CoreHeaders,
) -> Result<worker::web_sys::Response> {
    let Some(flat) = flat(headers) else {
        // A field holds the separator, which Fetch forbids: the per-field path
        // names it.
        to_worker(headers)?;
        return Err(worker::Error::RustError(
            "a header field holds a line feed".into(),
        ));
    };
    Ok(edgecache_response(body, status, &flat)?)
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
