//! A cacheable request, start to end, over the platform: the memory tier,
//! the stored half (cache match → stored-entry parse → KV marks →
//! `on_stored`), and, on a miss, collapsing and the miss half
//! ([`super::miss`]).
//!
//! ```text
//! lookup ─► memory tier: on_stored ─► Serve (fresh) ─► reply
//!        ─► cache_match ─► StoredEntry::parse ─► marks::read ─► on_stored
//!             ─► Serve ─► reply (+ refresh in the background when stale-while-revalidate,
//!                                + promote to memory when fresh)
//!             ─► Unverifiable ─► forward uncached (fail safe)
//!             ─► Miss{detail, kept} ─► miss::collapsed (lead | follow | pass)
//! ```

use super::client_cc::refuse_miss;
use super::collapse::{
    flight_hold, follower_step, FollowerStep, Role, FOLLOWER_FETCHED, FOLLOWER_STALE,
    MAX_FOLLOWER_RETRIES,
};
use super::copies::{promote, serve_stored};
use super::entry::StoredEntry;
use super::flight::{wait, Leader, Reporter};
use super::isolate::Cx;
use super::marks;
use super::miss::{miss, Missed};
use super::observe::key_hash;
use super::origin::uncached_client_headers;
use super::platform::{Platform, Reply, Source};
use super::refresh::refresh_hold;
use super::reply::{origin_failed, plain, with_cache_status, Replied};
use super::settle::{fetch_keyed, Kept};
use super::stored::{on_stored, stale_on_error, StoredDecision};
use crate::http::cache_status::{CacheStatus, Detail, Fwd};
use crate::http::time::UnixSecs;
use crate::response::delivery::deliver;
use std::rc::Rc;

/// What the stored half found.
pub enum Found<P: Platform> {
    /// Answered from the cache (or refused as unverifiable).
    Answered(Replied<P>),
    /// Go to the origin.
    Miss(Missed<P::Body>),
}

/// Answers a cacheable request (`cx.lookup`).
pub async fn lookup<P: Platform>(cx: &Cx<'_, P>) -> Replied<P> {
    // The fast path's hook: this isolate's view of the purge log fresh
    // enough (else a detail saying hits are under the KV bound only).
    let behind = super::fastpath::ensure(cx.platform, cx.isolate).await;
    let now = cx.platform.now_secs();
    if let Some(served) = from_memory(cx, now, behind).await {
        return Ok(served);
    }
    match stored(cx, now, behind).await {
        Found::Answered(r) => r,
        Found::Miss(m) => {
            // `only-if-cached` and nothing usable: the worker's 504, before
            // any flight (it never leads nor waits).
            if let Some(f) = refuse_miss(cx.lookup) {
                let cs = f.cache_status(CacheStatus::forward(Fwd::Miss));
                return Ok(plain(f.status, f.message, &cs));
            }
            collapsed(cx, m).await
        }
    }
}

