//! `POST /__edgecache/purge`, start to end, over the platform. The core
//! verifies, parses and plans (`crate::purge::webhook`); this sequence does
//! the steps the plan names, in order, and builds the receipt's response.
//!
//! ```text
//! precheck (405/413, before the body is read or any HMAC work)
//!  ─► read at most BODY_READ_LIMIT bytes ─► authenticate (Standard Webhooks)
//!  ─► replay? (KV: a redelivered id gets its first receipt)
//!  ─► plan_purge ─► layer 1: hand_off to the writer (or write KV here), memo at once
//!                ─► layer 3: cache_delete of the named URLs here (hard purges)
//!                ─► layer 2: zone API calls in the background (hard purges)
//!  ─► receipt stored for replay ─► 200 only when layer 1 is done
//! ```

use super::isolate::Isolate;
use super::marks::{bump, remember, Bump};
use super::observe::PurgeLine;
use super::platform::{Fetch, OriginRequest, Outgoing, Platform, Reply};
use super::reply::{json, plain_with};
use crate::http::cache_status::{CacheStatus, Detail, Fwd};
use crate::http::headers::Headers;
use crate::http::method::Method;
use crate::http::time::UnixSecs;
use crate::purge::generations::{kv_expiration_ttl, GenName, PurgeKind};
use crate::purge::receipt::{
    receipt_key, receipt_ttl, replay_decision, GenerationsStatus, Receipt, Replay, ZonePurgeStatus,
};
use crate::purge::signature::{Secret, Verified};
use crate::purge::webhook::{
    authenticate, generation_ttl, plan_purge, precheck, WebhookError, BODY_READ_LIMIT,
};
use crate::purge::writer::{Handoff, Writer};
use crate::purge::zone::{next_step, CallResult, NextStep, ZonePurgeCall, MAX_RATE_WAIT_MS};
use crate::request::canonical::key_host;
use std::rc::Rc;
use std::time::Duration;

/// Longest wait for one zone purge API call.
pub const ZONE_CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The webhook request as the platform received it.
pub struct PurgeRequest<'a, B> {
    pub method: &'a Method,
    pub url: &'a str,
    pub headers: &'a Headers,
    /// The body, unread (read here only after the precheck).
    pub body: Option<B>,
    /// The webhook secrets (`EDGECACHE_WEBHOOK_SECRET`, several for
    /// rotation); none refuses every webhook.
    pub secrets: &'a [Secret],
    /// `EDGECACHE_ZONE_TOKEN`, when set (the zone layer needs it).
    pub zone_token: Option<String>,
}

/// The webhook's reply, and its log line when it got as far as a receipt.
pub struct Purged<B, W> {
    pub reply: Reply<B, W>,
    pub line: Option<PurgeLine>,
}

