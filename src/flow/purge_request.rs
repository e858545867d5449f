//! `POST /__edgecache/purge`, start to end, over the platform. The core
//! verifies, parses and plans (`crate::purge::webhook`); this sequence does
//! the steps the plan names, in order, and builds the receipt's response.
//!
//! ```text
//! precheck (405/413, before the body is read or any HMAC work)
//!  ─► read at most BODY_READ_LIMIT bytes ─► authenticate (Standard Webhooks)
//!  ─► replay? (KV: a redelivered id gets its first receipt)
//!  ─► plan_purge ─► layer 3: cache_delete of the named URLs here (hard purges)
//!                ─► layer 1: hand_off to the writer (or write KV here), memo at once
//!                   layer 2: the zone work goes with the hand-off; the writer
//!                   queues it and makes the API calls (`flow::writer_zone`)
//!  ─► receipt stored for replay ─► 200 only when layer 1 is done
//! ```

use super::isolate::Isolate;
use super::marks::{bump, remember, Bump};
use super::observe::PurgeLine;
use super::platform::{Platform, Reply};
use super::reply::{json, plain_with};
use crate::config::PurgeSettings;
use crate::http::cache_status::{CacheStatus, Detail, Fwd};
use crate::http::headers::Headers;
use crate::http::method::Method;
use crate::http::time::UnixSecs;
use crate::purge::fastview::fast_bound_ms;
use crate::purge::generations::{kv_expiration_ttl, GenName, PurgeKind};
use crate::purge::receipt::{
    receipt_key, receipt_ttl, replay_decision, Bounds, GenerationsStatus, Receipt, Replay,
    ZonePurgeStatus,
};
use crate::purge::signature::{Secret, Verified};
use crate::purge::webhook::{
    authenticate, generation_ttl, plan_purge, precheck, PurgePlan, WebhookError, BODY_READ_LIMIT,
};
use crate::purge::writer::{Handoff, ReceiptHandoff, Writer};
use crate::request::canonical::key_host;
use std::rc::Rc;

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
    /// `EDGECACHE_ZONE_TOKEN`, when set: with `purge.zone_id`, the zone
    /// layer is on (the purge writer, which makes the calls, reads its own).
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
    // `/path` prefixes apply to the host the webhook arrived on, spelled as keys spell it.
    let host = url::Url::parse(req.url)
        .ok()
        .and_then(|u| key_host(&u))
        .unwrap_or_default();
    // With a purge writer bound, it writes KV, keeps receipts and makes the
    // zone purge calls; without one, this webhook writes KV and keeps the
    // receipt, and the zone layer is off (one rate limit needs one caller).
    let who = match platform.has_writer() {
        true => Writer::Single,
        false => Writer::Direct,
    };
    let zone_set = config.purge.zone_id.is_some() && req.zone_token.is_some();
    if zone_set && who == Writer::Direct {
        platform.log("zone_purge_needs_writer", serde_json::json!({}));
    }
    let zone_on = zone_set && who == Writer::Single;
    let rkey = receipt_key(&verified.id);
    if who == Writer::Direct {
        let stored = platform.kv_get(&rkey).await.ok().flatten();
        if let Replay::Replayed(receipt) = replay_decision(&verified.id, stored.as_deref()) {
            return answered(receipt_reply(&receipt), None);
        }
    }
    let plan = match plan_purge(config, &verified.id, &body, &host, zone_on, who, now) {
        Ok(p) => p,
        Err(e) => return refuse(platform, e),
    };
    let mut receipt = plan.receipt.clone();
    // Layer 3: local deletes of the named URLs in this data centre (hard
    // purges), first: the receipt the writer keeps is then complete.
    receipt.layers.local_delete.deleted = delete_here(platform, &plan.local_deletes).await;
    // Layer 1: the purge recorded globally (the writer, or KV here).
    let receipt = match record(platform, isolate, &plan, receipt, &rkey, now).await {
        Recorded::Replayed(r) => return answered(receipt_reply(&r), None),
        Recorded::Recorded(r) => r,
    };
    let line = PurgeLine::new(platform.now(), &receipt);
    answered(receipt_reply(&receipt), Some(line))
}