/// A miss, collapsed with the isolate's other misses on its key
/// (`flow::collapse`): lead (fetch and store), or follow (wait, then act on
/// the leader's outcome), or pass (a hit-for-pass note).
async fn collapsed<P: Platform>(cx: &Cx<'_, P>, mut m: Missed<P::Body>) -> Replied<P> {
    let (p, key) = (cx.platform, cx.key());
    let note = || Reporter::note(p, cx.isolate, key);
    let hold = flight_hold(cx.lookup.route());
    let mut retries = 0;
    loop {
        let now = p.now_secs();
        let role = cx
            .isolate
            .collapse
            .borrow_mut()
            .join(key, now, hold, Default::default);
        cx.role(role.name());
        let shared = match role {
            Role::Lead { id, shared } => {
                let leader = Leader::new(p, cx.isolate, key, id, shared);
                return miss(cx, m, Reporter::Leader(leader)).await;
            }
            Role::LeadAlone | Role::Pass => return miss(cx, m, note()).await,
            Role::Follow(shared) => shared,
        };
        let outcome = wait(p, &shared, cx.lookup.route().timeout).await;
        let has_stale = m.kept.as_ref().is_some_and(|k| k.stale_if_error);
        match follower_step(outcome, has_stale, retries) {
            FollowerStep::Lookup => match follow_lookup(cx).await {
                Found::Answered(r) => return r,
                // The leader's entry is not usable (a purge arrived while it
                // fetched): join again, so the followers make one origin
                // request between them, not one each; once only, then alone.
                Found::Miss(again) => {
                    m = looked_again(m, again);
                    if retries < MAX_FOLLOWER_RETRIES {
                        retries += 1;
                        continue;
                    }
                    cx.role(FOLLOWER_FETCHED);
                    return miss(cx, m, note()).await;
                }
            },
            FollowerStep::Origin => {
                cx.role(FOLLOWER_FETCHED);
                return miss(cx, m, note()).await;
            }
            FollowerStep::Stale => {
                cx.role(FOLLOWER_STALE);
                let Some(s) = m.kept.filter(|k| k.stale_if_error) else {
                    cx.role(FOLLOWER_FETCHED);
                    let m = Missed { kept: None, ..m };
                    return miss(cx, m, note()).await;
                };
                let (now, detail) = (p.now_secs(), Detail::OriginError);
                let (headers, cs) =
                    stale_on_error(cx.config(), cx.lookup, &s.entry, &s.headers, now, detail);
                return Ok(serve_stored(cx, s.body, s.entry.status, headers, cs));
            }
            FollowerStep::Retry => retries += 1,
        }
    }
}

/// What a follower fetches with after its second look found nothing usable:
/// the marks read on that look, so a purge that arrived while it waited (why
/// the leader's entry is not usable) is recorded in the new entry's stamp and
/// the next read can prove it current (rule 2 of `purge::generations`)
/// rather than fetch again (the simulator's seed 2341); the stale copy it
/// found first when the second look found none.
fn looked_again<B>(first: Missed<B>, again: Missed<B>) -> Missed<B> {
    Missed {
        detail: first.detail.or(again.detail),
        kept: again.kept.or(first.kept),
        seen: again.seen,
    }
}

/// A follower whose leader stored its answer: its own lookup (memory tier,
/// then its own cache match), marked `collapsed`; a miss when that finds
/// nothing usable (evicted, purged meanwhile), with the marks it read.
pub async fn follow_lookup<P: Platform>(cx: &Cx<'_, P>) -> Found<P> {
    let now = cx.platform.now_secs();
    let collapsed = Some(Detail::Collapsed);
    if let Some(served) = from_memory(cx, now, collapsed).await {
        return Found::Answered(Ok(served));
    }
    stored(cx, now, collapsed).await
}

/// Serves the lookup from the memory tier when the entry there is current
/// and fresh (the same `on_stored` decision as a cache hit). Anything else
/// drops the memory entry and returns `None`: the cache path decides.
/// `detail` replaces `memory` in `Cache-Status` (a collapsed follower's hit).
async fn from_memory<P: Platform>(
    cx: &Cx<'_, P>,
    now: UnixSecs,
    detail: Option<Detail>,
) -> Option<Reply<P::Body, P::Whole>> {
    let (lk, isolate) = (cx.lookup, cx.isolate);
    let found = isolate.memory.borrow_mut().get(lk.key.url(), now)?;
    let names = lk.names(&found.entry.stamp);
    let gens = marks::read(cx.platform, isolate, &names, now).await;
    match on_stored(cx.config(), lk, &found.entry, &found.headers, &gens, now) {
        StoredDecision::Serve {
            status,
            headers,
            cache_status,
            revalidate: false,
        } => {
            let cs = cache_status.detail(detail.unwrap_or(Detail::Memory));
            let headers = with_cache_status(headers, &cs);
            Some(Reply {
                delivery: deliver(lk.route(), &lk.method, cx.headers, status, headers),
                source: Source::Whole(found.body.clone()),
            })
        }
        _ => {
            isolate.memory.borrow_mut().remove(lk.key.url());
            None
        }
    }
}

