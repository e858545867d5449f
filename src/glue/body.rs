//! Performs a [`Delivery`]: the whole body, a byte slice of it, or none. Bodies
//! stay JS streams: slicing happens in a small JS transform, so a 100 MB media
//! object never passes through Wasm memory.

use super::convert::{local, rebuild, to_worker};
use crate::delivery::{BodyPart, Delivery};
use wasm_bindgen::prelude::*;
use worker::web_sys::ReadableStream;
use worker::{Response, ResponseBody, ResponseBuilder, Result};

#[wasm_bindgen(inline_js = r#"
// Bytes start..=end of `body`, read chunk by chunk. Once `end` is passed the
// source is cancelled (on a tee'd miss only this branch stops; the cache's copy
// keeps streaming). The result has a fixed length where the runtime offers
// FixedLengthStream, so the 206 carries Content-Length, and a source that ends
// short errors the response instead of passing for complete.
export function edgecache_slice(body, start, end) {
  const stop = end + 1;
  let pos = 0;
  const reader = body.getReader();
  const sliced = new ReadableStream({
    async pull(ctl) {
      for (;;) {
        if (pos >= stop) {
          ctl.close();
          await reader.cancel().catch(() => {});
          return;
        }
        const { done, value } = await reader.read();
        if (done) {
          ctl.close();
          return;
        }
        const from = pos;
        pos += value.byteLength;
        if (pos <= start) continue;
        ctl.enqueue(value.subarray(Math.max(0, start - from), Math.min(value.byteLength, stop - from)));
        return;
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  if (typeof FixedLengthStream === "function") {
    const fixed = new FixedLengthStream(stop - start);
    sliced.pipeTo(fixed.writable).catch(() => {});
    return fixed.readable;
  }
  return sliced;
}

// Stops reading a body nobody will consume (HEAD, 304, 416 on a tee'd miss):
// an unread tee branch would otherwise buffer the whole object.
export function edgecache_cancel(body) {
  if (body && !body.locked) body.cancel().catch(() => {});
}
"#)]
extern "C" {
    fn edgecache_slice(body: &ReadableStream, start: f64, end: f64) -> ReadableStream;
    fn edgecache_cancel(body: &ReadableStream);
}

/// Answers with `delivery`, taking the body (if any) from `from`.
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
