//! The one fetch-and-settle loop, for a foreground miss and a background
//! refresh alike: the origin fetch (conditional when a kept entry has a
//! validator), what its outcome means ([`after_fetch`]: answer, stale,
//! 502/504), a 304's [`Revalidation`] (a mismatch fetches again without the
//! validator), and `on_origin` for an ordinary answer. The caller acts on
//! the [`Settled`] outcome: a foreground miss answers the client and reports
//! to its followers, a refresh only stores.

use super::entry::StoredEntry;
use super::fetched::{after_fetch, AfterFetch, FetchError, Fetched, StaleFallback};
use super::isolate::Cx;
use super::observe::OriginSeen;
use super::origin::{on_origin, FetchStart, OriginDecision};
use super::platform::{Answer, Fetch, OriginRequest, Platform};
use super::revalidate::{answers_revalidation, conditional_headers, on_not_modified, Revalidation};
use crate::http::cache_status::Detail;
use crate::http::headers::Headers;
use crate::http::method::Method;
use crate::purge::generations::Generations;
use crate::response::revalidation::Validator;
use std::time::Duration;

/// A stored entry kept while the origin is asked: it may stand in if the
/// origin fails (`stale_if_error`) and, with a `validator`, answer a 304.
pub struct Kept<B> {
    pub body: B,
    pub entry: StoredEntry,
    /// Its stored header list (internal fields included).
    pub headers: Headers,
    pub stale_if_error: bool,
    pub validator: Option<Validator>,
}

impl<B> Kept<B> {
    /// The entry a miss keeps, if it is of any use: inside its
    /// stale-if-error window, or with a validator to revalidate it.
    pub fn if_useful(
        body: B,
        entry: StoredEntry,
        headers: Headers,
        stale_if_error: bool,
        validator: Option<Validator>,
    ) -> Option<Kept<B>> {
        (stale_if_error || validator.is_some()).then_some(Kept {
            body,
            entry,
            headers,
            stale_if_error,
            validator,
        })
    }
}

/// How a fetch settled.
pub enum Settled<B> {
    /// The origin answered (not a 304 to our validator); `decision` says
    /// whether it is stored and with which headers.
    Modified {
        answer: Answer<B>,
        decision: OriginDecision,
    },
    /// A 304 about the kept entry: its body answers, `decision` holds the
    /// updated headers and whether it is stored again.
    NotModified {
        kept: Kept<B>,
        decision: OriginDecision,
    },
    /// The origin failed inside the kept entry's stale-if-error window: the
    /// kept entry answers; `detail` says why.
    Stale { kept: Kept<B>, detail: Detail },
    /// No usable answer and nothing stale: the worker's 502/504.
    Failed { error: FetchError, why: String },
}

/// Fetches the lookup's origin URL (conditionally when `kept` has a
/// validator) until the outcome settles; `seen` are the marks read before
/// the fetch (recorded in a new entry's stamp).
pub async fn fetch_and_settle<P: Platform>(
    cx: &Cx<'_, P>,
    mut kept: Option<Kept<P::Body>>,
    seen: &Generations,
) -> Settled<P::Body> {
    loop {
        let start = FetchStart {
            at: cx.platform.now(),
            seen,
        };
        let validator = kept.as_ref().and_then(|k| k.validator.clone());
        let fetch = fetch_keyed(cx, validator.as_ref()).await;
        let fallback = StaleFallback::of(&kept.as_ref().filter(|k| k.stale_if_error));
        let outcome = match &fetch {
            Fetch::Answered(a) => Fetched::Answered(a.status),
            Fetch::Failed { error, .. } => Fetched::Failed(*error),
        };
        let answer = match (after_fetch(outcome, fallback), fetch, kept) {
            (AfterFetch::ServeStale { detail }, _, Some(kept)) => {
                return Settled::Stale { kept, detail }
            }
            (_, Fetch::Failed { error, why }, _) => return Settled::Failed { error, why },
            (_, Fetch::Answered(answer), k) => {
                kept = k;
                answer
            }
        };
        let now = cx.platform.now_secs();
        let (config, lk) = (cx.config(), cx.lookup);
        let revalidation = match &kept {
            Some(k) if answers_revalidation(answer.status, validator.as_ref()) => on_not_modified(
                config,
                lk,
                &k.entry,
                &k.headers,
                &answer.headers,
                start,
                now,
            ),
            _ => Revalidation::Modified,
        };
        match (revalidation, kept.take()) {
            (Revalidation::NotModified(decision), Some(kept)) => {
                return Settled::NotModified { kept, decision }
            }
            (Revalidation::Refetch, k) => {
                kept = k.map(|k| Kept {
                    validator: None,
                    ..k
                });
            }
            _ => {
                let decision = on_origin(config, lk, answer.status, &answer.headers, start, now);
                return Settled::Modified { answer, decision };
            }
        }
    }
}

/// The origin fetch of a cacheable request: GET of the canonical URL with
/// only the keyed headers (and a kept entry's `validator`, when
/// revalidating), under the route's timeout; timed on the request's trace
/// when there is one (a background refresh has none).
pub async fn fetch_keyed<P: Platform>(
    cx: &Cx<'_, P>,
    validator: Option<&Validator>,
) -> Fetch<P::Body> {
    let lk = cx.lookup;
    let conditional = validator.map(|v| conditional_headers(&lk.origin_headers, v));
    let req = OriginRequest {
        url: &lk.origin_url,
        method: &Method::Get,
        headers: conditional.as_ref().unwrap_or(&lk.origin_headers),
        body: None,
        timeout: Duration::from_secs(lk.route().timeout),
    };
    timed(cx.platform, cx.trace, req).await
}

/// [`Platform::fetch`], timed on `trace` (when there is one) until the
/// answer's headers (or the failure).
pub async fn timed<P: Platform>(
    platform: &P,
    trace: Option<&super::isolate::Trace>,
    req: OriginRequest<'_, P::Body>,
) -> Fetch<P::Body> {
    let Some(trace) = trace else {
        return platform.fetch(req).await;
    };
    let at = platform.now();
    let fetch = platform.fetch(req).await;
    let status = match &fetch {
        Fetch::Answered(a) => Some(a.status),
        Fetch::Failed { .. } => None,
    };
    trace.record_origin(OriginSeen {
        status,
        ms: platform.now().saturating_sub(at),
    });
    fetch
}
