//! Pass-through and cache lookup: the I/O around `flow::on_stored` / `flow::on_origin`.

use super::body::{respond, respond_raw};
use super::convert::{now_millis, now_secs, rebuild, to_core};
use super::origin::{fetch_origin, OriginRequest, OriginResult};
use super::{kv, log, plain, State};
use crate::flow::{self, Lookup, StoredDecision, StoredEntry};
use crate::http::cache_status::{CacheStatus, Detail, Fwd};
use crate::http::headers::Headers as CoreHeaders;
use crate::http::method::Method;
use crate::purge::generations::GenName;
use crate::request::forward::RequestBody;
use crate::response::delivery::deliver;
use std::time::Duration;
use worker::*;

/// Timeout for pass-through requests (no route, or bypassed).
const PASS_TIMEOUT: Duration = Duration::from_secs(30);

/// The parts of `flow::Plan::Pass`.
pub struct Pass {
    pub cache_status: CacheStatus,
    pub invalidate: Option<String>,
    pub forward_body: RequestBody,
}

/// Forwards the client's request (method, `flow::pass_headers`, body) to the origin.
pub async fn pass(
    req: Request,
    method: &Method,
    env: &Env,
    state: &State,
    headers: &CoreHeaders,
    pass: Pass,
) -> Result<Response> {
    let Pass {
        cache_status,
        invalidate,
        forward_body,
    } = pass;
    let config = &state.config;
    let url = req.url()?;
    let mut target = format!(
        "{}{}",
        config.origin.as_str().trim_end_matches('/'),
        url.path()
    );
    if let Some(q) = url.query() {
        target.push('?');
        target.push_str(q);
    }
    let fwd = crate::request::forward::pass_headers(headers, forward_body);
    let body = match forward_body {
        RequestBody::Forward => req.inner().body().map(wasm_bindgen::JsValue::from),
        RequestBody::Withhold => None,
    };
    // As sent: parsed in `glue::fetch` from the raw request, not through
    // `Request::method`, which maps unknown names to GET.
    let result = fetch_origin(OriginRequest {
        url: &target,
        method: method.as_str(),
        headers: &fwd,
        body,
        timeout: PASS_TIMEOUT,
    })
    .await;
    let resp = match result {
        OriginResult::Response(r) => r,
        OriginResult::Unreachable(e) => return origin_failed(502, &e, cache_status),
        OriginResult::TimedOut => return origin_failed(504, "timeout", cache_status),
    };
    let status = resp.status_code();
    if let Some(base) = invalidate.filter(|_| (200..300).contains(&status)) {
        // RFC 9111 §4.4: a successful unsafe request invalidates the target URI.
        let names = vec![GenName::url(&base)];
        let ttl = crate::purge::webhook::generation_ttl(config);
        if let Err(e) = kv::bump(env, state, &names, now_millis(), ttl, now_secs()).await {
            log(
                "invalidate_failed",
                serde_json::json!({ "url": base, "error": e }),
            );
        }
        let _ = Cache::default().delete(base.as_str(), false).await;
        state.memory.borrow_mut().remove_base(&base);
    }
    let mut out = to_core(resp.headers());
    out.append("cache-status", &cache_status.fwd_status(status).to_string());
    rebuild(resp, status, &out)
}

fn origin_failed(status: u16, why: &str, cs: CacheStatus) -> Result<Response> {
    log(
        "origin_failed",
        serde_json::json!({ "status": status, "error": why }),
    );
    let detail = if status == 504 {
        Detail::OriginTimeout
    } else {
        Detail::OriginUnreachable
    };
    let msg = if status == 504 {
        "edgecache: the origin did not answer in time"
    } else {
        "edgecache: the origin could not be reached"
    };
    plain(status, msg, &cs.detail(detail))
}

/// A stored entry kept for stale-if-error.
struct Stale {
    resp: Response,
    entry: StoredEntry,
    headers: CoreHeaders,
}

