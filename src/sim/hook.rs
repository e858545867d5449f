//! The origin's side of a change and the worker's purge webhook
//! (`glue::webhook::handle` after authentication): `purge::webhook::plan_purge`
//! names what to purge, the hand-off to the writer records it durably (the
//! 200), the receiving isolate remembers it in its memo and a hard purge
//! deletes the named URLs from the receiving location's cache. A webhook not
//! answered 200 is retried by the sender (Standard Webhooks), a few times.

use super::check::Acked;
use super::origin::{url, HOST};
use super::world::World;
use crate::purge::generations::GenName;
use crate::purge::memo::Memo;
use crate::purge::webhook::plan_purge;
use crate::purge::writer::{Handoff, Writer};
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
    let body = if w.chance(0.5) {
        format!(r#"{{"urls":["{}"]}}"#, url(r))
    } else {
        format!(r#"{{"tags":["item:{r}"]}}"#)
    };
    let id = format!("msg_{}", w.id());
    for attempt in 0..=RETRIES {
        let delay = if attempt == 0 {
            w.draw(1, 100)
        } else {
            w.draw(500, 4_000) << attempt.min(3)
        };
        w.exec.sleep(delay).await;
        let loc = w.draw(0, w.locs.len() as u64 - 1) as usize;
        if webhook(&w, loc, &id, body.as_bytes(), r, version).await {
            return;
        }
    }
}

/// One webhook delivery at location `loc`; true when answered 200.
async fn webhook(w: &Rc<World>, loc: usize, id: &str, body: &[u8], r: usize, version: u64) -> bool {
    let now = w.clock_secs(loc);
    let plan = match plan_purge(&w.config, id, body, HOST, false, Writer::Single, now) {
        Ok(p) => p,
        Err(e) => {
            w.check.borrow_mut().fail(format!("webhook refused: {}", e.message()));
            return false;
        }
    };
    let handoff = Handoff {
        at: w.clock_ms(loc),
        keys: plan.names.iter().map(GenName::kv_key).collect(),
        soft: false,
        nonce: w.rng.borrow_mut().u64(..),
    };
    if let Err(e) = super::writer::hand_off(w, loc, &handoff).await {
        w.log(|| format!("webhook {id} at location {loc}: {e}"));
        return false;
    }
    w.log(|| format!("webhook {id} at location {loc}: 200 (resource {r} v{version})"));
    let record = handoff.record();
    let iso = {
        let isolates = w.locs[loc].isolates.borrow();
        let i = w.draw(0, isolates.len() as u64 - 1) as usize;
        isolates[i].clone()
    };
    let now = w.clock_secs(loc);
    remember(&mut iso.memo.borrow_mut(), &plan.names, record, now);
    for key in &plan.local_deletes {
        w.locs[loc].cache.borrow_mut().remove(key);
    }
    let ack = Acked {
        at_ms: w.now(),
        resource: r,
        version,
        keys: handoff.keys,
        record,
    };
    w.check.borrow_mut().ack(ack);
    true
}

/// `glue::kv::remember`: the receiving isolate acts on the purge at once.
fn remember(
    memo: &mut Memo,
    names: &[GenName],
    record: crate::purge::record::PurgeRecord,
    now: crate::http::time::UnixSecs,
) {
    for name in names {
        memo.put(
            name.clone(),
            crate::purge::generations::Gen::Purged(record),
            now,
        );
    }
}
