//! `POST /__edgecache/purge`: the signed purge webhook. The core verifies,
//! parses and plans (`crate::purge::webhook`); this file does the KV writes, local
//! deletes and zone purge calls the plan names, and answers the receipt.

use super::body::read_upto;
use super::convert::{local, now_millis, now_secs};
use super::origin::{fetch_origin, Fetch, OriginRequest};
use super::{kv, log, plain, secret, State};
use crate::http::cache_status::{CacheStatus, Detail, Fwd};
use crate::http::headers::Headers as CoreHeaders;
use crate::http::method::Method;
use crate::http::time::UnixSecs;
use crate::purge::generations::GenName;
use crate::purge::receipt::{
    receipt_key, receipt_ttl, replay_decision, GenerationsStatus, Receipt, Replay, ZonePurgeStatus,
};
use crate::purge::signature::{parse_secrets, Secret};
use crate::purge::webhook::{
    authenticate, generation_ttl, plan_purge, precheck, WebhookError, BODY_READ_LIMIT,
};
use crate::purge::zone::{next_step, CallResult, NextStep, ZonePurgeCall, MAX_RATE_WAIT_MS};
use std::time::Duration;
use worker::*;

fn refuse(e: WebhookError) -> Result<Response> {
    log(
        "purge_refused",
        serde_json::json!({ "status": e.status(), "error": e.message() }),
    );
    let cs = CacheStatus::forward(Fwd::Bypass).detail(Detail::Purge);
    let mut r = plain(e.status(), &format!("edgecache: {}", e.message()), &cs)?;
    if e.status() == 405 {
        r.headers_mut().set("allow", "POST")?;
    }
    Ok(r)
}

pub async fn handle(
    req: Request,
    method: &Method,
    env: &Env,
    ctx: &Context,
    state: &State,
    headers: &CoreHeaders,
) -> Result<Response> {
    let config = &state.config;
    let now = now_secs();
    let declared = headers
        .content_length()
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    // Method and declared size are refused before the body is read or any HMAC work.
    if let Err(e) = precheck(method, declared) {
        return refuse(e);
    }
    let body = read_body(&req).await;
    let secrets = webhook_secrets(env);
    let verified = match authenticate(
        method,
        declared,
        headers,
        &body,
        &secrets,
        now,
        config.purge.tolerance,
    ) {
        Ok(v) => v,
        Err(e) => return refuse(e),
    };
    let kv_store = env.kv(kv::BINDING).ok();
    let rkey = receipt_key(&verified.id);
    let stored = match &kv_store {
        Some(k) => k.get(&rkey).text().await.ok().flatten(),
        None => None,
    };
    if let Replay::Replayed(receipt) = replay_decision(&verified.id, stored.as_deref()) {
        return receipt_response(&receipt);
    }
    // `/path` prefixes apply to the host the webhook arrived on, spelled as keys spell it.
    let host = crate::request::key::key_host(&req.url()?).unwrap_or_default();
    let zone_token = secret(env, "EDGECACHE_ZONE_TOKEN");
    let zone_on = config.purge.zone_id.is_some() && zone_token.is_some();
    let plan = match plan_purge(config, &verified.id, &body, &host, zone_on, now) {
        Ok(p) => p,
        Err(e) => return refuse(e),
    };
    let mut receipt = plan.receipt;
    // Layer 1: generations in KV (global).
    bump_generations(env, state, &plan.names, &verified.id, now, &mut receipt).await;
    // Layer 3: local deletes of the named URLs in this data centre.
    receipt.layers.local_delete.deleted = delete_here(&plan.key_urls).await;
    // Layer 2: the zone purge API, after the response.
    if let (true, Some(token)) = (zone_on, zone_token) {
        receipt.layers.zone_purge.status = ZonePurgeStatus::Queued;
        receipt.layers.zone_purge.requests = plan.zone_calls.len();
        let id = verified.id.clone();
        let calls = plan.zone_calls;
        ctx.wait_until(send_zone_calls(calls, token, id));
    }
    if receipt.storable() && kv_store.is_some() {
        let ttl = receipt_ttl(config.purge.tolerance);
        let _ = kv::put(env, &rkey, &receipt.to_json(), ttl).await;
    }
    log(
        "purge",
        serde_json::json!({ "id": verified.id, "names": plan.names.len(), "status": receipt.status() }),
    );
    receipt_response(&receipt)
}