/// Answers a purge webhook.
pub async fn purge<P: Platform>(
    platform: &P,
    isolate: &Rc<Isolate<P>>,
    mut req: PurgeRequest<'_, P::Body>,
) -> Purged<P::Body, P::Whole> {
    let config = &isolate.config;
    let now = platform.now_secs();
    let tolerance = config.purge.tolerance;
    let (verified, body) = match authenticated(platform, &mut req, now, tolerance).await {
        Ok(v) => v,
        Err(refused) => return refused,
    };
    let rkey = receipt_key(&verified.id);
    let stored = platform.kv_get(&rkey).await.ok().flatten();
    if let Replay::Replayed(receipt) = replay_decision(&verified.id, stored.as_deref()) {
        return Purged {
            reply: receipt_reply(&receipt),
            line: None,
        };
    }
    // `/path` prefixes apply to the host the webhook arrived on, spelled as keys spell it.
    let host = url::Url::parse(req.url)
        .ok()
        .and_then(|u| key_host(&u))
        .unwrap_or_default();
    let zone_token = req.zone_token.take();
    let zone_on = config.purge.zone_id.is_some() && zone_token.is_some();
    // With a purge writer bound, it writes KV; without one, this webhook does.
    let who = match platform.has_writer() {
        true => Writer::Single,
        false => Writer::Direct,
    };
    let plan = match plan_purge(config, &verified.id, &body, &host, zone_on, who, now) {
        Ok(p) => p,
        Err(e) => return refuse(platform, e),
    };
    let mut receipt = plan.receipt;
    // Layer 1: purge records in KV (global).
    let result = record(platform, isolate, &plan.names, plan.kind, now).await;
    record_generations(platform, result, &verified.id, &mut receipt);
    // Layer 3: local deletes of the named URLs in this data centre (hard purges).
    receipt.layers.local_delete.deleted = delete_here(platform, &plan.local_deletes).await;
    // Layer 2: the zone purge API, after the response.
    if let (false, Some(token)) = (plan.zone_calls.is_empty(), zone_token) {
        receipt.layers.zone_purge.status = ZonePurgeStatus::Queued;
        receipt.layers.zone_purge.requests = plan.zone_calls.len();
        let work = send_zone_calls(
            platform.clone(),
            isolate.clone(),
            plan.zone_calls,
            token,
            verified.id.clone(),
        );
        platform.wait_until(Box::pin(work));
    }
    // Kept for replay (best effort).
    if receipt.storable() {
        let _ = platform
            .kv_put(&rkey, &receipt.to_json(), receipt_ttl(tolerance))
            .await;
    }
    Purged {
        reply: receipt_reply(&receipt),
        line: Some(PurgeLine::new(platform.now(), &receipt)),
    }
}

/// Steps 1–2: method and declared size (refused before the body is read or
/// any HMAC work), then the body (at most `BODY_READ_LIMIT` bytes) and its
/// signature. The verified id and the body, or the refusal.
async fn authenticated<P: Platform>(
    platform: &P,
    req: &mut PurgeRequest<'_, P::Body>,
    now: UnixSecs,
    tolerance: u64,
) -> Result<(Verified, Vec<u8>), Purged<P::Body, P::Whole>> {
    let declared = req
        .headers
        .content_length()
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    precheck(req.method, declared).map_err(|e| refuse(platform, e))?;
    let body = match req.body.take() {
        Some(b) => platform
            .read_upto(b, BODY_READ_LIMIT)
            .await
            .unwrap_or_default(),
        None => Vec::new(),
    };
    let verified = authenticate(
        req.method,
        declared,
        req.headers,
        &body,
        req.secrets,
        now,
        tolerance,
    )
    .map_err(|e| refuse(platform, e))?;
    Ok((verified, body))
}

/// A refused webhook: its status and message (`Allow: POST` on a 405).
fn refuse<P: Platform>(platform: &P, e: WebhookError) -> Purged<P::Body, P::Whole> {
    platform.log(
        "purge_refused",
        serde_json::json!({ "status": e.status(), "error": e.message() }),
    );
    let cs = CacheStatus::forward(Fwd::Bypass).detail(Detail::Purge);
    let allow: &[(&str, &str)] = if e.status() == 405 {
        &[("allow", "POST")]
    } else {
        &[]
    };
    let message = format!("edgecache: {}", e.message());
    Purged {
        reply: plain_with(e.status(), &message, &cs, allow),
        line: None,
    }
}

fn receipt_reply<B, W>(receipt: &Receipt) -> Reply<B, W> {
    let cs = CacheStatus::forward(Fwd::Bypass).detail(Detail::Purge);
    let retry = receipt.retry_after().map(|s| s.to_string());
    let extra: Vec<(&str, &str)> = retry.iter().map(|s| ("retry-after", s.as_str())).collect();
    json(
        receipt.status(),
        receipt.to_json().into_bytes(),
        &cs,
        &extra,
    )
}

/// Deletes `urls` from this data centre's cache; how many were there.
async fn delete_here<P: Platform>(platform: &P, urls: &[String]) -> usize {
    let mut deleted = 0;
    for url in urls {
        if platform.cache_delete(url).await {
            deleted += 1;
        }
    }
    deleted
}

