//! A cacheable request: the I/O around `flow::on_stored` (the stored half) and
//! `flow::fetched::after_fetch` / `flow::on_origin` (the miss half).

use super::body::respond_raw;
use super::collapse::{report, wait, Leader};
use super::convert::{from_flat, now_millis, now_secs, to_core};
use super::observe::Trace;
use super::origin::{fetch_origin, Fetch, OriginRequest};
use super::revalidate::{refresh_not_modified, serve_not_modified, stored_for_refresh, Kept};
use super::store::{put_copy, put_reporting, serve_stored};
use super::{kv, log, origin_failed, plain, State};
use crate::flow::collapse::{flight_hold, follower_step, FollowerStep, LeaderOutcome, Role};
use crate::flow::fetched::{after_fetch, AfterFetch, StaleFallback};
use crate::flow::refresh::refresh_hold;
use crate::flow::revalidate::{answers_revalidation, conditional_headers};
use crate::flow::{self, Lookup, StoredDecision, StoredEntry};
use crate::http::cache_status::{CacheStatus, Detail, Fwd};
use crate::http::headers::Headers as CoreHeaders;
use crate::http::method::Method;
use crate::http::time::UnixSecs;
use crate::purge::generations::Generations;
use crate::response::delivery::deliver;
use crate::response::revalidation::Validator;
use std::time::Duration;
use worker::*;

/// What the stored half found.
enum Found {
    /// Answered from the cache (or refused as unverifiable).
    Answered(Result<web_sys::Response>),
    /// Go to the origin; `detail` says why the entry (if any) was not used,
    /// `kept` is an entry that may stand in if the origin fails or be
    /// revalidated, `seen` the generation values read (recorded in the new
    /// entry's stamp).
    Miss(Missed),
}

struct Missed {
    detail: Option<Detail>,
    kept: Option<Kept>,
    seen: Generations,
}

pub async fn lookup(
    env: &Env,
    ctx: &Context,
    state: &State,
    req_headers: &CoreHeaders,
    lk: Lookup<'_>,
    trace: &Trace,
) -> Result<web_sys::Response> {
    // The fast path's hook: this isolate's view of the purge log fresh
    // enough (else a detail saying hits are under the KV bound only).
    let behind = super::fastlog::ensure(env, ctx, state).await;
    let now = now_secs();
    if let Some(served) = super::memory::serve(env, state, req_headers, &lk, now, behind).await {
        return served;
    }
    match stored(env, ctx, state, req_headers, &lk, now, behind, trace).await {
        Found::Answered(r) => r,
        Found::Miss(m) => collapsed(env, ctx, state, req_headers, &lk, m, trace).await,
    }
}

/// A miss, collapsed with the isolate's other misses on its key
/// (`flow::collapse`): lead (fetch and store), or follow (wait, then act on
/// the leader's outcome), or pass (a hit-for-pass note).
async fn collapsed(
    env: &Env,
    ctx: &Context,
    state: &State,
    req_headers: &CoreHeaders,
    lk: &Lookup<'_>,
    m: Missed,
    trace: &Trace,
) -> Result<web_sys::Response> {
    // `only-if-cached` and nothing usable: the worker's 504, before any
    // flight (it never leads nor waits).
    if let Some(f) = flow::client_cc::refuse_miss(lk) {
        let cs = f.cache_status(CacheStatus::forward(Fwd::Miss));
        return plain(f.status, f.message, &cs).map(Into::into);
    }
    let key = lk.key.url();
    let hold = flight_hold(lk.route());
    let mut retries = 0;
    loop {
        let role = state
            .collapse
            .borrow_mut()
            .join(key, now_secs(), hold, Default::default);
        let shared = match role {
            Role::Lead { id, shared } => {
                let leader = Some(Leader::new(key, id, shared));
                return miss(ctx, state, req_headers, lk, m, leader, trace).await;
            }
            Role::LeadAlone | Role::Pass => {
                return miss(ctx, state, req_headers, lk, m, None, trace).await
            }
            Role::Follow(shared) => shared,
        };
        let outcome = wait(&shared, lk.route().timeout).await;
        let has_stale = m.kept.as_ref().is_some_and(|k| k.stale_if_error);
        match follower_step(outcome, has_stale, retries) {
            FollowerStep::Lookup => {
                return follow_lookup(env, ctx, state, req_headers, lk, m, trace).await
            }
            FollowerStep::Origin => return miss(ctx, state, req_headers, lk, m, None, trace).await,
            FollowerStep::Stale => {
                if let Some(s) = m.kept.filter(|k| k.stale_if_error) {
                    let detail = Detail::OriginError;
                    let (headers, cs) = flow::stale_on_error(
                        &state.config,
                        lk,
                        &s.entry,
                        &s.headers,
                        now_secs(),
                        detail,
                    );
                    return serve_stored(ctx, s.resp, s.entry.status, headers, cs, req_headers, lk);
                }
                return miss(
                    ctx,
                    state,
                    req_headers,
                    lk,
                    Missed { kept: None, ..m },
                    None,
                    trace,
                )
                .await;
            }
            FollowerStep::Retry => retries += 1,
        }
    }
}

