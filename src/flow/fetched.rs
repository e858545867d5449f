//! What an origin fetch's outcome means, before its answer is looked at:
//! answer it, serve a stale entry instead (RFC 5861 §4, stale-if-error), or
//! answer 502/504 ourselves. One mapping for every origin fetch the worker
//! makes (cacheable misses, pass-through, and the fail-safe forward).

use crate::http::cache_status::{CacheStatus, Detail};
use crate::response::bucket::BucketAnswer;

/// How an origin fetch ended, as the glue saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fetched {
    /// The origin answered with this status.
    Answered(u16),
    /// No answer.
    Failed(FetchError),
}

/// Why a fetch got no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchError {
    /// Connection refused, reset, DNS, TLS, a malformed answer...
    Unreachable,
    /// No answer within the route's (or pass-through) timeout.
    TimedOut,
    /// An answer whose status cannot be relayed ([`relayable`]): as good as none.
    InvalidStatus,
    /// A bucket's answer that is not an object (`response::bucket`): never
    /// relayed, never stored.
    Bucket(BucketAnswer),
}

/// Whether an origin status can be passed on: 200..=599, the statuses the
/// Fetch API builds a response with (`new Response` throws a `RangeError`
/// on any other). A final status below 200 (a 1xx the runtime handed over as
/// the answer) or above 599 is an invalid answer: the glue reports it as
/// [`FetchError::InvalidStatus`], which answers 502 or lets a stale entry
/// stand in.
pub fn relayable(status: u16) -> bool {
    (200..=599).contains(&status)
}

/// The worker's own answer when the origin failed and nothing stale may stand in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OriginFailure {
    /// 502 Bad Gateway or 504 Gateway Timeout (RFC 9110 §15.6.3, §15.6.5).
    pub status: u16,
    /// `Cache-Status: detail=`.
    pub detail: Detail,
    /// The plain-text body.
    pub message: &'static str,
}

impl OriginFailure {
    /// `cache_status` with this failure's detail.
    pub fn cache_status(&self, cache_status: CacheStatus) -> CacheStatus {
        cache_status.detail(self.detail)
    }
}

/// Whether a stored entry inside its stale-if-error window is at hand when
/// the fetch ends (RFC 5861 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaleFallback {
    /// One is kept, and may answer instead of a failed origin.
    Available,
    /// None: the origin's answer, or the worker's 502/504, stands.
    Absent,
}

impl StaleFallback {
    /// `Available` when `kept` holds an entry.
    pub fn of<T>(kept: &Option<T>) -> StaleFallback {
        match kept {
            Some(_) => StaleFallback::Available,
            None => StaleFallback::Absent,
        }
    }
}

/// The next step after an origin fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFetch {
    /// Use the origin's answer (decide on storing it, deliver it).
    Answer(u16),
    /// Serve the stale entry kept for stale-if-error; `detail` says why.
    ServeStale { detail: Detail },
    /// Answer with the worker's own 502 or 504.
    Fail(OriginFailure),
}

const UNREACHABLE: OriginFailure = OriginFailure {
    status: 502,
    detail: Detail::OriginUnreachable,
    message: "edgecache: the origin could not be reached",
};

const INVALID: OriginFailure = OriginFailure {
    status: 502,
    detail: Detail::OriginInvalid,
    message: "edgecache: the origin's answer was invalid",
};

const TIMED_OUT: OriginFailure = OriginFailure {
    status: 504,
    detail: Detail::OriginTimeout,
    message: "edgecache: the origin did not answer in time",
};

/// The worker's answer to a fetch that got none (or an invalid one): 502 or
/// 504; for a bucket, 404 when the object is missing, else 502 with the cause
/// as the detail.
pub fn origin_failure(error: FetchError) -> OriginFailure {
    match error {
        FetchError::Unreachable => UNREACHABLE,
        FetchError::TimedOut => TIMED_OUT,
        FetchError::InvalidStatus => INVALID,
        FetchError::Bucket(BucketAnswer::NotFound) => OriginFailure {
            status: 404,
            detail: Detail::Reason("bucket_not_found"),
            message: "edgecache: no such object",
        },
        FetchError::Bucket(BucketAnswer::Refused(r)) => OriginFailure {
            status: 502,
            detail: Detail::Reason(r.detail()),
            message: "edgecache: the bucket refused the request (see the worker log)",
        },
        FetchError::Bucket(BucketAnswer::Failed | BucketAnswer::Object) => OriginFailure {
            status: 502,
            detail: Detail::Reason("bucket_error"),
            message: "edgecache: the bucket answered with an error",
        },
    }
}

/// Decides what follows a fetch. With a [`StaleFallback::Available`] entry,
/// a 5xx answer, an unreachable origin and a timeout all let that entry answer
/// (RFC 5861 §4: "an error is any situation that would result in a 500, 502,
/// 503, or 504"; every 5xx here).
/// Without one, a 5xx answer is passed on as the origin sent it, and the
/// worker answers 502 or 504 for the other two.
pub fn after_fetch(fetched: Fetched, stale: StaleFallback) -> AfterFetch {
    let stale_available = stale == StaleFallback::Available;
    match fetched {
        Fetched::Answered(s) if s >= 500 && stale_available => AfterFetch::ServeStale {
            detail: Detail::OriginError,
        },
        Fetched::Answered(s) => AfterFetch::Answer(s),
        // A deleted object is gone: no stale copy stands in for it.
        Fetched::Failed(e @ FetchError::Bucket(BucketAnswer::NotFound)) => {
            AfterFetch::Fail(origin_failure(e))
        }
        Fetched::Failed(e) if stale_available => AfterFetch::ServeStale {
            detail: origin_failure(e).detail,
        },
        Fetched::Failed(e) => AfterFetch::Fail(origin_failure(e)),
    }
}
