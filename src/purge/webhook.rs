//! The purge webhook as pure steps: verify, parse, and plan what to invalidate.
//! `flow::purge_request` performs the plan (the hand-off to the writer, local
//! deletes; the writer makes the zone purge calls) and fills the receipt's
//! layer results.

use crate::config::{Config, MAX_ENTRY_LIFETIME};
use crate::http::headers::Headers;
use crate::http::method::Method;
use crate::http::time::UnixSecs;
use crate::purge::body::{parse_purge_body, PurgeBodyError, PurgeRequest, MAX_BODY_BYTES};
use crate::purge::generations::{purge_names, GenName, PurgeKind};
use crate::purge::receipt::{Receipt, RETRY_AFTER_SECS};
use crate::purge::signature::{verify, Secret, Verified, VerifyError, WebhookHeaders};
use crate::purge::writer::{staleness_bound, Writer};
use crate::purge::zone::{work as zone_work, ZoneWork};
use crate::request::key::normalize_url_for_purge;

/// Why a webhook was refused; one place maps each to an HTTP status.
#[derive(Debug)]
pub enum WebhookError {
    MethodNotAllowed,
    /// Refused before any HMAC work. `declared`: the `Content-Length`, when
    /// the sender gave one; a body without one is read only up to
    /// [`BODY_READ_LIMIT`] bytes, so its size is not known.
    TooLarge {
        declared: Option<usize>,
    },
    Signature(VerifyError),
    Body(PurgeBodyError),
    /// A URL in `urls` that can never be cached (e.g. a suspicious path).
    BadUrl {
        index: usize,
        message: String,
    },
}

impl WebhookError {
    pub fn status(&self) -> u16 {
        match self {
            WebhookError::MethodNotAllowed => 405,
            WebhookError::TooLarge { .. } => 413,
            WebhookError::Signature(e) => e.status(),
            WebhookError::Body(e) => e.status(),
            WebhookError::BadUrl { .. } => 400,
        }
    }

    /// `Retry-After` (seconds) with a refusal the sender should retry: a 503
    /// (no secret configured yet: the purge was not recorded, and a later
    /// delivery may find the secret). Every other refusal is final.
    pub fn retry_after(&self) -> Option<u64> {
        (self.status() == 503).then_some(RETRY_AFTER_SECS)
    }

    /// Short text for the client; signature failures never say which check failed
    /// beyond the public category.
    pub fn message(&self) -> String {
        match self {
            WebhookError::MethodNotAllowed => "use POST".to_string(),
            WebhookError::TooLarge {
                declared: Some(len),
            } => format!("body of {len} bytes is over the {MAX_BODY_BYTES}-byte limit"),
            WebhookError::TooLarge { declared: None } => {
                format!("body is over the {MAX_BODY_BYTES}-byte limit")
            }
            WebhookError::Signature(e) => e.client_message().to_string(),
            WebhookError::Body(e) => e.to_string(),
            WebhookError::BadUrl { index, message } => format!("urls[{index}]: {message}"),
        }
    }
}

/// How much of a webhook body the glue reads: one byte past the limit, enough
/// to know a body is too large without reading the rest (a body sent without
/// `Content-Length` could otherwise be read whole, however large, just to be
/// refused).
pub const BODY_READ_LIMIT: usize = MAX_BODY_BYTES + 1;

/// Step 1, before the body is read: method and declared size.
pub fn precheck(method: &Method, declared_len: Option<usize>) -> Result<(), WebhookError> {
    if *method != Method::Post {
        return Err(WebhookError::MethodNotAllowed);
    }
    match declared_len {
        Some(len) if len > MAX_BODY_BYTES => Err(WebhookError::TooLarge {
            declared: Some(len),
        }),
        _ => Ok(()),
    }
}

/// Steps 1–2: method and size (before any HMAC work), then the signature.
pub fn authenticate(
    method: &Method,
    declared_len: Option<usize>,
    headers: &Headers,
    body: &[u8],
    secrets: &[Secret],
    now: UnixSecs,
    tolerance: u64,
) -> Result<Verified, WebhookError> {
    precheck(method, declared_len)?;
    if body.len() > MAX_BODY_BYTES {
        // Only a body sent without `Content-Length` gets here (a declared one
        // over the limit was refused above); the glue read at most
        // `BODY_READ_LIMIT` bytes of it.
        return Err(WebhookError::TooLarge { declared: None });
    }
    verify(
        secrets,
        &WebhookHeaders::from_headers(headers),
        body,
        now,
        tolerance,
    )
    .map_err(WebhookError::Signature)
}

/// What a verified purge must do.
#[derive(Debug)]
pub struct PurgePlan {
    pub request: PurgeRequest,
    /// `urls` normalized through the key function (any spelling → the stored base key).
    pub key_urls: Vec<String>,
    /// Generation names to bump in KV.
    pub names: Vec<GenName>,
    /// Hard (the default) or soft (`"soft": true`).
    pub kind: PurgeKind,
    /// Key URLs to delete from this data centre's cache: the named URLs of a
    /// hard purge; none for a soft one (its entries stay, marked stale).
    pub local_deletes: Vec<String>,
    /// The zone purge layer's work, for the purge writer (`None` when the
    /// layer is off, and for a soft purge: the zone API only deletes).
    pub zone: Option<ZoneWork>,
    /// The receipt, layers still pending.
    pub receipt: Receipt,
}

/// Step 3: parse the body and plan the invalidation. `host` is the host the
/// webhook arrived on (for `/path` prefixes); `zone_on` says whether a zone id
/// and API token are both configured; `writer`, who writes the KV records (the
/// receipt's bound depends on it).
pub fn plan_purge(
    config: &Config,
    id: &str,
    body: &[u8],
    host: &str,
    zone_on: bool,
    writer: Writer,
    now: UnixSecs,
) -> Result<PurgePlan, WebhookError> {
    let request = parse_purge_body(body).map_err(WebhookError::Body)?;
    let mut key_urls = Vec::with_capacity(request.urls.len());
    for (index, url) in request.urls.iter().enumerate() {
        match normalize_url_for_purge(config, url) {
            Ok((_, base)) => key_urls.push(base),
            Err(e) => {
                return Err(WebhookError::BadUrl {
                    index,
                    message: e.to_string(),
                })
            }
        }
    }
    let names = purge_names(&request, &key_urls, host);
    let kind = PurgeKind::of(request.soft);
    let hard = kind == PurgeKind::Hard;
    let zone = if zone_on && hard {
        zone_work(&names, request.everything, &config.purge)
    } else {
        None
    };
    let receipt = Receipt::new(id, now, &request, staleness_bound(&config.purge, writer));
    let local_deletes = if hard { key_urls.clone() } else { Vec::new() };
    Ok(PurgePlan {
        request,
        key_urls,
        names,
        kind,
        local_deletes,
        zone,
        receipt,
    })
}

/// How long a purge record (a generation value) lives in KV: a day longer
/// than any entry may live ([`MAX_ENTRY_LIFETIME`]). It does not depend on the
/// config: an entry stored under an earlier deploy's longer TTL is still
/// covered after a deploy that shortens it.
pub fn generation_ttl() -> u64 {
    MAX_ENTRY_LIFETIME.saturating_add(86_400)
}