/// At most `BODY_READ_LIMIT` bytes of the body: one without `Content-Length`
/// that goes on past the limit is cut there (and `authenticate` refuses it).
/// A body that cannot be read is no body (its signature cannot match).
async fn read_body(req: &Request) -> Vec<u8> {
    read_upto(req.inner().body(), BODY_READ_LIMIT)
        .await
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// The webhook secrets (`EDGECACHE_WEBHOOK_SECRET`, several for rotation);
/// none when unset or invalid, which refuses every webhook.
fn webhook_secrets(env: &Env) -> Vec<Secret> {
    secret(env, "EDGECACHE_WEBHOOK_SECRET")
        .map(|s| parse_secrets(&s))
        .transpose()
        .unwrap_or_else(|e| {
            console_error!("edgecache: EDGECACHE_WEBHOOK_SECRET is invalid: {}", e);
            None
        })
        .unwrap_or_default()
}

/// Deletes `urls` from this data centre's cache; how many were there.
async fn delete_here(urls: &[String]) -> usize {
    let cache = Cache::default();
    let mut deleted = 0;
    for url in urls {
        if let Ok(CacheDeletionOutcome::Success) = cache.delete(url.as_str(), false).await {
            deleted += 1;
        }
    }
    deleted
}

/// Writes the purge's generations and records the outcome in the receipt.
async fn bump_generations(
    env: &Env,
    state: &State,
    names: &[GenName],
    id: &str,
    now: UnixSecs,
    receipt: &mut Receipt,
) {
    match kv::bump(env, state, names, now_millis(), generation_ttl(), now).await {
        Ok(n) => {
            receipt.layers.generations.bumped = n;
            receipt.layers.generations.status = GenerationsStatus::Ok;
        }
        Err(e) => {
            log(
                "generations_failed",
                serde_json::json!({ "id": id, "error": e }),
            );
            receipt.layers.generations.status = GenerationsStatus::Failed;
        }
    }
}

fn receipt_response(receipt: &Receipt) -> Result<Response> {
    let mut h = CoreHeaders::new();
    h.append("content-type", "application/json");
    h.append("cache-control", "no-store");
    h.append(
        "cache-status",
        &CacheStatus::forward(Fwd::Bypass)
            .detail(Detail::Purge)
            .to_string(),
    );
    if let Some(secs) = receipt.retry_after() {
        h.append("retry-after", &secs.to_string());
    }
    local(receipt.status(), &h, Some(receipt.to_json().into_bytes()))
}

/// Longest wait for one zone purge API call.
const ZONE_CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The zone purge calls of one webhook, in order, each within the plan's rate
/// limit (`purge::zone::RateLimit`, shared by the isolate's webhooks). A call
/// that would wait past `MAX_RATE_WAIT_MS` is skipped with the rest, and logged:
/// the zone layer is the optional one (generations already hold).
async fn send_zone_calls(calls: Vec<ZonePurgeCall>, token: String, id: String) {
    let total = calls.len();
    for (i, call) in calls.iter().enumerate() {
        let wait = super::current_state().and_then(|s| match s.as_ref() {
            Ok(state) => state
                .zone_limit
                .borrow_mut()
                .reserve(now_millis(), MAX_RATE_WAIT_MS),
            Err(_) => None,
        });
        let Some(ms) = wait else {
            log(
                "zone_purge_skipped",
                serde_json::json!({ "id": id, "reason": "rate limit", "calls_skipped": total - i }),
            );
            return;
        };
        if ms > 0 {
            Delay::from(Duration::from_millis(ms)).await;
        }
        send_zone_call(call, &token, &id).await;
    }
}

/// One zone purge API call, retried as `purge::zone::next_step` says.
async fn send_zone_call(call: &ZonePurgeCall, token: &str, id: &str) {
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let mut headers = CoreHeaders::new();
        headers.append("authorization", &format!("Bearer {token}"));
        headers.append("content-type", "application/json");
        let fetch = fetch_origin(OriginRequest {
            url: &call.url,
            method: &Method::Post,
            headers: &headers,
            body: Some(call.body.to_string().into()),
            timeout: ZONE_CALL_TIMEOUT,
        })
        .await;
        let (status, retry_after) = match &fetch {
            Fetch::Response(r) => (
                Some(r.status_code()),
                r.headers().get("retry-after").ok().flatten(),
            ),
            Fetch::Failed { .. } => (None, None),
        };
        let result = match status {
            Some(status) => CallResult::Answered {
                status,
                retry_after: retry_after.as_deref(),
            },
            None => CallResult::NoResponse,
        };
        match next_step(attempt, result) {
            NextStep::Done => {
                log(
                    "zone_purge_ok",
                    serde_json::json!({ "id": id, "attempt": attempt }),
                );
                return;
            }
            NextStep::RetryAfter(ms) => Delay::from(Duration::from_millis(ms)).await,
            NextStep::GiveUp => {
                log(
                    "zone_purge_failed",
                    serde_json::json!({ "id": id, "status": status, "attempt": attempt }),
                );
                return;
            }
        }
    }
}