/// A follower whose leader stored its answer: its own lookup (memory tier,
/// then its own `cache.match`), marked `collapsed`; if that finds nothing
/// usable, its own origin fetch.
async fn follow_lookup(
    env: &Env,
    ctx: &Context,
    state: &State,
    req_headers: &CoreHeaders,
    lk: &Lookup<'_>,
    m: Missed,
    trace: &Trace,
) -> Result<web_sys::Response> {
    let now = now_secs();
    let collapsed = Some(Detail::Collapsed);
    if let Some(served) = super::memory::serve(env, state, req_headers, lk, now, collapsed).await {
        return served;
    }
    match stored(env, ctx, state, req_headers, lk, now, collapsed, trace).await {
        Found::Answered(r) => r,
        // Not there after all (evicted, purged meanwhile): keep what this
        // request found first (its stale copy, its reads) and fetch.
        Found::Miss(_) => miss(ctx, state, req_headers, lk, m, None, trace).await,
    }
}

/// The stored half: the Cache API's entry, put through `flow::on_stored`.
#[allow(clippy::too_many_arguments)]
async fn stored(
    env: &Env,
    ctx: &Context,
    state: &State,
    req_headers: &CoreHeaders,
    lk: &Lookup<'_>,
    now: UnixSecs,
    hit_detail: Option<Detail>,
    trace: &Trace,
) -> Found {
    let no_entry = |detail| no_entry(state, lk, now, detail);
    let Some((resp, stored)) = cache_match(lk.key.url()).await else {
        return no_entry(None);
    };
    let Some(entry) = StoredEntry::parse(&stored) else {
        return no_entry(Some(Detail::UnreadableEntry));
    };
    let gens = kv::read(env, state, &lk.names(&entry.stamp), now).await;
    match flow::on_stored(&state.config, lk, &entry, &stored, &gens, now) {
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
            // One background refresh per key at a time; other stale hits
            // meanwhile just serve stale.
            let key = lk.key.url();
            let hold = refresh_hold(lk.route());
            if revalidate && state.refresh.borrow_mut().try_start(key, now, hold) {
                ctx.wait_until(refresh(env.clone(), key.to_string(), req_headers.clone()));
            }
            let mut resp = resp;
            if !revalidate {
                if let Err(e) = super::memory::promote(ctx, state, &mut resp, lk, &stored) {
                    return Found::Answered(Err(e));
                }
            }
            let served = serve_stored(ctx, resp, status, headers, cache_status, req_headers, lk);
            Found::Answered(served)
        }
        StoredDecision::Miss {
            detail,
            stale_if_error,
            validator,
        } => Found::Miss(Missed {
            detail: Some(detail),
            kept: (stale_if_error || validator.is_some()).then_some(Kept {
                resp,
                entry,
                headers: stored,
                stale_if_error,
                validator,
            }),
            seen: gens,
        }),
        StoredDecision::Unverifiable => {
            Found::Answered(unverifiable(state, lk, req_headers, trace).await)
        }
    }
}

/// Fail safe: generations could not be read, so nothing stored is served and
/// nothing is stored.
async fn unverifiable(
    state: &State,
    lk: &Lookup<'_>,
    req_headers: &CoreHeaders,
    trace: &Trace,
) -> Result<web_sys::Response> {
    log(
        "generations_unreadable",
        serde_json::json!({ "key": crate::flow::observe::key_hash(lk.key.url()) }),
    );
    let cs = CacheStatus::forward(Fwd::Bypass).detail(Detail::GenerationsUnavailable);
    forward_uncached(state, lk, req_headers, cs, trace).await
}