pub async fn lookup(
    env: &Env,
    ctx: &Context,
    state: &State,
    req_headers: &CoreHeaders,
    lk: Lookup<'_>,
) -> Result<web_sys::Response> {
    let config = &state.config;
    let now = now_secs();
    if let Some(served) = super::memory::serve(env, state, req_headers, &lk, now).await {
        return served;
    }
    let cache = Cache::default();
    let mut stale: Option<Stale> = None;
    let mut miss_detail: Option<Detail> = None;
    let found = cache.get(lk.key.url(), false).await.ok().flatten();
    if let Some(resp) = found {
        let stored = to_core(resp.headers());
        match StoredEntry::parse(&stored) {
            None => miss_detail = Some(Detail::UnreadableEntry),
            Some(entry) => {
                let names = lk.names(&entry.stamp);
                let gens = kv::read(env, state, &names, now).await;
                match flow::on_stored(config, &lk, &entry, &stored, &gens, now) {
                    StoredDecision::Serve {
                        status,
                        headers,
                        cache_status,
                        revalidate,
                    } => {
                        // One background refresh per key at a time (it may take up to the
                        // route timeout); other stale hits meanwhile just serve stale.
                        let hold = lk.route().timeout.saturating_add(1);
                        if revalidate
                            && state
                                .refresh
                                .borrow_mut()
                                .try_start(lk.key.url(), now, hold)
                        {
                            ctx.wait_until(refresh(
                                env.clone(),
                                lk.key.url().to_string(),
                                req_headers.clone(),
                            ));
                        }
                        let mut resp = resp;
                        if !revalidate {
                            super::memory::promote(ctx, state, &mut resp, &lk, &stored)?;
                        }
                        return serve_stored(
                            ctx,
                            resp,
                            status,
                            headers,
                            cache_status,
                            req_headers,
                            &lk,
                        );
                    }
                    StoredDecision::Miss {
                        detail,
                        stale_if_error,
                    } => {
                        miss_detail = Some(detail);
                        if stale_if_error {
                            stale = Some(Stale {
                                resp,
                                entry,
                                headers: stored,
                            });
                        }
                    }
                    StoredDecision::Unverifiable => {
                        // Fail safe: generations could not be read, so nothing stored is served
                        // and nothing is stored.
                        log(
                            "generations_unreadable",
                            serde_json::json!({ "key": lk.key.url() }),
                        );
                        let cs = CacheStatus::forward(Fwd::Bypass)
                            .detail(Detail::GenerationsUnavailable);
                        return forward_uncached(&lk, req_headers, cs).await.map(Into::into);
                    }
                }
            }
        }
    }
    let started = now_millis();
    let result = fetch_keyed(&lk).await;
    let failure = match &result {
        OriginResult::Response(r) if r.status_code() >= 500 => Some(Detail::OriginError),
        OriginResult::Response(_) => None,
        OriginResult::Unreachable(_) => Some(Detail::OriginUnreachable),
        OriginResult::TimedOut => Some(Detail::OriginTimeout),
    };
    if let (Some(why), Some(s)) = (failure, stale) {
        let (headers, cs) =
            flow::stale_on_error(config, &lk, &s.entry, &s.headers, now_secs(), why);
        return serve_stored(ctx, s.resp, s.entry.status, headers, cs, req_headers, &lk);
    }
    let resp = match result {
        OriginResult::Response(r) => r,
        OriginResult::Unreachable(e) => {
            return origin_failed(502, &e, CacheStatus::forward(Fwd::Miss)).map(Into::into)
        }
        OriginResult::TimedOut => {
            return origin_failed(504, "timeout", CacheStatus::forward(Fwd::Miss)).map(Into::into)
        }
    };
    let status = resp.status_code();
    let decision = flow::on_origin(
        config,
        &lk,
        status,
        &to_core(resp.headers()),
        started,
        now_secs(),
    );
    let mut client = decision.client;
    let mut cs = decision.cache_status;
    if let Some(d) = miss_detail.filter(|_| decision.store.is_some()) {
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

/// Serves a stored response (stored with `status`): 304, 206, 416 or the whole,
/// as `delivery::deliver` decides.
fn serve_stored(
    ctx: &Context,
    resp: Response,
    status: u16,
    mut headers: CoreHeaders,
    cs: CacheStatus,
    req_headers: &CoreHeaders,
    lk: &Lookup<'_>,
) -> Result<web_sys::Response> {
    headers.append("cache-status", &cs.to_string());
    let length = headers.content_length();
    // A large entry was streamed into the cache; a runtime may have kept a short
    // copy of a truncated body. Serve it through a length guard: a short body
    // errors the response instead of passing for whole, and the entry goes.
    let resp = match flow::copy_strategy(length) {
        flow::CopyStrategy::Streamed { .. } => {
            let (guarded, complete) = super::body::guarded(resp, status, &headers)?;
            if let Some(p) = complete {
                let key = lk.key.url().to_string();
                ctx.wait_until(async move {
                    let v = wasm_bindgen_futures::JsFuture::from(p).await;
                    if matches!(v.map(|v| v.as_bool()), Ok(Some(false))) {
                        let _ = Cache::default().delete(key.as_str(), false).await;
                        log("stored_copy_incomplete", serde_json::json!({ "key": key }));
                    }
                });
            }
            guarded
        }
        flow::CopyStrategy::Buffered { .. } => resp,
    };
    respond_raw(
        resp,
        deliver(lk.route(), &lk.method, req_headers, status, headers),
    )
}

/// Fetches from the origin without touching the cache (used when generations
/// cannot be read).
async fn forward_uncached(
    lk: &Lookup<'_>,
    req_headers: &CoreHeaders,
    cs: CacheStatus,
) -> Result<Response> {
    let result = fetch_keyed(lk).await;
    match result {
        OriginResult::Response(r) => {
            let status = r.status_code();
            let mut h = flow::client_headers(lk.route(), &to_core(r.headers()));
            h.append("cache-status", &cs.fwd_status(status).to_string());
            respond(r, deliver(lk.route(), &lk.method, req_headers, status, h))
        }
        OriginResult::Unreachable(e) => origin_failed(502, &e, cs),
        OriginResult::TimedOut => origin_failed(504, "timeout", cs),
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
    let result = fetch_keyed(&lk).await;
    let OriginResult::Response(resp) = result else {
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

/// Writes the cache's copy of an origin answer under `key`, never a truncated
/// or errored body (see [`flow::copy_strategy`]); a small one is also kept in
/// the memory tier.
async fn put_copy(
    key: String,
    base_url: String,
    copy: Response,
    status: u16,
    headers: CoreHeaders,
) {
    let length = headers.content_length();
    let outcome = match flow::copy_strategy(length) {
        flow::CopyStrategy::Buffered { expected, limit } => {
            match super::body::complete_copy(copy, status, &headers, expected, limit).await {
                Ok(Some((stored, body))) => {
                    let put = Cache::default().put(key.as_str(), stored).await;
                    // Kept only once the Cache API holds the same copy (or tried to):
                    // a memory hit then answers what a Cache API hit would.
                    super::memory::keep(key.clone(), base_url, headers, body);
                    put.map(|_| true)
                }
                Ok(None) => Ok(false),
                Err(e) => Err(e),
            }
        }
        flow::CopyStrategy::Streamed { .. } => match super::body::guarded(copy, status, &headers) {
            Ok((stored, complete)) => put_guarded(&key, stored, complete).await,
            Err(e) => Err(e),
        },
    };
    match outcome {
        Ok(true) => {}
        Ok(false) => log("cache_copy_incomplete", serde_json::json!({ "key": key })),
        Err(e) => log(
            "cache_put_failed",
            serde_json::json!({ "key": key, "error": e.to_string() }),
        ),
    }
}

/// Streams `stored` into the cache; deletes the entry again if its body turned
/// out incomplete. `Ok(false)` = incomplete.
async fn put_guarded(
    key: &str,
    stored: Response,
    complete: Option<js_sys::Promise>,
) -> Result<bool> {
    Cache::default().put(key, stored).await?;
    let complete = match complete {
        Some(p) => wasm_bindgen_futures::JsFuture::from(p)
            .await
            .map(|v| v.as_bool() == Some(true))
            .unwrap_or(false),
        None => true,
    };
    if !complete {
        let _ = Cache::default().delete(key, false).await;
    }
    Ok(complete)
}

/// The origin fetch of a cacheable request: GET of the canonical URL with only
/// the keyed headers, under the route's timeout.
async fn fetch_keyed(lk: &Lookup<'_>) -> OriginResult {
    fetch_origin(OriginRequest {
        url: &lk.origin_url,
        method: "GET",
        headers: &lk.origin_headers,
        body: None,
        timeout: Duration::from_secs(lk.route().timeout),
    })
    .await
}
