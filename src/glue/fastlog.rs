//! The fast path's I/O in an isolate (`crate::purge::fastview` decides): make
//! sure this isolate's view of the purge log is fresh before a cached entry
//! is served, reading the log through the data centre's shared copy (Cache
//! API, one key per poll interval) or, when there is none, from the writer;
//! then apply what is new to the memo.
//!
//! The request path calls [`ensure`] once, before it consults the memo.

use super::convert::now_millis;
use super::{current_state, log, writer, State};
use crate::http::cache_status::Detail;
use crate::http::time::UnixMillis;
use crate::purge::fastview::{
    backstop_ms, interval, purges, read_window_ms, Step, READ_GIVE_UP_MS, READ_TIMEOUT_MS,
};
use crate::purge::generations::Gen;
use crate::purge::log::LogRead;
use crate::purge::writer::{staleness_bound, Writer};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use wasm_bindgen::{JsCast, JsValue};
use worker::{Context, Env};

#[wasm_bindgen::prelude::wasm_bindgen(module = "/src/glue/js/fastlog.js")]
extern "C" {
    fn edgecache_fastlog_get(key: &str) -> js_sys::Promise;
    fn edgecache_fastlog_put(key: &str, text: &str, max_age: f64) -> js_sys::Promise;
    fn edgecache_within(promise: &js_sys::Promise, ms: f64) -> js_sys::Promise;
}

/// How often a request waiting for another's read looks at the view.
const WAIT_STEP_MS: u64 = 10;

/// The hook: before a cached entry is served, make sure the view is fresh
/// enough (`FastView::step`): nothing to do, a refresh in the background, or
/// a refresh first. `Some(detail)` when this isolate serves under the KV
/// bound only (`Cache-Status` says so).
pub async fn ensure(env: &Env, ctx: &Context, state: &State) -> Option<Detail> {
    // No writer bound: no log to read, the fast path is off.
    let poll = if state.writer_bound {
        state.isolate.config.purge.poll_ms
    } else {
        0
    };
    let step = state.fast.borrow().step(now_millis(), poll);
    match step {
        Step::Off | Step::Fresh => None,
        Step::Behind(b) => Some(b.detail()),
        Step::Refresh { wait } => {
            // The read runs on its own (its give-up time bounds it); a
            // request that must wait looks at the view on its own timers.
            if state.fast.borrow_mut().begin_read(now_millis()) {
                ctx.wait_until(refresh(env.clone()));
            }
            if !wait {
                return None;
            }
            wait_for_read(state).await;
            match state.fast.borrow().settled(now_millis(), poll) {
                Step::Behind(b) => Some(b.detail()),
                _ => None,
            }
        }
    }
}

/// A read is in flight: look until it is done, at most [`READ_TIMEOUT_MS`],
/// on this request's own timers (Workers forbids awaiting another request's
/// I/O; the read may be another request's).
async fn wait_for_read(state: &State) {
    let deadline = now_millis().saturating_add(READ_TIMEOUT_MS);
    while state.fast.borrow().is_reading(now_millis()) && now_millis() < deadline {
        worker::Delay::from(Duration::from_millis(WAIT_STEP_MS)).await;
    }
}

/// The shared copy of a read: when it was asked, and what it answered.
#[derive(Serialize, Deserialize)]
struct Shared {
    asked_at: UnixMillis,
    read: LogRead,
}

/// Reports a read that ends without an outcome (its request cancelled while
/// waiting) as failed, so the view does not wait on it.
struct Reading(std::rc::Rc<std::result::Result<State, String>>, bool);

impl Drop for Reading {
    fn drop(&mut self) {
        if let (Ok(state), false) = (self.0.as_ref(), self.1) {
            if let Ok(mut view) = state.fast.try_borrow_mut() {
                view.on_failure(now_millis(), js_sys::Math::random());
            }
        }
    }
}

/// One read of the log: the data centre's copy for this interval, else the
/// writer (the copy is stored for the others); applied to the view and memo.
async fn refresh(env: Env) {
    let Some(rc) = current_state() else { return };
    let mut guard = Reading(rc.clone(), false);
    let Ok(state) = rc.as_ref() else { return };
    let settings = &state.isolate.config.purge;
    let backstop = staleness_bound(settings, Writer::Single);
    let window = read_window_ms(settings, backstop);
    let asked = now_millis();
    let key = format!(
        "https://edgecache.invalid/__edgecache/fastlog/{window}/{}/{}",
        settings.poll_ms,
        interval(asked, settings.poll_ms)
    );
    let got = match shared_copy(&key).await {
        Some(s) => Ok(s),
        None => from_writer(&env, &key, window, asked, settings.poll_ms).await,
    };
    let now = now_millis();
    guard.1 = true;
    match got {
        Ok(s) => {
            let entries =
                state
                    .fast
                    .borrow_mut()
                    .on_read(&s.read, s.asked_at, now, backstop_ms(backstop));
            let mut memo = state.isolate.memo.borrow_mut();
            for (name, record) in purges(&entries) {
                memo.put(name, Gen::Purged(record), now_millis().to_secs());
            }
        }
        Err(e) => {
            let mut view = state.fast.borrow_mut();
            view.on_failure(now, js_sys::Math::random());
            log(
                "fast_path_unreachable",
                serde_json::json!({ "error": e, "failures": view.failures() }),
            );
        }
    }
}

async fn shared_copy(key: &str) -> Option<Shared> {
    let text = call(edgecache_fastlog_get(key)).await.ok()?.as_string()?;
    serde_json::from_str(&text).ok()
}

/// Reads the writer (within [`READ_TIMEOUT_MS`]) and stores the data
/// centre's copy for this interval.
async fn from_writer(
    env: &Env,
    key: &str,
    window: u64,
    asked: UnixMillis,
    poll_ms: u64,
) -> Result<Shared, String> {
    let ns = env
        .durable_object(writer::WRITER_BINDING)
        .map_err(|e| e.to_string())?;
    let text = writer::read_log(&ns, window, READ_GIVE_UP_MS).await?;
    let read = LogRead::parse(&text).ok_or("the log read does not parse")?;
    let shared = Shared {
        asked_at: asked,
        read,
    };
    let text = serde_json::to_string(&shared).map_err(|e| e.to_string())?;
    // Kept two intervals: a copy is only used in its own interval.
    let max_age = (2 * poll_ms).div_ceil(1000).max(1);
    let _ = call(edgecache_fastlog_put(key, &text, max_age as f64)).await;
    Ok(shared)
}

/// Races `p` against `ms` (fastlog.js).
pub(crate) async fn within(p: js_sys::Promise, ms: u64) -> Result<JsValue, String> {
    call(edgecache_within(&p, ms as f64)).await.map_err(|e| {
        e.dyn_ref::<js_sys::Error>()
            .map(|e| String::from(e.message()))
            .unwrap_or_else(|| format!("{e:?}"))
    })
}

async fn call(p: js_sys::Promise) -> Result<JsValue, JsValue> {
    wasm_bindgen_futures::JsFuture::from(p).await
}
