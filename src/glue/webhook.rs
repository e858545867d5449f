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
use crate::http::time::UnixSecs;
use crate::purge::fastview::fast_bound_ms;
use crate::purge::generations::{GenName, PurgeKind};
use crate::purge::receipt::{
    receipt_key, receipt_ttl, replay_decision, Bounds, GenerationsStatus, Receipt, Replay,
    ZonePurgeStatus,
};
use crate::purge::signature::{parse_secrets, Secret};
use crate::purge::webhook::PurgePlan;
use crate::purge::webhook::{
    authenticate, generation_ttl, plan_purge, precheck, WebhookError, BODY_READ_LIMIT,
};
use crate::purge::writer::{Handoff, ReceiptHandoff, Writer};
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
    // `/path` prefixes apply to the host the webhook arrived on, spelled as keys spell it.
    let host = crate::request::key::key_host(&req.url()?).unwrap_or_default();
    let zone_token = secret(env, "EDGECACHE_ZONE_TOKEN");
    let zone_on = config.purge.zone_id.is_some() && zone_token.is_some();
    // With a `PurgeWriter` bound, it writes KV and keeps receipts; without
    // one, this webhook does both.
    let writer_ns = env.durable_object(writer::WRITER_BINDING).ok();
    let who = writer_ns
        .as_ref()
        .map_or(Writer::Direct, |_| Writer::Single);
    let rkey = receipt_key(&verified.id);
    if who == Writer::Direct {
        let stored = match env.kv(kv::BINDING) {
            Ok(k) => k.get(&rkey).text().await.ok().flatten(),
            Err(_) => None,
        };
        if let Replay::Replayed(receipt) = replay_decision(&verified.id, stored.as_deref()) {
            return receipt_response(&receipt);
        }
    }
    let plan = match plan_purge(config, &verified.id, &body, &host, zone_on, who, now) {
        Ok(p) => p,
        Err(e) => return refuse(e),
    };
    let mut receipt = plan.receipt.clone();
    // Layer 3: local deletes of the named URLs in this data centre (hard
    // purges), first: the receipt the writer keeps is then complete.
    receipt.layers.local_delete.deleted = delete_here(&plan.local_deletes).await;
    let zone = zone_token.filter(|_| !plan.zone_calls.is_empty());
    if zone.is_some() {
        receipt.layers.zone_purge.status = ZonePurgeStatus::Queued;
        receipt.layers.zone_purge.requests = plan.zone_calls.len();
    }
    // Layer 1: the purge recorded globally (the writer, or KV here).
    let receipt = match record(env, state, writer_ns.as_ref(), &plan, receipt, &rkey, now).await {
        Settled::Replayed(r) => return receipt_response(&r),
        Settled::Recorded(r) => r,
    };
    // Layer 2: the zone purge API, after the response (only once recorded).
    if let (Some(token), true) = (zone, receipt.status() == 200) {
        let id = verified.id.clone();
        ctx.wait_until(send_zone_calls(plan.zone_calls, token, id));
    }
    super::observe::purge(env, state, &PurgeLine::new(now_millis(), &receipt));
    receipt_response(&receipt)
}

/// Records the purge globally: hands it to the writer (which also keeps its
/// receipt), or, without one, writes KV here and keeps the receipt in KV.
/// The receipt as it stands after.
async fn record(
    env: &Env,
    state: &State,
    writer_ns: Option<&ObjectNamespace>,
    plan: &PurgePlan,
    mut receipt: Receipt,
    rkey: &str,
    now: UnixSecs,
) -> Settled {
    let backstop = receipt.staleness_bound_seconds;
    let fast = fast_bound_ms(&state.config.purge);
    let id = receipt.id.clone();
    if let Some(ns) = writer_ns {
        let handoff = handoff_of(state, plan, rkey, &receipt);
        return match hand_off(ns, state, &plan.names, handoff, now).await {
            Ok(settled) => settled,
            Err(e) => Settled::Recorded(failed(receipt, &id, &e, fast, backstop)),
        };
    }
    let (names, kind) = (&plan.names, plan.kind);
    let (at, nonce) = (now_millis(), super::convert::nonce());
    let result = kv::bump(env, state, names, kind, at, nonce, generation_ttl(), now).await;
    // No writer, no log: the fast path is off.
    receipt.set_bounds(Bounds::new(None, backstop, false));
    record_generations(result, &id, &mut receipt);
    let has_kv = env.kv(kv::BINDING).is_ok();
    store_receipt(env, has_kv, rkey, &receipt, state.config.purge.tolerance).await;
    Settled::Recorded(receipt)
}

/// The receipt of a purge the writer did not take: 503, the backstop bound.
fn failed(mut receipt: Receipt, id: &str, e: &str, fast: Option<u64>, backstop: u64) -> Receipt {
    receipt.set_bounds(Bounds::new(fast, backstop, false));
    record_generations(Err(e.to_string()), id, &mut receipt);
    receipt
}

/// What the webhook hands the writer: the names' KV keys and text, the
/// purge's time, kind and nonce, and its receipt as it will be if stored
/// (the writer keeps it for replay and settles which bound applies).
fn handoff_of(state: &State, plan: &PurgePlan, rkey: &str, receipt: &Receipt) -> Handoff {
    let fast = fast_bound_ms(&state.config.purge);
    let mut done = receipt.clone();
    let backstop = done.staleness_bound_seconds;
    done.set_bounds(Bounds::new(fast, backstop, true));
    done.layers.generations.bumped = plan.names.len();
    done.layers.generations.status = GenerationsStatus::Ok;
    Handoff {
        at: now_millis(),
        keys: plan.names.iter().map(GenName::kv_key).collect(),
        soft: plan.kind == PurgeKind::Soft,
        nonce: super::convert::nonce(),
        names: plan.names.iter().map(|n| n.as_str().to_string()).collect(),
        log: state.config.purge.poll_ms > 0,
        receipt: Some(ReceiptHandoff {
            key: rkey.to_string(),
            ttl_ms: receipt_ttl(state.config.purge.tolerance).saturating_mul(1000),
            json: done.to_json(),
        }),
    }
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

/// What the writer made of a purge handed to it.
enum Settled {
    /// Stored (and, for the fast path, logged): the receipt it keeps.
    Recorded(Receipt),
    /// The same `webhook-id` was recorded before: its first receipt.
    Replayed(Receipt),
}

/// Hands the purge to the single writer (stored durably when this returns
/// `Ok`), and updates this isolate's memo at once, as a direct write does.
async fn hand_off(
    ns: &ObjectNamespace,
    state: &State,
    names: &[GenName],
    handoff: Handoff,
    now: UnixSecs,
) -> std::result::Result<Settled, String> {
    let stored = writer::hand_off(ns, &handoff).await?;
    let id = handoff
        .receipt
        .as_ref()
        .map(|r| r.json.as_str())
        .unwrap_or("");
    let text = stored.receipt.as_deref();
    if stored.replayed {
        let id = Receipt::parse(id).map(|r| r.id).unwrap_or_default();
        return match replay_decision(&id, text) {
            Replay::Replayed(r) => Ok(Settled::Replayed(r)),
            Replay::Fresh => Err("the writer's stored receipt does not parse".into()),
        };
    }
    kv::remember(state, names, handoff.record(), now);
    let receipt = text
        .and_then(Receipt::parse)
        .or_else(|| Receipt::parse(id).map(|r| r.settled(stored.logged)))
        .ok_or("no receipt")?;
    Ok(Settled::Recorded(receipt))
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
