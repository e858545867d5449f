//! The origin's side of a change: a new version, then its purge webhook,
//! signed as a Standard Webhooks sender signs it and answered by the
//! worker's own `flow::purge_request::purge` (authentication, replay,
//! `plan_purge`, the hand-off to the writer, the memo, the local delete, the
//! receipt). A webhook not answered 200 is retried, a few times.

use super::check::Acked;
use super::origin::{url, HOST};
use super::platform::{source_body, Body, Sim};
use super::world::World;
use crate::flow::platform::{Platform, Source};
use crate::flow::purge_request::{purge, PurgeRequest};
use crate::http::headers::Headers;
use crate::http::method::Method;
use crate::purge::receipt::{Applies, Receipt};
use crate::purge::signature::{sign, Secret};
use std::rc::Rc;

/// Sender retries after the first attempt.
pub const RETRIES: u32 = 5;

/// The origin changes resource `r` and sends its purge webhook (by URL or by
/// tag), retrying a refused one.
pub async fn change(w: Rc<World>, r: usize) {
    let version = {
        let mut o = w.origin.borrow_mut();
        let Some(v) = o.versions.get_mut(r) else {
            return;
        };
        *v += 1;
        *v
    };
    // A quarter of the purges are soft: what they cover is served stale
    // while one request revalidates (invariant 1's soft allowance).
    let soft = w.soft_purges.get() && w.chance(0.25);
    let names = if w.chance(0.5) {
        format!(r#""urls":["{}"]"#, url(r))
    } else {
        format!(r#""tags":["item:{r}"]"#)
    };
    let body = format!(r#"{{{names},"soft":{soft}}}"#);
    let id = format!("msg_{}", w.id());
    for attempt in 0..=RETRIES {
        let delay = if attempt == 0 {
            w.draw(1, 100)
        } else {
            w.draw(500, 4_000) << attempt.min(3)
        };
        w.exec.sleep(delay).await;
        let loc = w.draw(0, w.locs.len() as u64 - 1) as usize;
        if webhook(&w, loc, &id, body.as_bytes(), (r, version, soft)).await {
            return;
        }
    }
}

/// The webhook signing secret the origin and the worker share.
fn secret() -> Option<Secret> {
    Secret::from_bytes(b"edgecache-simulator-webhook-secret").ok()
}

/// One webhook delivery at location `loc` (`flow::purge_request::purge`, in
/// a random isolate there); true when answered 200.
async fn webhook(
    w: &Rc<World>,
    loc: usize,
    id: &str,
    body: &[u8],
    (r, version, soft): (usize, u64, bool),
) -> bool {
    let p = Sim::new(w, loc);
    let secrets: Vec<Secret> = secret().into_iter().collect();
    let now = p.now_secs();
    let mut headers = Headers::new();
    headers.append("content-type", "application/json");
    headers.append("content-length", &body.len().to_string());
    headers.append("webhook-id", id);
    headers.append("webhook-timestamp", &now.0.to_string());
    if let Some(s) = secrets.first() {
        headers.append("webhook-signature", &sign(s, id, now, body));
    }
    let iso = {
        let isolates = w.locs[loc].isolates.borrow();
        isolates[w.draw(0, isolates.len() as u64 - 1) as usize].clone()
    };
    let url = format!("https://{HOST}/__edgecache/purge");
    let req = PurgeRequest {
        method: &Method::Post,
        url: &url,
        headers: &headers,
        body: Some(Body::Bytes(Rc::new(body.to_vec()))),
        secrets: &secrets,
        // The zone layer runs when the run's config names a zone.
        zone_token: w.config.purge.zone_id.as_ref().map(|_| "sim-token".into()),
    };
    w.purging.borrow_mut().insert(p.inv, r);
    let purged = purge(&p, &iso.flow, req).await;
    w.purging.borrow_mut().remove(&p.inv);
    let status = purged.reply.delivery.status;
    w.log(|| {
        format!("webhook {id} at location {loc}: {status} (resource {r} v{version}, soft: {soft})")
    });
    let Some(handoff) = p.handed_off() else {
        return false;
    };
    w.log(|| {
        format!(
            "webhook {id} record {:?} (isolate {})",
            handoff.record(),
            iso.id
        )
    });
    if status != 200 {
        return false;
    }
    let Some(bound_ms) = stated_bound_ms(&purged.reply.source) else {
        w.check
            .borrow_mut()
            .fail(format!("webhook {id}: a 200 without a receipt's bound"));
        return true;
    };
    let ack = Acked {
        at_ms: w.now(),
        bound_ms,
        resource: r,
        version,
        keys: handoff.keys.clone(),
        record: handoff.record(),
        soft,
    };
    w.check.borrow_mut().ack(ack);
    true
}

/// The bound the receipt in a webhook's answer states, ms: the fast bound
/// when it applies (the purge was logged), else the backstop.
fn stated_bound_ms(source: &Source<Body, Body>) -> Option<u64> {
    let Body::Bytes(bytes) = source_body(source) else {
        return None;
    };
    let receipt = Receipt::parse(std::str::from_utf8(&bytes).ok()?)?;
    let bounds = receipt.bounds?;
    match (bounds.applies, bounds.fast_ms) {
        (Applies::Fast, Some(ms)) => Some(ms),
        _ => Some(bounds.backstop_seconds.saturating_mul(1000)),
    }
}