/// A miss without a usable entry: only the memo's values are known before
/// the fetch (they are what its stamp may record).
fn no_entry(state: &State, lk: &Lookup<'_>, now: UnixSecs, detail: Option<Detail>) -> Found {
    Found::Miss(Missed {
        detail,
        kept: None,
        seen: kv::memo_only(state, &lk.route_names(), now),
    })
}

#[wasm_bindgen::prelude::wasm_bindgen(module = "/src/glue/js/cache.js")]
extern "C" {
    fn edgecache_match(key: &str) -> js_sys::Promise;
}

/// The Cache API's entry under `key` and its header list, in one boundary
/// call (src/glue/js/cache.js); `None` when there is none or the lookup
/// failed (a miss, as before).
async fn cache_match(key: &str) -> Option<(Response, CoreHeaders)> {
    let found = wasm_bindgen_futures::JsFuture::from(edgecache_match(key))
        .await
        .ok()?;
    if found.is_null() || found.is_undefined() {
        return None;
    }
    let pair = js_sys::Array::from(&found);
    let resp = web_sys::Response::from(pair.get(0));
    let flat = pair.get(1).as_string()?;
    Some((Response::from(resp), from_flat(&flat)))
}

/// The miss half: the origin fetch (conditional when an entry with a
/// validator is kept), `after_fetch` (answer, stale, 502/504), a 304's
/// revalidation, `on_origin` (store or not), and the tee into the cache. A
/// `leader` reports the outcome to the key's followers.
async fn miss(
    ctx: &Context,
    state: &State,
    req_headers: &CoreHeaders,
    lk: &Lookup<'_>,
    m: Missed,
    leader: Option<Leader>,
    trace: &Trace,
) -> Result<web_sys::Response> {
    let Missed {
        detail,
        mut kept,
        seen,
    } = m;
    let mut leader = leader;
    let key = lk.key.url();
    loop {
        let started = now_millis();
        let validator = kept.as_ref().and_then(|k| k.validator.clone());
        let fetch = fetch_keyed(state, lk, validator.as_ref(), Some(trace)).await;
        let fallback = StaleFallback::of(&kept.as_ref().filter(|k| k.stale_if_error));
        let start = flow::FetchStart {
            at: started,
            seen: &seen,
        };
        let resp = match (after_fetch(fetch.outcome(), fallback), kept, fetch) {
            (AfterFetch::ServeStale { detail }, Some(s), _) => {
                report(leader, key, LeaderOutcome::Failed);
                let now = now_secs();
                let (headers, cs) =
                    flow::stale_on_error(&state.config, lk, &s.entry, &s.headers, now, detail);
                return serve_stored(ctx, s.resp, s.entry.status, headers, cs, req_headers, lk);
            }
            (_, _, Fetch::Failed { error, why }) => {
                report(leader, key, LeaderOutcome::Failed);
                return origin_failed(error, &why, CacheStatus::forward(Fwd::Miss)).map(Into::into);
            }
            (AfterFetch::Answer(s), Some(k), Fetch::Response(r))
                if answers_revalidation(s, validator.as_ref()) =>
            {
                let served =
                    serve_not_modified(ctx, state, req_headers, lk, detail, k, &r, start, leader);
                match served {
                    Ok(served) => return served,
                    Err(again) => {
                        (kept, leader) = (Some(again.0), again.1);
                        continue;
                    }
                }
            }
            (_, _, Fetch::Response(r)) => r,
        };
        return answer(ctx, state, req_headers, lk, detail, resp, start, leader);
    }
}

/// An origin answer to a miss: `on_origin`, the client's response, and the
/// tee into the cache.
#[allow(clippy::too_many_arguments)]
fn answer(
    ctx: &Context,
    state: &State,
    req_headers: &CoreHeaders,
    lk: &Lookup<'_>,
    detail: Option<Detail>,
    resp: Response,
    start: flow::FetchStart,
    leader: Option<Leader>,
) -> Result<web_sys::Response> {
    let status = resp.status_code();
    let decision = flow::on_origin(
        &state.config,
        lk,
        status,
        &to_core(resp.headers()),
        start,
        now_secs(),
    );
    let mut client = decision.client;
    let mut cs = decision.cache_status;
    if let Some(d) = detail.filter(|_| decision.store.is_some()) {
        cs = cs.detail(d);
    }
    client.append("cache-status", &cs.to_string());
    let mut resp = resp;
    match decision.store {
        Some(store) => put_reporting(ctx, &mut resp, lk, store, leader)?,
        None => report(
            leader,
            lk.key.url(),
            flow::client_cc::not_stored_outcome(lk),
        ),
    }
    respond_raw(
        resp,
        deliver(lk.route(), &lk.method, req_headers, status, client),
    )
}

