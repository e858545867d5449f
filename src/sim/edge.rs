//! A client's request in one isolate: the worker's own request sequence
//! (`flow::plan`, then `flow::lookup::lookup` or `flow::pass::pass` over the
//! simulator's [`Sim`](super::platform::Sim) platform), with what the client
//! got handed to the checker: the body's version (staleness, soft purges),
//! the `Cache-Status` (an origin request for an entry found purged:
//! collapsing), and what the request's kind promises ([`Kind`]).

use super::check::{Served, Staleness};
use super::origin::resource_of;
use super::platform::{source_body, Sim};
use super::world::{OriginFault, SimIsolate, World};
use crate::flow::collapse::HIT_FOR_PASS_SECS;
use crate::flow::isolate::{Cx, Trace};
use crate::flow::pass::{pass, PassRequest};
use crate::flow::platform::{Platform, Reply};
use crate::flow::{self, Incoming, Plan};
use crate::http::headers::Headers;
use crate::http::method::Method;
use std::rc::Rc;

/// What a client sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A plain GET.
    Get,
    /// A GET with this request `Cache-Control` (`flow::client_cc`; the
    /// route honours it).
    Directive(&'static str),
    /// An unsafe method on the cached route: passed through, and a non-error
    /// answer invalidates the key in this data centre (`flow::invalidate`).
    Unsafe,
    /// A GET on a path no route covers (`super::origin::live_url`): passed
    /// through, nothing stored.
    Uncached,
}

/// A request of `kind` for `url` in isolate `iso`.
pub async fn request(w: Rc<World>, iso: Rc<SimIsolate>, url: String, kind: Kind) {
    let p = Sim::in_isolate(&w, &iso);
    let mut headers = Headers::new();
    if let Kind::Directive(cc) = kind {
        headers.append("cache-control", cc);
    }
    let method = match kind {
        Kind::Unsafe => Method::Post,
        _ => Method::Get,
    };
    let incoming = Incoming {
        method: &method,
        url: &url,
        headers: &headers,
        has_body: false,
        user_secret: None,
    };
    let Some(res) = resource_of(&url) else { return };
    // A read is judged by when it began: a request in flight when the purge
    // is answered may get the body the origin or cache gave it before.
    let began = w.now();
    // The purge a read that finds its entry purged answers to: the latest in
    // force when it began (a read that began before purge #n and fetched
    // after it answers to #n-1, whose entry it found purged).
    let epoch = w.check.borrow().epoch(res);
    let current = w.origin.borrow().versions.get(res).copied().unwrap_or(0);
    let trace = Trace::start(p.now());
    let reply = match flow::plan(&iso.flow.config, &incoming) {
        Plan::Lookup(lk) if matches!(kind, Kind::Get | Kind::Directive(_)) => {
            let cx = Cx {
                platform: &p,
                isolate: &iso.flow,
                headers: &headers,
                lookup: &lk,
                trace: Some(&trace),
            };
            flow::lookup::lookup(&cx).await
        }
        Plan::Pass {
            cache_status,
            invalidate,
            forward_body,
            origin,
        } if matches!(kind, Kind::Unsafe | Kind::Uncached) => {
            let req = PassRequest {
                method: &method,
                url: &url,
                headers: &headers,
                origin: origin.as_str(),
                body: None,
                cache_status,
                invalidate,
                forward_body,
            };
            pass(&p, &iso.flow, &trace, req).await
        }
        other => {
            let m = format!("{url} ({kind:?}): planned {other:?}");
            w.check.borrow_mut().fail(m);
            return;
        }
    };
    let Ok(reply) = reply else {
        return; // an I/O error: the client gets a 500, no body of the resource
    };
    let read = Read {
        kind,
        res,
        began,
        epoch,
        current,
        url: &url,
    };
    judge(&w, &p, &iso, &read, &reply, trace.collapse());
}

/// What a request was, for the checker.
struct Read<'a> {
    kind: Kind,
    res: usize,
    began: u64,
    epoch: usize,
    /// The origin's version of the resource when the request began.
    current: u64,
    url: &'a str,
}

fn judge(
    w: &World,
    p: &Sim,
    iso: &SimIsolate,
    r: &Read,
    reply: &Reply<super::platform::Body, super::platform::Body>,
    role: Option<&'static str>,
) {
    let d = &reply.delivery;
    let now = w.now();
    let cs = d.headers.get("cache-status").unwrap_or("");
    let version = source_body(&reply.source).version();
    let (began, res, url) = (r.began, r.res, r.url);
    let role = role.unwrap_or("-");
    w.log(|| {
        format!(
            "isolate {} (location {}) {:?} {url} (began t={began}): {} {version:?} {cs} \
             [collapse: {role}]",
            iso.id, iso.loc, r.kind, d.status
        )
    });
    let mut check = w.check.borrow_mut();
    let served = Served {
        at: began,
        resource: res,
        loc: iso.loc,
        // Served under the KV bound only (the fast path said so): the
        // backstop applies. (The `Cache-Status` detail `fast_path_*` says so
        // too, unless the answer names another detail.)
        behind: p.behind(),
        stale: Staleness::of(cs),
    };
    let ok = (200..300).contains(&d.status);
    match (r.kind, version) {
        (Kind::Get | Kind::Directive(_), Some(v)) if ok => check.served(&served, v),
        _ => {}
    }
    let loc = &w.locs[iso.loc];
    let answered = version.map(|v| (d.status, v));
    match r.kind {
        Kind::Get => {}
        Kind::Directive(cc) => check.directive(cc, cs, r.current, answered, now),
        Kind::Unsafe => {
            let cache = loc.cache.borrow();
            let kept = cache
                .iter()
                .find(|(k, c)| resource_of(k) == Some(res) && c.stored_at < began);
            check.invalidated(d.status, kept.map(|(k, _)| k.as_str()), url, now);
        }
        Kind::Uncached => {
            let stored = loc.cache.borrow().keys().any(|k| k.contains("/api/live/"));
            check.passed_through(url, answered, r.current, stored, now);
        }
    }
    let origin_down = w.faults.get().origin != OriginFault::Healthy;
    if matches!(r.kind, Kind::Get) && purged_fetch(cs) {
        // Answers not stored during an origin fault leave hit-for-pass notes
        // (no collapsing for HIT_FOR_PASS_SECS) and flights that timed out.
        let timeout = iso.flow.config.routes[0].timeout;
        let settle_ms = (HIT_FOR_PASS_SECS + 2 * timeout) * 1000;
        let healthy_since = w.origin.borrow().healthy_since;
        let faulty = origin_down || (healthy_since > 0 && now < healthy_since + settle_ms);
        check.purged_fetch(now, iso.id, res, iso.loc, faulty, r.epoch);
    }
}

/// An origin request, not collapsed, for an entry found purged.
fn purged_fetch(cs: &str) -> bool {
    cs.contains("fwd=miss") && cs.contains("detail=purged") && !cs.contains("collapsed")
}
