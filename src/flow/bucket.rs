//! A route whose origin is a bucket (`config::origins`): which object a
//! keyed request names, what a request the cache cannot answer gets instead
//! of a pass-through (only GET and HEAD reach a bucket), and the request and
//! answer checks of a miss.
//!
//! ```text
//! plan: route on a bucket ─► object key (request::object_key) ─► Lookup { bucket: Some(target) }
//!                          └► not GET/HEAD, bypassed, bad key ─► Reject (405 / 404 / 400)
//! miss: s3 ─► request::s3::s3_get (signed when private) ─► fetch
//!       r2 ─► the binding's get (onlyIf = validators)
//!       answer ─► response::bucket::classify ─► object (headers cleaned) | FetchError::Bucket
//! ```

use crate::config::{Config, Origin, R2Origin, Route, S3Origin};
use crate::http::cache_status::{CacheStatus, Detail, Fwd};
use crate::request::key::BypassReason;
use crate::request::object_key::{object_key, ObjectKeyError};

/// The object a keyed request on a bucket route names.
#[derive(Debug, Clone, PartialEq)]
pub enum BucketTarget<'c> {
    S3 { origin: &'c S3Origin, key: String },
    R2 { origin: &'c R2Origin, key: String },
}

impl BucketTarget<'_> {
    pub fn key(&self) -> &str {
        match self {
            BucketTarget::S3 { key, .. } | BucketTarget::R2 { key, .. } => key,
        }
    }
}

/// A request on a bucket route that reaches no bucket: the worker's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub status: u16,
    pub message: &'static str,
    pub cache_status: CacheStatus,
}

/// The bucket `route` reads from, if its origin is one.
pub fn bucket_of<'c>(config: &'c Config, route: &Route) -> Option<&'c Origin> {
    config.named_origin(route).filter(|o| o.is_bucket())
}

/// Whether `raw_path` (as parsed, not canonical: a suspicious path has no
/// canonical form) falls under a route whose origin is a bucket.
pub fn under_bucket_route(config: &Config, raw_path: &str) -> bool {
    config
        .routes
        .iter()
        .find(|r| r.path.matches_with(raw_path, |_, _| ()))
        .is_some_and(|r| bucket_of(config, r).is_some())
}

/// The object `path` (canonical) names on `route`, whose origin is `origin`.
pub fn target<'c>(
    origin: &'c Origin,
    route: &Route,
    path: &str,
) -> Result<BucketTarget<'c>, Refused> {
    let rest = route.path.wildcard_rest(path).unwrap_or_default();
    let key = object_key(origin.prefix(), rest).map_err(refuse_key)?;
    match origin {
        Origin::S3(origin) => Ok(BucketTarget::S3 { origin, key }),
        Origin::R2(origin) => Ok(BucketTarget::R2 { origin, key }),
        Origin::Http(_) => Err(refuse_key(ObjectKeyError::Empty)),
    }
}

/// A path that names no object: 404 (nothing reaches the bucket).
fn refuse_key(e: ObjectKeyError) -> Refused {
    let detail = match e {
        ObjectKeyError::TooLong(_) => "object_key_too_long",
        ObjectKeyError::Empty => "object_key_empty",
        _ => "object_key_invalid",
    };
    Refused {
        status: 404,
        message: "edgecache: no such object",
        cache_status: CacheStatus::forward(Fwd::Bypass).detail(Detail::Reason(detail)),
    }
}

/// What a request the cache would pass through gets on a bucket route: a
/// bucket is never sent another method, a client's body or credentials.
pub fn refuse_bypass(reason: Option<BypassReason>) -> Refused {
    let (status, message) = match reason {
        Some(BypassReason::Method) => (405, "edgecache: only GET and HEAD reach a bucket"),
        Some(BypassReason::SuspiciousPath) => (404, "edgecache: no such object"),
        _ => (400, "edgecache: this request cannot be sent to a bucket"),
    };
    let detail = match reason {
        Some(r) => r.into(),
        None => Detail::RequestBody,
    };
    Refused {
        status,
        message,
        cache_status: CacheStatus::forward(Fwd::Bypass).detail(detail),
    }
}
