//! The last decision on a GET/HEAD answer: given the complete response (a stored
//! entry, or the origin's full answer to a miss), what the client receives —
//! 304 for a matching validator, 206 / 416 for a byte range on a media route,
//! no body for HEAD, else the whole response.
//!
//! The glue performs the result: it streams the whole body, a slice of it, or
//! none. The body itself never enters this module (nor Wasm memory): only its
//! length, from `Content-Length`.
//!
//! HAZARD: a range is only ever cut from a *complete* representation whose exact
//! length is known. The origin is never sent the client's `Range` (it is not a
//! keyed header), so what is stored is always the whole object; serving a slice
//! of an object of unknown or encoded length could hand out wrong bytes as if
//! they were right.

use crate::config::{Route, RouteKind};
use crate::http::headers::Headers;
use crate::http::method::Method;
use crate::response::coding::{negotiate, BodyCoding};
use crate::response::conditional::{self, Conditional};
use crate::response::range::{self, RangeOutcome};

/// Which part of the body to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyPart {
    /// The whole body.
    Whole,
    /// Bytes `start..=end` of the body (RFC 9110 §14.1.2: inclusive).
    Range { start: u64, end: u64 },
    /// No body (HEAD, 304, 416).
    Empty,
}

/// The response the client receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub status: u16,
    pub headers: Headers,
    pub body: BodyPart,
    /// The body as stored, or decoded on the way out (`response::coding`).
    pub coding: BodyCoding,
}

/// Decides the client's response to a GET or HEAD request (`method`)
/// carrying `request` headers, from a complete response with `status` and
/// `headers` (the headers a client may see, `Cache-Status` included).
///
/// Order (RFC 9110 §13.2.2): validators first (`If-None-Match`, else
/// `If-Modified-Since`; only when the response would be 2xx), then the
/// content coding (`response::coding::negotiate`: a gzip body is decoded for
/// a client that prefers another coding), then `Range` (GET, media routes,
/// 200 with a known identity-coded length; `If-Range` honoured), then HEAD
/// drops the body.
pub fn deliver(
    route: &Route,
    method: &Method,
    request: &Headers,
    status: u16,
    mut headers: Headers,
) -> Delivery {
    let head = *method == Method::Head;
    if (200..300).contains(&status)
        && conditional::evaluate(method, request, &headers) == Conditional::NotModified
    {
        return Delivery {
            status: 304,
            headers: conditional::not_modified_headers(&headers),
            body: BodyPart::Empty,
            coding: BodyCoding::AsStored,
        };
    }
    let coding = negotiate(request, &mut headers);
    // HEAD, and the statuses Fetch forbids a body for (RFC 9110 §15.3.5,
    // §15.3.6: 204 and 205 have no content), carry none.
    let whole = |status, headers| Delivery {
        status,
        headers,
        body: if head || matches!(status, 204 | 205) {
            BodyPart::Empty
        } else {
            BodyPart::Whole
        },
        coding,
    };
    let Some(total) = ranged_length(route, status, &headers) else {
        return whole(status, headers);
    };
    if !headers.contains("accept-ranges") {
        headers.append("accept-ranges", "bytes");
    }
    match range::evaluate(method, request, &headers, total) {
        RangeOutcome::Full => whole(status, headers),
        RangeOutcome::Partial { start, end, total } => {
            headers.remove("content-length");
            headers.append("content-range", &range::content_range(start, end, total));
            headers.append("content-length", &(end - start + 1).to_string());
            Delivery {
                status: 206,
                headers,
                body: BodyPart::Range { start, end },
                coding,
            }
        }
        RangeOutcome::Unsatisfiable { total } => {
            for name in ["content-length", "content-type", "content-encoding"] {
                headers.remove(name);
            }
            headers.append("content-range", &range::unsatisfied_content_range(total));
            Delivery {
                status: 416,
                headers,
                body: BodyPart::Empty,
                coding,
            }
        }
    }
}

/// The exact byte length of a response that may be served in ranges: on a
/// media route, a 200 with one valid `Content-Length` and no content coding
/// other than `identity` (a coded body's length is not the length of the bytes
/// a client would slice). `None` means ranges are ignored and the whole
/// response is served, which RFC 9110 §14.2 permits.
pub fn ranged_length(route: &Route, status: u16, headers: &Headers) -> Option<u64> {
    if route.kind != RouteKind::Media || status != 200 {
        return None;
    }
    let coded = headers
        .get_all("content-encoding")
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|c| !c.is_empty() && !c.eq_ignore_ascii_case("identity"));
    if coded {
        return None;
    }
    let mut lengths = headers.get_all("content-length");
    let (Some(len), None) = (lengths.next(), lengths.next()) else {
        return None;
    };
    let len = len.trim();
    if len.is_empty() || !len.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    len.parse().ok()
}
