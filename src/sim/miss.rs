//! The miss half of a request (`glue::lookup::{collapsed, miss, answer}`,
//! `glue::revalidate`) and the background refresh, over the simulated
//! platform, on the core's decisions: `Collapser::join`, `follower_step`,
//! `after_fetch`, `answers_revalidation`, `on_not_modified`, `on_origin`.

use super::edge::{memory_serve, stored, Cx, Found, Served};
use super::origin::{self, Answer, Fetch};
use super::world::{Cached, Flight, Isolate, World};
use crate::flow::collapse::{flight_hold, follower_step, FollowerStep, LeaderOutcome, Role};
use crate::flow::fetched::{after_fetch, AfterFetch, StaleFallback};
use crate::flow::revalidate::{answers_revalidation, conditional_headers, on_not_modified};
use crate::flow::revalidate::Revalidated;
use crate::flow::{self, FetchStart, OriginDecision, StoredEntry};
use crate::http::cache_status::Detail;
use crate::http::headers::Headers;
use crate::http::method::Method;
use crate::purge::generations::Generations;
use crate::response::revalidation::{validator, Validator};
use std::cell::Cell;
use std::rc::Rc;

/// A stored entry kept through a miss: to stand in if the origin fails, or to
/// be revalidated (`glue::revalidate::Kept`).
pub struct Kept {
    pub cached: Cached,
    pub entry: StoredEntry,
    pub stale_if_error: bool,
    pub validator: Option<Validator>,
}

/// Why the stored half missed, what it keeps, what it read.
pub struct Missed {
    pub detail: Option<Detail>,
    pub kept: Option<Kept>,
    pub seen: Generations,
}

/// A flight this request leads.
struct Leader {
    id: u64,
    flight: Flight,
}

fn report(cx: &Cx<'_>, leader: Option<Leader>, outcome: LeaderOutcome) {
    let now = cx.now();
    let mut collapse = cx.iso.collapse.borrow_mut();
    match leader {
        Some(l) => {
            l.flight.set(Some(outcome));
            collapse.finish(cx.key(), l.id, outcome, now);
        }
        None => collapse.note(cx.key(), outcome, now),
    }
}

/// Waits (polling, as `glue::collapse::wait` does) for the leader's outcome.
async fn wait(cx: &Cx<'_>, flight: &Flight) -> Option<LeaderOutcome> {
    let deadline = cx.w.now() + cx.lk.route().timeout * 1000;
    let mut every = 5;
    loop {
        if let Some(o) = flight.get() {
            return Some(o);
        }
        if cx.w.now() >= deadline {
            return None;
        }
        cx.w.exec.sleep(every).await;
        every = (every * 2).min(50);
    }
}

/// A miss, collapsed with the isolate's other misses on its key.
pub async fn collapsed(cx: &Cx<'_>, m: Missed) -> Served {
    let hold = flight_hold(cx.lk.route());
    let mut retries = 0;
    loop {
        let now = cx.now();
        let role = cx
            .iso
            .collapse
            .borrow_mut()
            .join(cx.key(), now, hold, || Rc::new(Cell::new(None)));
        let flight = match role {
            Role::Lead { id, shared } => {
                let leader = Some(Leader { id, flight: shared });
                return miss(cx, m, leader, true).await;
            }
            Role::LeadAlone => return miss(cx, m, None, true).await,
            Role::Pass => return miss(cx, m, None, false).await,
            Role::Follow(shared) => shared,
        };
        let outcome = wait(cx, &flight).await;
        let has_stale = m.kept.as_ref().is_some_and(|k| k.stale_if_error);
        match follower_step(outcome, has_stale, retries) {
            FollowerStep::Lookup => return follow_lookup(cx, m).await,
            FollowerStep::Origin => return miss(cx, m, None, false).await,
            FollowerStep::Stale => {
                if let Some(k) = m.kept.filter(|k| k.stale_if_error) {
                    return Served::body(k.entry.status, k.cached.version);
                }
                let m = Missed { kept: None, ..m };
                return miss(cx, m, None, false).await;
            }
            FollowerStep::Retry => retries += 1,
        }
    }
}

/// A follower whose leader stored: its own lookup, else its own fetch.
async fn follow_lookup(cx: &Cx<'_>, m: Missed) -> Served {
    let now = cx.now();
    if let Some(served) = memory_serve(cx, now).await {
        return served;
    }
    match stored(cx, now).await {
        Found::Answered(s) => s,
        Found::Miss(_) => miss(cx, m, None, false).await,
    }
}

