//! The fast path in a simulated isolate: what `glue/fastlog.rs` does in the
//! worker, over the same core (`purge::fastview` decides when to read, when
//! to wait and when to serve under the KV bound only; `purge::log` is the
//! writer's log). Before a cached entry is served the isolate's view is made
//! fresh enough: through the location's shared copy of this poll interval's
//! read, else a read of the writer (paying the location's round trip) whose
//! answer is stored for the location's other isolates.
//!
//! The sequence mirrors the glue's step for step (it is not yet in `flow/`
//! behind `Platform` methods, so the glue's copy is not what runs here).

use super::world::{SimIsolate, World};
use crate::config::Config;
use crate::http::cache_status::Detail;
use crate::purge::fastview::{
    backstop_ms, interval, purges, read_window_ms, Step, READ_GIVE_UP_MS, READ_TIMEOUT_MS,
};
use crate::purge::generations::Gen;
use crate::purge::writer::{staleness_bound, Writer};
use std::rc::Rc;

/// How often a request waiting for another's read looks at the view (the
/// glue's `WAIT_STEP_MS`).
const WAIT_STEP_MS: u64 = 10;

/// `Platform::purge_view` for isolate `iso`: `Some(detail)` when it serves
/// under the KV bound only.
pub async fn ensure(w: &Rc<World>, iso: &Rc<SimIsolate>) -> Option<Detail> {
    let poll = w.config.purge.poll_ms;
    let step = iso.fast.borrow().step(w.clock_ms(iso.loc), poll);
    match step {
        Step::Off | Step::Fresh => None,
        Step::Behind(b) => Some(b.detail()),
        Step::Refresh { wait } => {
            if iso.fast.borrow_mut().begin_read(w.clock_ms(iso.loc)) {
                w.exec.spawn(refresh(w.clone(), iso.clone()));
            }
            if !wait {
                return None;
            }
            let deadline = w.clock_ms(iso.loc).saturating_add(READ_TIMEOUT_MS);
            while iso.fast.borrow().is_reading(w.clock_ms(iso.loc))
                && w.clock_ms(iso.loc) < deadline
            {
                w.exec.sleep(WAIT_STEP_MS).await;
            }
            match iso.fast.borrow().settled(w.clock_ms(iso.loc), poll) {
                Step::Behind(b) => Some(b.detail()),
                _ => None,
            }
        }
    }
}

/// The window a read asks for, and the backstop bound in seconds.
pub fn window(config: &Config) -> (u64, u64) {
    let backstop = staleness_bound(&config.purge, Writer::Single);
    (read_window_ms(&config.purge, backstop), backstop)
}

/// One read of the log for `iso`: the location's copy for this interval,
/// else the writer's (stored as the copy); applied to the view and memo.
async fn refresh(w: Rc<World>, iso: Rc<SimIsolate>) {
    let (window, backstop) = window(&w.config);
    let poll = w.config.purge.poll_ms;
    let asked = w.clock_ms(iso.loc);
    let key = interval(asked, poll);
    // A Cache API match, then (none) the writer and a Cache API put.
    w.exec.sleep(w.draw(0, 5)).await;
    let copy = w.locs[iso.loc].fastlog.borrow().get(&key).cloned();
    let got = match copy {
        Some(c) => Ok(c),
        None => match super::writer::read_log(&w, iso.loc, window, READ_GIVE_UP_MS).await {
            Ok(read) => {
                w.exec.sleep(w.draw(0, 10)).await;
                let mut shared = w.locs[iso.loc].fastlog.borrow_mut();
                // Kept two intervals, as the glue's `max-age` keeps them.
                shared.retain(|k, _| k.saturating_add(2) > key);
                shared.insert(key, (asked, read.clone()));
                Ok((asked, read))
            }
            Err(e) => Err(e),
        },
    };
    let now = w.clock_ms(iso.loc);
    match got {
        Ok((asked_at, read)) => {
            let entries =
                iso.fast
                    .borrow_mut()
                    .on_read(&read, asked_at, now, backstop_ms(backstop));
            w.log(|| {
                let (head, n) = (read.head, entries.len());
                format!(
                    "isolate {}: log read asked at {asked_at:?}: head {head}, {n} new",
                    iso.id
                )
            });
            let mut memo = iso.flow.memo.borrow_mut();
            for (name, record) in purges(&entries) {
                memo.put(name, Gen::Purged(record), now.to_secs());
            }
        }
        Err(e) => {
            let mut view = iso.fast.borrow_mut();
            let jitter = w.rng.borrow_mut().f64();
            view.on_failure(now, jitter);
            w.log(|| format!("isolate {}: fast_path_unreachable {e}", iso.id));
        }
    }
}
