//! A cacheable request: the I/O around `flow::on_stored` (the stored half) and
//! `flow::fetched::after_fetch` / `flow::on_origin` (the miss half).

use super::body::respond_raw;
use super::convert::{from_flat, now_millis, now_secs, to_core};
use super::origin::{fetch_origin, Fetch, OriginRequest};
use super::store::{put_copy, serve_stored};
use super::{kv, log, origin_failed, State};
use crate::flow::fetched::{after_fetch, AfterFetch, StaleFallback};
use crate::flow::refresh::refresh_hold;
use crate::flow::{self, Lookup, StoredDecision, StoredEntry};
use crate::http::cache_status::{CacheStatus, Detail, Fwd};
use crate::http::headers::Headers as CoreHeaders;
use crate::http::method::Method;
use crate::http::time::UnixSecs;
use crate::response::delivery::deliver;
use std::time::Duration;
use worker::*;

/// A stored entry kept for stale-if-error.
struct Stale {
    resp: Response,
    entry: StoredEntry,
    headers: CoreHeaders,
}

/// What the stored half found.
enum Found {
    /// Answered from the cache (or refused as unverifiable).
    Answered(Result<web_sys::Response>),
    /// Go to the origin; `detail` says why the entry (if any) was not used,
    /// `stale` is an entry that may stand in if the origin fails.
    Miss {
        detail: Option<Detail>,
        stale: Option<Stale>,
    },
}

pub async fn lookup(
    env: &Env,
    ctx: &Context,
    state: &State,
    req_headers: &CoreHeaders,
    lk: Lookup<'_>,
) -> Result<web_sys::Response> {
    let now = now_secs();
    if let Some(served) = super::memory::serve(env, state, req_headers, &lk, now).await {
        return served;
    }
    match stored(env, ctx, state, req_headers, &lk, now).await {
        Found::Answered(r) => r,
        Found::Miss { detail, stale } => miss(ctx, state, req_headers, &lk, detail, stale).await,
    }
}

/// The stored half: the Cache API's entry, put through `flow::on_stored`.
async fn stored(
    env: &Env,
    ctx: &Context,
    state: &State,
    req_headers: &CoreHeaders,
    lk: &Lookup<'_>,
    now: UnixSecs,
) -> Found {
    let Some((resp, stored)) = cache_match(lk.key.url()).await else {
        return Found::Miss {
            detail: None,
            stale: None,
        };
    };
    let Some(entry) = StoredEntry::parse(&stored) else {
        return Found::Miss {
            detail: Some(Detail::UnreadableEntry),
            stale: None,
        };
    };
    let gens = kv::read(env, state, &lk.names(&entry.stamp), now).await;
    match flow::on_stored(&state.config, lk, &entry, &stored, &gens, now) {
        StoredDecision::Serve {
            status,
            headers,
            cache_status,
            revalidate,
        } => {
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
        } => Found::Miss {
            detail: Some(detail),
            stale: stale_if_error.then_some(Stale {
                resp,
                entry,
                headers: stored,
            }),
        },
        StoredDecision::Unverifiable => {
            // Fail safe: generations could not be read, so nothing stored is
            // served and nothing is stored.
            log(
                "generations_unreadable",
                serde_json::json!({ "key": lk.key.url() }),
            );
            let cs = CacheStatus::forward(Fwd::Bypass).detail(Detail::GenerationsUnavailable);
            Found::Answered(forward_uncached(lk, req_headers, cs).await.map(Into::into))
        }
    }
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

/// The miss half: the origin fetch, `after_fetch` (answer, stale, 502/504),
/// `on_origin` (store or not), and the tee into the cache.
async fn miss(
    ctx: &Context,
    state: &State,
    req_headers: &CoreHeaders,
    lk: &Lookup<'_>,
    detail: Option<Detail>,
    stale: Option<Stale>,
) -> Result<web_sys::Response> {
    let started = now_millis();
    let fetch = fetch_keyed(lk).await;
    let resp = match (
        after_fetch(fetch.outcome(), StaleFallback::of(&stale)),
        stale,
        fetch,
    ) {
        (AfterFetch::ServeStale { detail }, Some(s), _) => {
            let (headers, cs) =
                flow::stale_on_error(&state.config, lk, &s.entry, &s.headers, now_secs(), detail);
            return serve_stored(ctx, s.resp, s.entry.status, headers, cs, req_headers, lk);
        }
        (_, _, Fetch::Failed { error, why }) => {
            return origin_failed(error, &why, CacheStatus::forward(Fwd::Miss)).map(Into::into)
        }
        (_, _, Fetch::Response(r)) => r,
    };
    let status = resp.status_code();
    let decision = flow::on_origin(
        &state.config,
        lk,
        status,
        &to_core(resp.headers()),
        started,
        now_secs(),
    );
    let mut client = decision.client;
    let mut cs = decision.cache_status;
    if let Some(d) = detail.filter(|_| decision.store.is_some()) {
        cs = cs.detail(d);
    }
    client.append("cache-status", &cs.to_string());
    let mut resp = resp;
    if let Some(store) = decision.store {
        // Tee: the client's body streams at once; the copy goes to the cache in wait_until.
        let copy = resp.cloned()?;
        ctx.wait_until(put_copy(
            lk.key.url().to_string(),
            lk.key.base_url().to_string(),
            copy,
            store.status,
            store.headers,
        ));
    }
    respond_raw(
        resp,
        deliver(lk.route(), &lk.method, req_headers, status, client),
    )
}

/// Fetches from the origin without touching the cache (used when generations
/// cannot be read).
async fn forward_uncached(
    lk: &Lookup<'_>,
    req_headers: &CoreHeaders,
    cs: CacheStatus,
) -> Result<Response> {
    match fetch_keyed(lk).await {
        Fetch::Response(r) => {
            let status = r.status_code();
            let mut h = flow::client_headers(lk.route(), &to_core(r.headers()));
            h.append("cache-status", &cs.fwd_status(status).to_string());
            super::body::respond(r, deliver(lk.route(), &lk.method, req_headers, status, h))
        }
        Fetch::Failed { error, why } => origin_failed(error, &why, cs),
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
    let started = now_millis();
    let Fetch::Response(resp) = fetch_keyed(&lk).await else {
        return;
    };
    let status = resp.status_code();
    let decision = flow::on_origin(
        &state.config,
        &lk,
        status,
        &to_core(resp.headers()),
        started,
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
}

/// The origin fetch of a cacheable request: GET of the canonical URL with only
/// the keyed headers, under the route's timeout.
async fn fetch_keyed(lk: &Lookup<'_>) -> Fetch {
    fetch_origin(OriginRequest {
        url: &lk.origin_url,
        method: &Method::Get,
        headers: &lk.origin_headers,
        body: None,
        timeout: Duration::from_secs(lk.route().timeout),
    })
    .await
}