/// The origin fetch of a cacheable request (conditional with a validator).
async fn fetch(w: &World, cx: &Cx<'_>, validator: Option<&Validator>) -> Fetch {
    let conditional = validator.map(|v| conditional_headers(&cx.lk.origin_headers, v));
    let headers = conditional.as_ref().unwrap_or(&cx.lk.origin_headers);
    origin::fetch(w, &cx.lk.origin_url, headers, cx.lk.route().timeout).await
}

/// The miss loop (`glue::lookup::miss`). `leads`: this request is its key's
/// only origin request in the isolate (a leader, or alone for want of room),
/// which the collapsing invariant counts.
async fn miss(cx: &Cx<'_>, m: Missed, leader: Option<Leader>, leads: bool) -> Served {
    let Missed {
        detail,
        mut kept,
        seen,
    } = m;
    let w = cx.w;
    loop {
        let started = w.clock_ms(cx.loc());
        if leads && detail == Some(Detail::Purged) {
            let now = w.now();
            let faulty = w.faults.get().origin != super::world::OriginFault::Healthy;
            w.check
                .borrow_mut()
                .purged_fetch(now, cx.iso.id, cx.res, cx.loc(), faulty);
        }
        let validator = kept.as_ref().and_then(|k| k.validator.clone());
        let fetched = fetch(w, cx, validator.as_ref()).await;
        let fallback = StaleFallback::of(&kept.as_ref().filter(|k| k.stale_if_error));
        let start = FetchStart {
            at: started,
            seen: &seen,
        };
        let answer = match (after_fetch(fetched.outcome(), fallback), kept, fetched) {
            (AfterFetch::ServeStale { .. }, Some(k), _) => {
                report(cx, leader, LeaderOutcome::Failed);
                return Served::body(k.entry.status, k.cached.version);
            }
            (_, _, Fetch::Failed(e)) => {
                report(cx, leader, LeaderOutcome::Failed);
                return Served::error(crate::flow::fetched::origin_failure(e).status);
            }
            (AfterFetch::Answer(s), Some(k), Fetch::Response(a))
                if answers_revalidation(s, validator.as_ref()) =>
            {
                match not_modified(cx, &k, &a, start) {
                    Some(decision) => {
                        let store = decision.store.map(|s| s.headers);
                        let version = k.cached.version;
                        finish(cx, Some(leader), store, version);
                        return Served::body(k.entry.status, version);
                    }
                    None => {
                        kept = Some(Kept {
                            validator: None,
                            ..k
                        });
                        continue;
                    }
                }
            }
            (_, _, Fetch::Response(a)) => a,
        };
        return answer_miss(cx, answer, start, leader);
    }
}

fn not_modified(cx: &Cx<'_>, k: &Kept, a: &Answer, start: FetchStart) -> Option<OriginDecision> {
    let config = &cx.w.config;
    let h = &k.cached.headers;
    match on_not_modified(config, &cx.lk, &k.entry, h, &a.headers, start, cx.now()) {
        Revalidated::Updated(d) => Some(d),
        Revalidated::Mismatch => None,
    }
}

/// An origin answer to a miss: `on_origin`, then the store in the background.
fn answer_miss(cx: &Cx<'_>, a: Answer, start: FetchStart, leader: Option<Leader>) -> Served {
    let d = flow::on_origin(&cx.w.config, &cx.lk, a.status, &a.headers, start, cx.now());
    finish(cx, Some(leader), d.store.map(|s| s.headers), a.version);
    Served::body(a.status, a.version)
}

/// Stores (in the background) or says why not; `reporting` is `Some` for a
/// foreground miss, which reports to its followers (`put_reporting`), `None`
/// for a refresh (`put_copy`).
fn finish(
    cx: &Cx<'_>,
    reporting: Option<Option<Leader>>,
    store: Option<Headers>,
    version: u64,
) {
    let Some(headers) = store else {
        if let Some(leader) = reporting {
            let outcome = crate::flow::client_cc::not_stored_outcome(&cx.lk);
            report(cx, leader, outcome);
        }
        return;
    };
    let (w, loc, key) = (cx.w.clone(), cx.loc(), cx.key().to_string());
    let iso = cx.iso.clone();
    let flight = reporting.map(|l| l.map(|l| (l.id, l.flight)));
    let base = cx.lk.key.base_url().to_string();
    cx.w.exec.spawn(async move {
        w.cache_put(loc, &key, headers.clone(), version).await;
        let now = w.clock_secs(loc);
        store_in_memory(&iso, &key, base, headers, version, now);
        let mut collapse = iso.collapse.borrow_mut();
        match flight {
            Some(Some((id, f))) => {
                f.set(Some(LeaderOutcome::Stored));
                collapse.finish(&key, id, LeaderOutcome::Stored, now);
            }
            Some(None) => collapse.note(&key, LeaderOutcome::Stored, now),
            None => {}
        }
    });
}

