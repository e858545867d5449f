//! `POST /__edgecache/purge`: the signed purge webhook. The core verifies,
//! parses and plans (`crate::purge::webhook`); this file does the KV writes, local
//! deletes and zone purge calls the plan names, and answers the receipt.

use super::body::read_upto;
use super::convert::{local, now_millis, now_secs};
use super::origin::{fetch_origin, Fetch, OriginRequest};
use super::{kv, log, plain, secret, writer, State};
use crate::flow::observe::PurgeLine;
use crate::http::cache_status::{CacheStatus, Detail, Fwd};
use crate::http::headers::Headers as CoreHeaders;
use crate::http::method::Method;
use crate::http::time::{UnixMillis, UnixSecs};
use crate::purge::generations::{GenName, PurgeKind};
use crate::purge::receipt::{
    receipt_key, receipt_ttl, replay_decision, GenerationsStatus, Receipt, Replay, ZonePurgeStatus,
};
use crate::purge::signature::{parse_secrets, Secret};
use crate::purge::webhook::{
    authenticate, generation_ttl, plan_purge, precheck, WebhookError, BODY_READ_LIMIT,
};
use crate::purge::writer::{Handoff, Writer};
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
    if let Some(secs) = e.retry_after() {
        r.headers_mut().set("retry-after", &secs.to_string())?;
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
    // With a `PurgeWriter` bound, it writes KV; without one, this webhook does.
    let writer_ns = env.durable_object(writer::WRITER_BINDING).ok();
    let who = writer_ns
        .as_ref()
        .map_or(Writer::Direct, |_| Writer::Single);
    let plan = match plan_purge(config, &verified.id, &body, &host, zone_on, who, now) {
        Ok(p) => p,
        Err(e) => return refuse(e),
    };
    let mut receipt = plan.receipt;
    // Layer 1: generations in KV (global).
    let (names, kind) = (&plan.names, plan.kind);
    let result = record(env, state, writer_ns.as_ref(), names, kind, now).await;
    record_generations(result, &verified.id, &mut receipt);
    // Layer 3: local deletes of the named URLs in this data centre (hard purges).
    receipt.layers.local_delete.deleted = delete_here(&plan.local_deletes).await;
    // Layer 2: the zone purge API, after the response.
    if let (false, Some(token)) = (plan.zone_calls.is_empty(), zone_token) {
        receipt.layers.zone_purge.status = ZonePurgeStatus::Queued;
        receipt.layers.zone_purge.requests = plan.zone_calls.len();
        let id = verified.id.clone();
        let calls = plan.zone_calls;
        ctx.wait_until(send_zone_calls(calls, token, id));
    }
    store_receipt(
        env,
        kv_store.is_some(),
        &rkey,
        &receipt,
        config.purge.tolerance,
    )
    .await;
    super::observe::purge(env, state, &PurgeLine::new(now_millis(), &receipt));
    receipt_response(&receipt)
}

/// Keeps a successful receipt for replay (best effort).
async fn store_receipt(env: &Env, has_kv: bool, rkey: &str, receipt: &Receipt, tolerance: u64) {
    if receipt.storable() && has_kv {
        let _ = kv::put(env, rkey, &receipt.to_json(), receipt_ttl(tolerance)).await;
    }
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

/// Records the purge's names globally: through the writer when one is bound,
/// else by writing KV here.
async fn record(
    env: &Env,
    state: &State,
    writer_ns: Option<&ObjectNamespace>,
    names: &[GenName],
    kind: PurgeKind,
    now: UnixSecs,
) -> std::result::Result<usize, String> {
    let at = now_millis();
    let nonce = super::convert::nonce();
    match writer_ns {
        Some(ns) => hand_off(ns, state, names, kind, at, nonce, now).await,
        None => kv::bump(env, state, names, kind, at, nonce, generation_ttl(), now).await,
    }
}

/// Hands the purge's names to the single writer (stored durably when this
/// returns `Ok`), and updates this isolate's memo at once, as a direct write does.
async fn hand_off(
    ns: &ObjectNamespace,
    state: &State,
    names: &[GenName],
    kind: PurgeKind,
    at: UnixMillis,
    nonce: u64,
    now: UnixSecs,
) -> std::result::Result<usize, String> {
    let handoff = Handoff {
        at,
        keys: names.iter().map(GenName::kv_key).collect(),
        soft: kind == PurgeKind::Soft,
        nonce,
    };
    writer::hand_off(ns, &handoff).await?;
    kv::remember(state, names, handoff.record(), now);
    Ok(names.len())
}

/// Records the global layer's outcome in the receipt.
fn record_generations(result: std::result::Result<usize, String>, id: &str, receipt: &mut Receipt) {
    match result {
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