fn answered<B, W>(reply: Reply<B, W>, line: Option<PurgeLine>) -> Purged<B, W> {
    Purged { reply, line }
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
    let retry = e.retry_after().map(|s| s.to_string());
    let mut extra: Vec<(&str, &str)> = Vec::new();
    if e.status() == 405 {
        extra.push(("allow", "POST"));
    }
    if let Some(secs) = &retry {
        extra.push(("retry-after", secs));
    }
    let message = format!("edgecache: {}", e.message());
    Purged {
        reply: plain_with(e.status(), &message, &cs, &extra),
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

/// How the global layer went.
enum Recorded {
    /// Stored (the writer, or KV here): the receipt as it stands after.
    Recorded(Receipt),
    /// The writer had this `webhook-id` already: its first receipt.
    Replayed(Receipt),
}

/// Records the purge globally: hands it to the writer (which also keeps its
/// receipt), or, without one, writes KV here and keeps the receipt in KV;
/// the isolate's memo has it at once either way.
async fn record<P: Platform>(
    platform: &P,
    isolate: &Isolate<P>,
    plan: &PurgePlan,
    mut receipt: Receipt,
    rkey: &str,
    now: UnixSecs,
) -> Recorded {
    let settings = &isolate.config.purge;
    let backstop = receipt.staleness_bound_seconds;
    let id = receipt.id.clone();
    if platform.has_writer() {
        let handoff = handoff_of(platform, settings, plan, rkey, &receipt);
        return match hand_off(platform, isolate, &plan.names, handoff, now).await {
            Ok(recorded) => recorded,
            Err(e) => {
                receipt.set_bounds(Bounds::new(fast_bound_ms(settings), backstop, false));
                record_generations(platform, Err(e), &id, &mut receipt);
                Recorded::Recorded(receipt)
            }
        };
    }
    let b = Bump {
        kind: plan.kind,
        at: platform.now(),
        nonce: platform.nonce(),
        ttl: kv_expiration_ttl(generation_ttl()),
    };
    let result = bump(platform, isolate, &plan.names, b, now).await;
    // No writer, no log: the fast path is off.
    receipt.set_bounds(Bounds::new(None, backstop, false));
    record_generations(platform, result, &id, &mut receipt);
    // Kept for replay (best effort).
    if receipt.storable() {
        let ttl = receipt_ttl(settings.tolerance);
        let _ = platform.kv_put(rkey, &receipt.to_json(), ttl).await;
    }
    Recorded::Recorded(receipt)
}

/// What the webhook hands the writer: the names' KV keys and text, the
/// purge's time, kind and nonce, and its receipt as it will be if stored
/// (the writer keeps it for replay and settles which bound applies).
fn handoff_of<P: Platform>(
    platform: &P,
    settings: &PurgeSettings,
    plan: &PurgePlan,
    rkey: &str,
    receipt: &Receipt,
) -> Handoff {
    let mut done = receipt.clone();
    let backstop = done.staleness_bound_seconds;
    done.set_bounds(Bounds::new(fast_bound_ms(settings), backstop, true));
    done.layers.generations.bumped = plan.names.len();
    done.layers.generations.status = GenerationsStatus::Ok;
    if let Some(work) = &plan.zone {
        done.layers.zone_purge.status = ZonePurgeStatus::Queued;
        done.layers.zone_purge.requests = work.calls();
    }
    Handoff {
        at: platform.now(),
        keys: plan.names.iter().map(GenName::kv_key).collect(),
        soft: plan.kind == PurgeKind::Soft,
        nonce: platform.nonce(),
        names: plan.names.iter().map(|n| n.as_str().to_string()).collect(),
        log: settings.poll_ms > 0,
        receipt: Some(ReceiptHandoff {
            key: rkey.to_string(),
            ttl_ms: receipt_ttl(settings.tolerance).saturating_mul(1000),
            json: done.to_json(),
        }),
        zone: plan.zone.clone(),
    }
}

/// Hands the purge to the single writer (stored durably when this returns
/// `Ok`), and updates this isolate's memo at once, as a direct write does.
async fn hand_off<P: Platform>(
    platform: &P,
    isolate: &Isolate<P>,
    names: &[GenName],
    handoff: Handoff,
    now: UnixSecs,
) -> Result<Recorded, String> {
    let stored = platform.hand_off(&handoff).await.map_err(|e| e.0)?;
    let json = handoff
        .receipt
        .as_ref()
        .map(|r| r.json.as_str())
        .unwrap_or("");
    let text = stored.receipt.as_deref();
    if stored.replayed {
        let id = Receipt::parse(json).map(|r| r.id).unwrap_or_default();
        return match replay_decision(&id, text) {
            Replay::Replayed(r) => Ok(Recorded::Replayed(r)),
            Replay::Fresh => Err("the writer's stored receipt does not parse".into()),
        };
    }
    let logged = stored.logged.then(|| platform.now());
    remember(isolate, names, handoff.record(), now, logged);
    text.and_then(Receipt::parse)
        .or_else(|| Receipt::parse(json).map(|r| r.settled(stored.logged)))
        .map(Recorded::Recorded)
        .ok_or_else(|| "no receipt".to_string())
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
