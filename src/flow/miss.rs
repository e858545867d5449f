//! The miss half, over the platform: a foreground miss (the client waits;
//! its followers hear how it ended) and a background refresh
//! (stale-while-revalidate: only stores), both through the one
//! fetch-and-settle loop ([`super::settle`]).
//!
//! ```text
//! fetch_and_settle ─► Modified{answer, decision} ─► client reply (+ tee into the cache)
//!                  ─► NotModified{kept, decision} ─► kept body (+ stored again, or dropped)
//!                  ─► Stale{kept, detail}          ─► kept body, fwd=stale
//!                  ─► Failed{error}                ─► the worker's 502/504
//! ```

use super::client_cc::not_stored_outcome;
use super::collapse::LeaderOutcome;
use super::copies::{drop_entry, put_copy, put_reporting, serve_stored, Target};
use super::entry::StoredEntry;
use super::flight::Reporter;
use super::isolate::{Cx, Isolate};
use super::marks;
use super::origin::OriginDecision;
use super::plan::{plan, Incoming, Plan};
use super::platform::{Answer, Platform, Reply, Source};
use super::reply::{miss_status, origin_failed, with_cache_status, Replied};
use super::settle::{fetch_and_settle, Kept, Settled};
use super::stored::stale_on_error;
use crate::http::cache_status::{CacheStatus, Detail, Fwd};
use crate::http::headers::Headers;
use crate::http::method::Method;
use crate::purge::generations::Generations;
use crate::response::delivery::deliver;
use crate::response::revalidation::validator;
use std::rc::Rc;

/// What a lookup that missed carries to the origin: `detail` says why the
/// entry (if any) was not used, `kept` is an entry that may stand in if the
/// origin fails or be revalidated, `seen` the marks read before the fetch
/// (recorded in the new entry's stamp).
pub struct Missed<B> {
    pub detail: Option<Detail>,
    pub kept: Option<Kept<B>>,
    pub seen: Generations,
}

/// A foreground miss: fetch and settle, answer the client, store the answer
/// when it may be (a tee), and tell `reporter` (the key's followers, or its
/// hit-for-pass note) how it ended.
pub async fn miss<P: Platform>(
    cx: &Cx<'_, P>,
    m: Missed<P::Body>,
    reporter: Reporter<P>,
) -> Replied<P> {
    let Missed { detail, kept, seen } = m;
    match fetch_and_settle(cx, kept, &seen).await {
        Settled::Stale { kept, detail } => {
            reporter.report(LeaderOutcome::Failed);
            let now = cx.platform.now_secs();
            let (headers, cs) = stale_on_error(
                cx.config(),
                cx.lookup,
                &kept.entry,
                &kept.headers,
                now,
                detail,
            );
            Ok(serve_stored(cx, kept.body, kept.entry.status, headers, cs))
        }
        Settled::Failed { error, why } => {
            reporter.report(LeaderOutcome::Failed);
            let cs = CacheStatus::forward(Fwd::Miss);
            Ok(origin_failed(cx.platform, error, &why, cs))
        }
        Settled::NotModified { kept, decision } => {
            not_modified(cx, detail, kept, decision, reporter)
        }
        Settled::Modified { answer, decision } => answered(cx, detail, answer, decision, reporter),
    }
}

/// An origin answer to a miss: the client's reply, and the tee into the
/// cache when `decision` stores it.
fn answered<P: Platform>(
    cx: &Cx<'_, P>,
    detail: Option<Detail>,
    answer: Answer<P::Body>,
    decision: OriginDecision,
    reporter: Reporter<P>,
) -> Replied<P> {
    let cs = miss_status(decision.cache_status, detail, decision.store.is_some());
    let client = with_cache_status(decision.client, &cs);
    let mut body = answer.body;
    match decision.store {
        Some(store) => put_reporting(cx, &mut body, store, reporter)?,
        None => reporter.report(not_stored_outcome(cx.lookup)),
    }
    let lk = cx.lookup;
    Ok(Reply {
        delivery: deliver(lk.route(), &lk.method, cx.headers, answer.status, client),
        source: Source::Stream(body),
    })
}

/// A 304 to a foreground revalidation: the kept body answers the client and
/// is stored again with the updated fields (or the entry is dropped when
/// they forbid storing).
fn not_modified<P: Platform>(
    cx: &Cx<'_, P>,
    detail: Option<Detail>,
    kept: Kept<P::Body>,
    decision: OriginDecision,
    reporter: Reporter<P>,
) -> Replied<P> {
    let cs = miss_status(decision.cache_status, detail, decision.store.is_some());
    let mut body = kept.body;
    match decision.store {
        Some(store) => put_reporting(cx, &mut body, store, reporter)?,
        None => {
            reporter.report(not_stored_outcome(cx.lookup));
            let to = Target::of(cx);
            cx.platform
                .wait_until(Box::pin(async move { drop_entry(&to).await }));
        }
    }
    Ok(serve_stored(
        cx,
        body,
        kept.entry.status,
        decision.client,
        cs,
    ))
}

/// stale-while-revalidate: refreshes the entry under `key_url` in the
/// background. Runs after the response, so it plans again from the key URL
/// (keying a key URL with the same headers gives the same key).
pub async fn refresh<P: Platform>(
    platform: P,
    isolate: Rc<Isolate<P>>,
    key_url: String,
    req_headers: Headers,
) {
    refresh_entry(&platform, &isolate, &key_url, &req_headers).await;
    isolate.refresh.borrow_mut().finish(&key_url);
}

async fn refresh_entry<P: Platform>(
    platform: &P,
    isolate: &Rc<Isolate<P>>,
    key_url: &str,
    req_headers: &Headers,
) {
    let incoming = Incoming {
        method: &Method::Get,
        url: key_url,
        headers: req_headers,
        has_body: false,
        user_secret: isolate.user_secret(),
    };
    let Plan::Lookup(lk) = plan(&isolate.config, &incoming) else {
        return;
    };
    let cx = Cx {
        platform,
        isolate,
        headers: req_headers,
        lookup: &lk,
        trace: None,
    };
    let seen = marks::memo_only(isolate, &lk.route_names(), platform.now_secs());
    // Revalidated conditionally when the stored entry has a validator.
    let kept = kept_for_refresh(&cx).await;
    match fetch_and_settle(&cx, kept, &seen).await {
        Settled::NotModified { kept, decision } => match decision.store {
            Some(store) => {
                put_copy(&Target::of(&cx), kept.body, store).await;
            }
            None => drop_entry(&Target::of(&cx)).await,
        },
        Settled::Modified { answer, decision } => {
            if let Some(store) = decision.store {
                put_copy(&Target::of(&cx), answer.body, store).await;
            }
        }
        Settled::Stale { .. } | Settled::Failed { .. } => {}
    }
}

/// The entry stored under the key, for a background revalidation: `None`
/// when there is none, it is unreadable, or it has no validator.
async fn kept_for_refresh<P: Platform>(cx: &Cx<'_, P>) -> Option<Kept<P::Body>> {
    let matched = cx.platform.cache_match(cx.key()).await?;
    let entry = StoredEntry::parse(&matched.headers)?;
    let validator = Some(validator(&matched.headers)?);
    Some(Kept {
        body: matched.body,
        entry,
        headers: matched.headers,
        stale_if_error: false,
        validator,
    })
}
