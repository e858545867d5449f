//! The I/O of observability (`crate::flow::observe` decides): timing the
//! request and its origin fetch, `Server-Timing` on the response, printing
//! the log line, writing the Analytics Engine data point.

use super::convert::now_millis;
use super::State;
use crate::flow::isolate::Trace;
use crate::flow::observe::{
    sampled, server_timing, PurgeLine, RequestFacts, RequestLine, ANALYTICS_BINDING,
};
use wasm_bindgen::prelude::*;
use worker::{console_log, Env};

#[wasm_bindgen(module = "/src/glue/js/observe.js")]
extern "C" {
    fn edgecache_finish(res: &worker::web_sys::Response, timing: Option<String>) -> String;
    fn edgecache_has_dataset(env: &JsValue, name: &str) -> bool;
    fn edgecache_write_point(env: &JsValue, name: &str, point: &str) -> bool;
}

/// What the glue knows of the request besides the response.
pub struct Seen<'a> {
    pub route: Option<&'a str>,
    pub method: &'a str,
    pub key: Option<&'a str>,
}

/// Before the response leaves: `Server-Timing` on it, and the log line and
/// data point (as `observability` and the bindings say).
pub fn finish(
    env: &Env,
    state: &State,
    trace: &Trace,
    seen: Seen,
    res: &worker::web_sys::Response,
) {
    let settings = &state.isolate.config.observability;
    let total_ms = now_millis().saturating_sub(trace.started);
    let origin = trace.origin();
    let timing = settings
        .server_timing
        .then(|| server_timing(total_ms, origin.map(|o| o.ms)));
    let read = edgecache_finish(res, timing);
    let mut parts = read.split('\n');
    let (Some(status), Some(cs), Some(length)) = (parts.next(), parts.next(), parts.next()) else {
        return;
    };
    let status = status.parse().unwrap_or(0);
    let analytics = state.analytics;
    // The draw only when sampling is partial (Math.random is a JS call).
    let draw = match settings.log_sample {
        s if s >= 1.0 => 0.0,
        s if s <= 0.0 => 1.0,
        _ => js_sys::Math::random(),
    };
    if !analytics && !sampled(settings.log_sample, draw, status >= 500) {
        return;
    }
    let line = RequestLine::new(&RequestFacts {
        time: trace.started,
        route: seen.route,
        method: seen.method,
        status,
        cache_status: (!cs.is_empty()).then_some(cs),
        key: seen.key,
        origin,
        total_ms,
        bytes: length.parse().ok(),
    });
    if sampled(settings.log_sample, draw, line.is_error()) {
        console_log!("{}", line.to_json());
    }
    if analytics {
        write_point(env, &line.data_point());
    }
}

/// Only `Server-Timing`, for a response whose line is logged elsewhere (the
/// purge webhook's).
pub fn timing(state: &State, trace: &Trace, res: &worker::web_sys::Response) {
    if state.isolate.config.observability.server_timing {
        let total_ms = now_millis().saturating_sub(trace.started);
        let origin = trace.origin().map(|o| o.ms);
        edgecache_finish(res, Some(server_timing(total_ms, origin)));
    }
}

/// A request whose handler failed: its line (always) and data point, and the
/// error itself in the older form (`worker_error`).
pub fn failed(env: &Env, state: &State, trace: &Trace, seen: Seen, error: &str) {
    super::log("worker_error", serde_json::json!({ "error": error }));
    let line = RequestLine::failed(&RequestFacts {
        time: trace.started,
        route: seen.route,
        method: seen.method,
        status: 500,
        cache_status: None,
        key: seen.key,
        origin: trace.origin(),
        total_ms: now_millis().saturating_sub(trace.started),
        bytes: None,
    });
    console_log!("{}", line.to_json());
    if state.analytics {
        write_point(env, &line.data_point());
    }
}

/// A purge's log line (always) and data point.
pub fn purge(env: &Env, state: &State, line: &PurgeLine) {
    console_log!("{}", line.to_json());
    if state.analytics {
        write_point(env, &line.data_point());
    }
}

fn write_point(env: &Env, point: &crate::flow::observe::DataPoint) {
    if let Ok(json) = serde_json::to_string(point) {
        edgecache_write_point(env, ANALYTICS_BINDING, &json);
    }
}

/// Whether the Analytics Engine binding is there (read once per isolate).
pub fn has_dataset(env: &Env) -> bool {
    edgecache_has_dataset(env, ANALYTICS_BINDING)
}
