//! Performs a [`Delivery`]: the whole body, a byte slice of it, or none. Bodies
//! stay JS streams: slicing happens in a small JS transform, so a 100 MB media
//! object never passes through Wasm memory.

use super::convert::{local, rebuild, rebuild_raw, response_with, to_worker};
use crate::flow::platform::{Reply, Source};
use crate::response::delivery::{BodyPart, Delivery};
use wasm_bindgen::prelude::*;
use worker::web_sys::ReadableStream;
use worker::{Response, ResponseBody, ResponseBuilder, Result};

// The JS side, with its doc comments: src/glue/js/body.js. One namespace
// object rather than one import per function: see the end of body.js.
#[wasm_bindgen(module = "/src/glue/js/body.js", js_namespace = edgecache_body)]
extern "C" {
    fn edgecache_slice(body: &ReadableStream, start: f64, end: f64) -> ReadableStream;
    fn edgecache_cancel(body: &ReadableStream);
    fn edgecache_guard(body: &ReadableStream, expected: f64) -> js_sys::Object;
    fn edgecache_read_blob(
        body: Option<ReadableStream>,
        expected: f64,
        limit: f64,
    ) -> js_sys::Promise;
    fn edgecache_blob_stream(blob: &JsValue) -> ReadableStream;
    fn edgecache_read_upto(body: Option<ReadableStream>, limit: f64) -> js_sys::Promise;
}

/// At most `limit` bytes of `body` (the rest is cancelled unread); `None` on a
/// read error.
pub async fn read_upto(body: Option<ReadableStream>, limit: usize) -> Result<Option<Vec<u8>>> {
    let v = wasm_bindgen_futures::JsFuture::from(edgecache_read_upto(body, limit as f64)).await?;
    if v.is_null() || v.is_undefined() {
        return Ok(None);
    }
    let bytes = js_sys::Reflect::get(&v, &"bytes".into())?;
    Ok(Some(js_sys::Uint8Array::new(&bytes).to_vec()))
}

/// A body read whole in JS memory: the `Blob` and its length.
pub struct Whole {
    pub blob: JsValue,
    pub size: u64,
}

fn whole(v: &JsValue) -> Result<Whole> {
    let blob = js_sys::Reflect::get(v, &"blob".into())?;
    let size = js_sys::Reflect::get(v, &"size".into())?
        .as_f64()
        .unwrap_or(0.0) as u64;
    Ok(Whole { blob, size })
}

/// The JS stream of `from`'s body, if it has one.
pub fn stream_of(from: Response) -> Option<ReadableStream> {
    match from.into_parts() {
        (_, ResponseBody::Stream(s)) => Some(s),
        _ => None,
    }
}

/// `from`'s body read whole in JS memory (never Wasm), or `None` when it
/// errored, ended short of `expected`, or passed `limit`.
pub async fn read_whole(
    from: Response,
    expected: Option<u64>,
    limit: u64,
) -> Result<Option<Whole>> {
    let expected = expected.map_or(-1.0, |n| n as f64);
    let promise = edgecache_read_blob(stream_of(from), expected, limit as f64);
    let v = wasm_bindgen_futures::JsFuture::from(promise).await?;
    if v.is_null() || v.is_undefined() {
        return Ok(None);
    }
    whole(&v).map(Some)
}

/// `from`'s body behind a length guard (see `edgecache_guard`): it errors
/// unless complete (`expected` bytes when known), and a promise that says
/// whether it was. A body that is no stream is passed on as it is.
pub fn guard(from: Response, expected: Option<u64>) -> (Response, Option<js_sys::Promise>) {
    let expected = expected.map_or(-1.0, |n| n as f64);
    match from.into_parts() {
        (_, ResponseBody::Stream(s)) => {
            let g = edgecache_guard(&s, expected);
            let stream = js_sys::Reflect::get(&g, &"stream".into()).map(ReadableStream::from);
            let ok = js_sys::Reflect::get(&g, &"ok".into()).map(js_sys::Promise::from);
            match (stream, ok) {
                (Ok(stream), Ok(ok)) => (
                    ResponseBuilder::new().body(ResponseBody::Stream(stream)),
                    Some(ok),
                ),
                _ => (ResponseBuilder::new().body(ResponseBody::Empty), None),
            }
        }
        (_, body) => (ResponseBuilder::new().body(body), None),
    }
}

/// Sends a core [`Reply`]: its delivery from its body's source.
pub fn reply(r: Reply<Response, JsValue>) -> Result<worker::web_sys::Response> {
    match r.source {
        Source::Stream(from) => respond_raw(from, r.delivery),
        Source::Whole(blob) => respond_blob(&blob, r.delivery),
        Source::Bytes(bytes) => {
            local(r.delivery.status, &r.delivery.headers, Some(bytes)).map(Into::into)
        }
    }
}

/// Answers with `delivery` from a body held whole as a `Blob` (the memory tier).
pub fn respond_blob(blob: &JsValue, delivery: Delivery) -> Result<worker::web_sys::Response> {
    match delivery.body {
        BodyPart::Whole => response_with(blob, delivery.status, &delivery.headers),
        _ => {
            let from =
                ResponseBuilder::new().body(ResponseBody::Stream(edgecache_blob_stream(blob)));
            respond(from, delivery).map(Into::into)
        }
    }
}

/// Answers with `delivery`, taking the body (if any) from `from`.
/// [`respond`] as the runtime's response (the whole body takes one JS call).
pub fn respond_raw(from: Response, delivery: Delivery) -> Result<worker::web_sys::Response> {
    match delivery.body {
        BodyPart::Whole => rebuild_raw(from, delivery.status, &delivery.headers),
        _ => respond(from, delivery).map(Into::into),
    }
}

pub fn respond(from: Response, delivery: Delivery) -> Result<Response> {
    let Delivery {
        status,
        headers,
        body,
    } = delivery;
    match body {
        BodyPart::Whole => rebuild(from, status, &headers),
        BodyPart::Empty => {
            if let (_, ResponseBody::Stream(s)) = from.into_parts() {
                edgecache_cancel(&s);
            }
            local(status, &headers, None)
        }
        BodyPart::Range { start, end } => {
            let builder = ResponseBuilder::new()
                .with_status(status)
                .with_headers(to_worker(&headers)?);
            // Offsets are below 2^53 (the Cache API stores at most 512 MB), so f64 is exact.
            let body = match from.into_parts() {
                (_, ResponseBody::Stream(s)) => {
                    ResponseBody::Stream(edgecache_slice(&s, start as f64, end as f64))
                }
                (_, ResponseBody::Body(bytes)) => {
                    let from = usize::try_from(start).unwrap_or(usize::MAX);
                    let to = usize::try_from(end).unwrap_or(usize::MAX).saturating_add(1);
                    ResponseBody::Body(bytes.get(from..to.min(bytes.len())).unwrap_or(&[]).to_vec())
                }
                (_, ResponseBody::Empty) => ResponseBody::Empty,
            };
            Ok(builder.body(body))
        }
    }
}
