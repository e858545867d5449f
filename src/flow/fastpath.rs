//! The fast purge path's read sequence (issue 25), over the platform:
//! before a cached entry is served, make sure the isolate's view of the
//! purge writer's log is fresh enough, reading the log through the data
//! centre's shared copy (one key per poll interval) or, when there is none,
//! from the writer (and storing the copy for the data centre's other
//! isolates); then apply what is new to the memo. `purge::fastview` decides
//! (when to read, when to wait, when to serve under the KV bound only, how
//! long to back off); this module only performs the steps in order, once,
//! for the worker (`glue::platform`) and the simulator (`sim::platform`)
//! alike.
//!
//! ```text
//! ensure ─► FastView::step ─► Off | Fresh ─► serve
//!                          ─► Behind ─► serve under the KV bound (detail)
//!                          ─► Refresh{wait} ─► begin_read? ─► wait_until(refresh)
//!                                          ─► wait: look at the view every WAIT_STEP_MS,
//!                                                   at most READ_TIMEOUT_MS ─► settled
//! refresh ─► log_copy(interval key) ─► none: read_log (give-up time) ─► put_log_copy
//!         ─► FastView::on_read ─► Memo::put_ordered per purged name
//!         ─► failed (or dropped unfinished): FastView::on_failure (back-off, jitter)
//! ```

use super::isolate::Isolate;
use super::platform::{IoError, Platform};
use crate::http::cache_status::Detail;
use crate::http::time::UnixMillis;
use crate::purge::fastview::{
    backstop_ms, interval, purges, read_window_ms, Step, READ_GIVE_UP_MS, READ_TIMEOUT_MS,
};
use crate::purge::generations::Gen;
use crate::purge::log::LogRead;
use crate::purge::writer::{staleness_bound, Writer};
use serde::{Deserialize, Serialize};
use std::rc::Rc;

/// How often a request waiting for another's read looks at the view.
pub const WAIT_STEP_MS: u64 = 10;

/// The hook, called once per cacheable request before the memo is consulted:
/// the view fresh enough (`FastView::step`): nothing to do, a refresh in the
/// background, or a refresh first. `Some(detail)` when this isolate serves
/// under the KV bound only (`Cache-Status` says so; the platform is told,
/// [`Platform::behind`]).
pub async fn ensure<P: Platform>(p: &P, isolate: &Rc<Isolate<P>>) -> Option<Detail> {
    let detail = step(p, isolate).await;
    if let Some(d) = detail {
        p.behind(d);
    }
    detail
}

async fn step<P: Platform>(p: &P, isolate: &Rc<Isolate<P>>) -> Option<Detail> {
    // No writer bound: no log to read, the fast path is off.
    let poll = match isolate.writer_bound(p) {
        true => isolate.config.purge.poll_ms,
        false => 0,
    };
    let step = isolate.fast.borrow().step(p.now(), poll);
    match step {
        Step::Off | Step::Fresh => None,
        Step::Behind(b) => Some(b.detail()),
        Step::Refresh { wait } => {
            // The read runs on its own (its give-up time bounds it); a
            // request that must wait looks at the view on its own timers.
            if isolate.fast.borrow_mut().begin_read(p.now()) {
                p.wait_until(Box::pin(refresh(p.clone(), isolate.clone())));
            }
            if !wait {
                return None;
            }
            wait_for_read(p, isolate).await;
            match isolate.fast.borrow().settled(p.now(), poll) {
                Step::Behind(b) => Some(b.detail()),
                _ => None,
            }
        }
    }
}

/// A read is in flight: look until it is done, at most [`READ_TIMEOUT_MS`],
/// on this request's own timers (Workers forbids awaiting another request's
/// I/O; the read may be another request's).
async fn wait_for_read<P: Platform>(p: &P, isolate: &Isolate<P>) {
    let deadline = p.now().saturating_add(READ_TIMEOUT_MS);
    while isolate.fast.borrow().is_reading(p.now()) && p.now() < deadline {
        p.sleep(WAIT_STEP_MS).await;
    }
}

/// The shared copy of a read: when it was asked, and what it answered.
#[derive(Serialize, Deserialize)]
struct Shared {
    asked_at: UnixMillis,
    read: LogRead,
}

/// Reports a read that ends without an outcome (dropped while waiting: its
/// request cancelled, its isolate evicted) as failed, so the view does not
/// wait on it.
struct Reading<P: Platform> {
    p: P,
    isolate: Rc<Isolate<P>>,
    done: bool,
}

impl<P: Platform> Drop for Reading<P> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        if let Ok(mut view) = self.isolate.fast.try_borrow_mut() {
            view.on_failure(self.p.now(), self.p.random());
        }
    }
}

/// The data centre's shared copy of interval `n`'s read: its key in the
/// Cache API (a reserved URL, by the read's window and the poll, so a
/// deployment with other settings never reads it).
pub fn copy_key(window_ms: u64, poll_ms: u64, n: u64) -> String {
    format!("https://edgecache.invalid/__edgecache/fastlog/{window_ms}/{poll_ms}/{n}")
}

/// One read of the log: the data centre's copy for this interval, else the
/// writer (the copy is stored for the others); applied to the view and memo.
async fn refresh<P: Platform>(p: P, isolate: Rc<Isolate<P>>) {
    let mut guard = Reading {
        p: p.clone(),
        isolate: isolate.clone(),
        done: false,
    };
    let settings = &isolate.config.purge;
    let backstop = staleness_bound(settings, Writer::Single);
    let window = read_window_ms(settings, backstop);
    let asked = p.now();
    let key = copy_key(window, settings.poll_ms, interval(asked, settings.poll_ms));
    let copy = p.log_copy(&key).await;
    let got = match copy.and_then(|t| serde_json::from_str::<Shared>(&t).ok()) {
        Some(s) => Ok(s),
        None => from_writer(&p, &key, window, asked, settings.poll_ms).await,
    };
    let now = p.now();
    guard.done = true;
    match got {
        Ok(s) => {
            let mut view = isolate.fast.borrow_mut();
            let entries = view.on_read(&s.read, s.asked_at, now, backstop_ms(backstop));
            let mut memo = isolate.memo.borrow_mut();
            for (name, record) in purges(&entries) {
                let at = memo.told_at(&name, &record, now.to_secs());
                memo.put_ordered(name, Gen::Purged(record), at, view.order());
            }
        }
        Err(e) => {
            let mut view = isolate.fast.borrow_mut();
            view.on_failure(now, p.random());
            let fields = serde_json::json!({ "error": e.0, "failures": view.failures() });
            p.log("fast_path_unreachable", fields);
        }
    }
}

/// Reads the writer (within [`READ_GIVE_UP_MS`]) and stores the data
/// centre's copy for this interval.
async fn from_writer<P: Platform>(
    p: &P,
    key: &str,
    window: u64,
    asked: UnixMillis,
    poll_ms: u64,
) -> Result<Shared, IoError> {
    let text = p.read_log(window, READ_GIVE_UP_MS).await?;
    let read =
        LogRead::parse(&text).ok_or_else(|| IoError("the log read does not parse".into()))?;
    let shared = Shared {
        asked_at: asked,
        read,
    };
    let text = serde_json::to_string(&shared).map_err(|e| IoError(e.to_string()))?;
    // Kept two intervals: a copy is only used in its own interval.
    let max_age = (2 * poll_ms).div_ceil(1000).max(1);
    p.put_log_copy(key, &text, max_age).await;
    Ok(shared)
}