fn store_in_memory(
    iso: &Isolate,
    key: &str,
    base: String,
    headers: Headers,
    version: u64,
    now: crate::http::time::UnixSecs,
) {
    let bytes = super::world::BODY_BYTES;
    if !iso.memory.borrow().admits(bytes) {
        return;
    }
    if let Some(e) = flow::memory::MemEntry::new(base, headers, version, bytes) {
        iso.memory.borrow_mut().insert(key.to_string(), e, now);
    }
}

/// Generations unreadable: fetched and relayed, nothing stored or served from the cache.
pub async fn uncached(cx: &Cx<'_>) -> Served {
    match fetch(cx.w, cx, None).await {
        Fetch::Response(a) => Served::body(a.status, a.version),
        Fetch::Failed(e) => Served::error(crate::flow::fetched::origin_failure(e).status),
    }
}

/// stale-while-revalidate: a background refresh of the entry (`glue::lookup::refresh`).
pub fn spawn_refresh(cx: &Cx<'_>, _cached: &Cached) {
    let (w, iso, key) = (cx.w.clone(), cx.iso.clone(), cx.key().to_string());
    cx.w.exec.spawn(async move {
        refresh(&w, &iso, &key).await;
        iso.refresh.borrow_mut().finish(&key);
    });
}

async fn refresh(w: &Rc<World>, iso: &Rc<Isolate>, key_url: &str) {
    let headers = Headers::new();
    let incoming = flow::Incoming {
        method: &Method::Get,
        url: key_url,
        headers: &headers,
        has_body: false,
        user_secret: None,
    };
    let flow::Plan::Lookup(lk) = flow::plan(&w.config, &incoming) else {
        return;
    };
    let Some(res) = origin::resource_of(key_url) else {
        return;
    };
    let cx = Cx {
        w,
        iso: iso.clone(),
        inv: w.id(),
        lk: *lk,
        res,
    };
    refresh_entry(&cx).await;
}

async fn refresh_entry(cx: &Cx<'_>) {
    let now = cx.now();
    let seen = crate::purge::memo::plan_reads(&cx.lk.route_names(), &cx.iso.memo.borrow(), now).0;
    let mut kept = for_refresh(cx).await;
    loop {
        let start = FetchStart {
            at: cx.w.clock_ms(cx.loc()),
            seen: &seen,
        };
        let v = kept.as_ref().and_then(|k| k.validator.clone());
        let Fetch::Response(a) = fetch(cx.w, cx, v.as_ref()).await else {
            return;
        };
        if let (true, Some(k)) = (answers_revalidation(a.status, v.as_ref()), kept.take()) {
            match not_modified(cx, &k, &a, start) {
                Some(d) => return refreshed(cx, d.store.map(|s| s.headers), k.cached.version),
                None => continue,
            }
        }
        let d = flow::on_origin(&cx.w.config, &cx.lk, a.status, &a.headers, start, cx.now());
        if let Some(s) = d.store {
            refreshed(cx, Some(s.headers), a.version);
        }
        return;
    }
}

fn refreshed(cx: &Cx<'_>, store: Option<Headers>, version: u64) {
    match store {
        Some(h) => finish(cx, None, Some(h), version),
        None => {
            cx.w.locs[cx.loc()].cache.borrow_mut().remove(cx.key());
            cx.iso.memory.borrow_mut().remove(cx.key());
        }
    }
}

/// The stored entry with a validator, for a conditional refresh (`stored_for_refresh`).
async fn for_refresh(cx: &Cx<'_>) -> Option<Kept> {
    let cached = cx.w.cache_match(cx.loc(), cx.key()).await?;
    let entry = StoredEntry::parse(&cached.headers)?;
    let validator = Some(validator(&cached.headers)?);
    Some(Kept {
        cached,
        entry,
        stale_if_error: false,
        validator,
    })
}
