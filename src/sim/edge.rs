//! A client's request in one isolate: the worker's own request sequence
//! (`flow::plan`, then `flow::lookup::lookup` over the simulator's
//! [`Sim`](super::platform::Sim) platform), with what the client got handed
//! to the checker: the body's version (staleness) and the `Cache-Status`
//! (an origin request for an entry found purged: collapsing).

use super::origin::resource_of;
use super::platform::{source_body, Sim};
use super::world::{SimIsolate, World};
use crate::flow::collapse::HIT_FOR_PASS_SECS;
use crate::flow::isolate::Cx;
use crate::flow::{self, Incoming, Plan};
use crate::http::headers::Headers;
use crate::http::method::Method;
use std::rc::Rc;

/// A GET of `url` in isolate `iso`.
pub async fn request(w: Rc<World>, iso: Rc<SimIsolate>, url: String) {
    let p = Sim::in_isolate(&w, &iso);
    let headers = Headers::new();
    let incoming = Incoming {
        method: &Method::Get,
        url: &url,
        headers: &headers,
        has_body: false,
        user_secret: None,
    };
    let Plan::Lookup(lk) = flow::plan(&iso.flow.config, &incoming) else {
        w.check
            .borrow_mut()
            .fail(format!("{url}: not a cacheable lookup"));
        return;
    };
    let Some(res) = resource_of(&url) else { return };
    let cx = Cx {
        platform: &p,
        isolate: &iso.flow,
        headers: &headers,
        lookup: &lk,
        trace: None,
    };
    // A read is judged by when it began: a request in flight when the purge
    // is answered may get the body the origin or cache gave it before.
    let began = w.now();
    // The purge a read that finds its entry purged answers to: the latest in
    // force when it began (a read that began before purge #n and fetched
    // after it answers to #n-1, whose entry it found purged).
    let epoch = w.check.borrow().epoch(res);
    let Ok(reply) = flow::lookup::lookup(&cx).await else {
        return; // an I/O error: the client gets a 500, no body of the resource
    };
    let d = &reply.delivery;
    let now = w.now();
    let mut check = w.check.borrow_mut();
    let cs = d.headers.get("cache-status").unwrap_or("");
    // Served under the KV bound only (the fast path said so): the backstop
    // applies. (The `Cache-Status` detail `fast_path_*` says so too, unless
    // the answer names another detail, e.g. stale-if-error's `origin_error`.)
    let behind = p.behind();
    if (200..300).contains(&d.status) {
        if let Some(v) = source_body(&reply.source).version() {
            check.served(began, res, v, iso.loc, behind);
        }
    }
    let version = source_body(&reply.source).version();
    w.log(|| {
        format!(
            "isolate {} (location {}) GET {url} (began t={began}): {} {version:?} {cs}",
            iso.id, iso.loc, d.status
        )
    });
    if cs.contains("fwd=miss") && cs.contains("detail=purged") && !cs.contains("collapsed") {
        // Answers not stored during an origin fault leave hit-for-pass notes
        // (no collapsing for HIT_FOR_PASS_SECS) and flights that timed out.
        let settle_ms = (HIT_FOR_PASS_SECS + 2 * lk.route().timeout) * 1000;
        let healthy_since = w.origin.borrow().healthy_since;
        let faulty = w.faults.get().origin != super::world::OriginFault::Healthy
            || (healthy_since > 0 && now < healthy_since + settle_ms);
        check.purged_fetch(now, iso.id, res, iso.loc, faulty, epoch);
    }
}