/// The stored half: the cache's entry, put through `on_stored`.
/// `hit_detail` is added to a hit's `Cache-Status` (`collapsed`).
async fn stored<P: Platform>(
    cx: &Cx<'_, P>,
    now: UnixSecs,
    hit_detail: Option<Detail>,
) -> Found<P> {
    let lk = cx.lookup;
    let Some(matched) = cx.platform.cache_match(lk.key.url()).await else {
        return no_entry(cx, now, None);
    };
    let Some(entry) = StoredEntry::parse(&matched.headers) else {
        return no_entry(cx, now, Some(Detail::UnreadableEntry));
    };
    let gens = marks::read(cx.platform, cx.isolate, &lk.names(&entry.stamp), now).await;
    let (stored, mut body) = (matched.headers, matched.body);
    match on_stored(cx.config(), lk, &entry, &stored, &gens, now) {
        StoredDecision::Serve {
            status,
            headers,
            cache_status,
            revalidate,
        } => {
            let cache_status = match hit_detail {
                Some(d) => cache_status.detail(d),
                None => cache_status,
            };
            if revalidate {
                start_refresh(cx, now);
            } else if let Err(e) = promote(cx, &mut body, &stored) {
                return Found::Answered(Err(e));
            }
            Found::Answered(Ok(serve_stored(cx, body, status, headers, cache_status)))
        }
        StoredDecision::Miss {
            detail,
            stale_if_error,
            validator,
        } => Found::Miss(Missed {
            detail: Some(detail),
            kept: Kept::if_useful(body, entry, stored, stale_if_error, validator),
            seen: gens,
        }),
        StoredDecision::Unverifiable => Found::Answered(unverifiable(cx).await),
    }
}

/// stale-while-revalidate: one background refresh per key at a time; other
/// stale hits meanwhile just serve stale.
fn start_refresh<P: Platform>(cx: &Cx<'_, P>, now: UnixSecs) {
    let (key, hold) = (cx.key(), refresh_hold(cx.lookup.route()));
    if !cx.isolate.refresh.borrow_mut().try_start(key, now, hold) {
        return;
    }
    let work = super::miss::refresh(
        cx.platform.clone(),
        Rc::clone(cx.isolate),
        key.to_string(),
        cx.headers.clone(),
    );
    cx.platform.wait_until(Box::pin(work));
}

/// A miss without a usable entry: only the memo's values are known before
/// the fetch (they are what its stamp may record).
fn no_entry<P: Platform>(cx: &Cx<'_, P>, now: UnixSecs, detail: Option<Detail>) -> Found<P> {
    Found::Miss(Missed {
        detail,
        kept: None,
        seen: marks::memo_only(cx.isolate, &cx.lookup.route_names(), now),
    })
}

/// Fail safe: the marks could not be read, so nothing stored is served and
/// nothing is stored: the origin's answer is passed on uncached.
async fn unverifiable<P: Platform>(cx: &Cx<'_, P>) -> Replied<P> {
    let lk = cx.lookup;
    // `only-if-cached`: nothing it may be answered from, and it must not
    // reach the origin (RFC 9111 §5.2.1.7): the worker's 504, as on a miss.
    if let Some(f) = refuse_miss(lk) {
        let cs = f.cache_status(CacheStatus::forward(Fwd::Miss));
        return Ok(plain(f.status, f.message, &cs));
    }
    cx.platform.log(
        "generations_unreadable",
        serde_json::json!({ "key": key_hash(lk.key.url()) }),
    );
    let cs = CacheStatus::forward(Fwd::Bypass).detail(Detail::GenerationsUnavailable);
    match fetch_keyed(cx, None).await {
        super::platform::Fetch::Answered(a) => {
            let headers = uncached_client_headers(cx.config(), lk.route(), &a.headers);
            let headers = with_cache_status(headers, &cs.fwd_status(a.status));
            Ok(Reply {
                delivery: deliver(lk.route(), &lk.method, cx.headers, a.status, headers),
                source: Source::Stream(a.body),
            })
        }
        super::platform::Fetch::Failed { error, why } => {
            Ok(origin_failed(cx.platform, error, &why, cs))
        }
    }
}