/// Records the purge's names globally: handed to the writer when one is
/// bound (stored durably when it answers), else written to KV here; the
/// isolate's memo has it at once either way.
async fn record<P: Platform>(
    platform: &P,
    isolate: &Isolate<P>,
    names: &[GenName],
    kind: PurgeKind,
    now: UnixSecs,
) -> Result<usize, String> {
    let (at, nonce) = (platform.now(), platform.nonce());
    if !platform.has_writer() {
        let ttl = kv_expiration_ttl(generation_ttl());
        let b = Bump {
            kind,
            at,
            nonce,
            ttl,
        };
        return bump(platform, isolate, names, b, now).await;
    }
    let handoff = Handoff {
        at,
        keys: names.iter().map(GenName::kv_key).collect(),
        soft: kind == PurgeKind::Soft,
        nonce,
    };
    platform.hand_off(&handoff).await.map_err(|e| e.0)?;
    remember(isolate, names, handoff.record(), now);
    Ok(names.len())
}

/// Records the global layer's outcome in the receipt.
fn record_generations<P: Platform>(
    platform: &P,
    result: Result<usize, String>,
    id: &str,
    receipt: &mut Receipt,
) {
    match result {
        Ok(n) => {
            receipt.layers.generations.bumped = n;
            receipt.layers.generations.status = GenerationsStatus::Ok;
        }
        Err(e) => {
            platform.log(
                "generations_failed",
                serde_json::json!({ "id": id, "error": e }),
            );
            receipt.layers.generations.status = GenerationsStatus::Failed;
        }
    }
}

/// The zone purge calls of one webhook, in order, each within the plan's rate
/// limit (`purge::zone::RateLimit`, shared by the isolate's webhooks). A call
/// that would wait past `MAX_RATE_WAIT_MS` is skipped with the rest, and logged:
/// the zone layer is the optional one (purge records already hold).
async fn send_zone_calls<P: Platform>(
    platform: P,
    isolate: Rc<Isolate<P>>,
    calls: Vec<ZonePurgeCall>,
    token: String,
    id: String,
) {
    let total = calls.len();
    for (i, call) in calls.iter().enumerate() {
        let wait = isolate
            .zone_limit
            .borrow_mut()
            .reserve(platform.now(), MAX_RATE_WAIT_MS);
        let Some(ms) = wait else {
            platform.log(
                "zone_purge_skipped",
                serde_json::json!({ "id": id, "reason": "rate limit", "calls_skipped": total - i }),
            );
            return;
        };
        if ms > 0 {
            platform.sleep(ms).await;
        }
        send_zone_call(&platform, call, &token, &id).await;
    }
}

/// One zone purge API call, retried as `purge::zone::next_step` says.
async fn send_zone_call<P: Platform>(platform: &P, call: &ZonePurgeCall, token: &str, id: &str) {
    let mut attempt = 0u32;
    let mut headers = Headers::new();
    headers.append("authorization", &format!("Bearer {token}"));
    headers.append("content-type", "application/json");
    loop {
        attempt += 1;
        let fetch = platform
            .fetch(OriginRequest {
                url: &call.url,
                method: &Method::Post,
                headers: &headers,
                body: Some(Outgoing::Text(call.body.to_string())),
                timeout: ZONE_CALL_TIMEOUT,
            })
            .await;
        let (status, retry_after) = match &fetch {
            Fetch::Answered(a) => (Some(a.status), a.headers.get_joined("retry-after")),
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
                let fields = serde_json::json!({ "id": id, "attempt": attempt });
                return platform.log("zone_purge_ok", fields);
            }
            NextStep::RetryAfter(ms) => platform.sleep(ms).await,
            NextStep::GiveUp => {
                let fields = serde_json::json!({ "id": id, "status": status, "attempt": attempt });
                return platform.log("zone_purge_failed", fields);
            }
        }
    }
}