/// Fetches from the origin without touching the cache (used when generations
/// cannot be read).
async fn forward_uncached(
    state: &State,
    lk: &Lookup<'_>,
    req_headers: &CoreHeaders,
    cs: CacheStatus,
    trace: &Trace,
) -> Result<web_sys::Response> {
    match fetch_keyed(state, lk, None, Some(trace)).await {
        Fetch::Response(r) => {
            let status = r.status_code();
            let mut h =
                flow::uncached_client_headers(&state.config, lk.route(), &to_core(r.headers()));
            h.append("cache-status", &cs.fwd_status(status).to_string());
            respond_raw(r, deliver(lk.route(), &lk.method, req_headers, status, h))
        }
        Fetch::Failed { error, why } => origin_failed(error, &why, cs).map(Into::into),
    }
}

/// stale-while-revalidate: refresh an entry in the background. Runs after the
/// response, so it re-plans from the key URL (keying a key URL with the same
/// headers gives the same key) with the isolate's state.
async fn refresh(env: Env, key_url: String, req_headers: CoreHeaders) {
    let state = super::state(&env);
    let Ok(state) = state.as_ref() else { return };
    refresh_entry(state, &key_url, &req_headers).await;
    state.refresh.borrow_mut().finish(&key_url);
}

async fn refresh_entry(state: &State, key_url: &str, req_headers: &CoreHeaders) {
    let incoming = flow::Incoming {
        method: &Method::Get,
        url: key_url,
        headers: req_headers,
        has_body: false,
        user_secret: state.key_secret.as_deref().map(str::as_bytes),
    };
    let flow::Plan::Lookup(lk) = flow::plan(&state.config, &incoming) else {
        return;
    };
    let seen = kv::memo_only(state, &lk.route_names(), now_secs());
    // Revalidated conditionally when the stored entry has a validator.
    let mut kept = stored_for_refresh(lk.key.url()).await;
    loop {
        let started = now_millis();
        let start = flow::FetchStart {
            at: started,
            seen: &seen,
        };
        let validator = kept.as_ref().and_then(|k| k.validator.clone());
        let Fetch::Response(resp) = fetch_keyed(state, &lk, validator.as_ref(), None).await else {
            return;
        };
        let status = resp.status_code();
        if let (true, Some(k)) = (
            answers_revalidation(status, validator.as_ref()),
            kept.take(),
        ) {
            if refresh_not_modified(state, &lk, k, &resp, start).await {
                return;
            }
            continue;
        }
        let decision = flow::on_origin(
            &state.config,
            &lk,
            status,
            &to_core(resp.headers()),
            start,
            now_secs(),
        );
        if let Some(store) = decision.store {
            put_copy(
                lk.key.url().to_string(),
                lk.key.base_url().to_string(),
                resp,
                store.status,
                store.headers,
            )
            .await;
        }
        return;
    }
}

/// The origin fetch of a cacheable request: GET of the canonical URL with only
/// the keyed headers (and a stored entry's `validator`, when revalidating),
/// under the route's timeout; timed by the request's `trace` when there is one
/// (a background refresh has none).
async fn fetch_keyed(
    state: &State,
    lk: &Lookup<'_>,
    validator: Option<&Validator>,
    trace: Option<&Trace>,
) -> Fetch {
    let conditional = validator.map(|v| conditional_headers(&lk.origin_headers, v));
    if let Some(target) = &lk.bucket {
        let validators = conditional.as_ref().unwrap_or(&lk.origin_headers);
        let timeout = Duration::from_secs(lk.route().timeout);
        let fetching = super::bucket::fetch_bucket(state, target, validators, timeout);
        return match trace {
            Some(t) => t.timed(fetching).await,
            None => fetching.await,
        };
    }
    let req = OriginRequest {
        url: &lk.origin_url,
        method: &Method::Get,
        headers: conditional.as_ref().unwrap_or(&lk.origin_headers),
        body: None,
        timeout: Duration::from_secs(lk.route().timeout),
    };
    match trace {
        Some(t) => t.fetch(req).await,
        None => fetch_origin(req).await,
    }
}
