//! Wasm glue: the only code that touches `worker` types. It converts runtime
//! types, calls the core (`crate::flow`, `crate::purge::webhook`), performs the I/O the
//! core names, and maps results to responses. Nothing is decided here.

mod body;
mod bucket;
mod collapse;
mod convert;
mod explain;
mod fastlog;
mod kv;
mod lookup;
mod memory;
mod observe;
mod origin;
mod pass;
mod revalidate;
mod store;
mod webhook;
mod writer;

use crate::config::Config;
use crate::flow::fetched::{origin_failure, FetchError};
use crate::flow::observe::route_of;
use crate::flow::refresh::REFRESH_GATE_MAX_BYTES;
use crate::flow::{self, Incoming, Plan, Reserved};
use crate::http::cache_status::{CacheStatus, Detail, Fwd};
use crate::http::headers::Headers as CoreHeaders;
use crate::http::method::Method;
use crate::purge::memo::{Memo, MEMO_MAX_BYTES};
use std::cell::RefCell;
use std::rc::Rc;
use worker::*;

/// Per-isolate state: the config, validated once, and the generation memo.
pub(crate) struct State {
    pub config: Config,
    pub memo: RefCell<Memo>,
    /// Background refreshes in flight (stale-while-revalidate), collapsed per key.
    pub refresh: RefCell<crate::flow::refresh::RefreshGate>,
    /// Misses in flight per key, and hit-for-pass notes (request collapsing).
    pub collapse: RefCell<collapse::Collapser>,
    /// Small entries kept in the isolate, in front of the Cache API.
    pub memory: RefCell<memory::Tier>,
    /// This isolate's view of the purge writer's log (the fast path).
    pub fast: RefCell<crate::purge::fastview::FastView>,
    /// A purge writer is bound (`writer::WRITER_BINDING`): without one there
    /// is no log to read, and the fast path is off.
    pub writer_bound: bool,
    /// The zone purge API's rate limit, shared by every webhook of the isolate.
    pub zone_limit: RefCell<crate::purge::zone::RateLimit>,
    /// `EDGECACHE_KEY_SECRET` (per-user keys), read once: secrets are fixed for
    /// an isolate's life (a new secret means a new deployment).
    pub key_secret: Option<String>,
    /// The Analytics Engine dataset is bound (`flow::observe::ANALYTICS_BINDING`).
    pub analytics: bool,
    /// Bucket origins' credentials and bindings, read once.
    pub buckets: bucket::Buckets,
}

thread_local! {
    static STATE: RefCell<Option<Rc<std::result::Result<State, String>>>> = const { RefCell::new(None) };
}

/// The isolate's state, if a request has loaded it already.
fn current_state() -> Option<Rc<std::result::Result<State, String>>> {
    STATE.with(|s| s.borrow().clone())
}

fn state(env: &Env) -> Rc<std::result::Result<State, String>> {
    if let Some(s) = current_state() {
        return s;
    }
    let loaded = load_config(env).map(|config| State {
        memo: RefCell::new(Memo::new(config.purge.generation_memo, MEMO_MAX_BYTES)),
        refresh: RefCell::new(crate::flow::refresh::RefreshGate::new(
            REFRESH_GATE_MAX_BYTES,
        )),
        memory: RefCell::new(memory::Tier::new(config.memory.clone())),
        collapse: RefCell::new(collapse::Collapser::new(
            crate::flow::collapse::COLLAPSE_MAX_BYTES,
        )),
        fast: RefCell::new(crate::purge::fastview::FastView::new()),
        writer_bound: env.durable_object(writer::WRITER_BINDING).is_ok(),
        zone_limit: RefCell::new(crate::purge::zone::RateLimit::for_plan(
            config.purge.zone_plan,
        )),
        key_secret: secret(env, "EDGECACHE_KEY_SECRET"),
        analytics: observe::has_dataset(env),
        buckets: bucket::Buckets::load(env, &config),
        config,
    });
    let rc = Rc::new(loaded);
    STATE.with(|s| *s.borrow_mut() = Some(rc.clone()));
    rc
}

/// The `EDGECACHE` var as a JSON object (wrangler's `[vars.EDGECACHE]`) or as
/// a string holding JSON (`wrangler dev --var EDGECACHE:{...}`, a dashboard
/// text var), crossing the boundary once as JSON text (src/glue/js/env.js):
/// one `serde_json` parse, and no deserializer of JS values in the Wasm.
fn load_config(env: &Env) -> std::result::Result<Config, String> {
    let Some(text) = edgecache_var_json(env, "EDGECACHE") else {
        return Err("EDGECACHE var missing or unreadable".into());
    };
    Config::from_json_str(&text).map_err(|e| e.to_string())
}

#[wasm_bindgen::prelude::wasm_bindgen(module = "/src/glue/js/env.js")]
extern "C" {
    fn edgecache_var_json(env: &wasm_bindgen::JsValue, name: &str) -> Option<String>;
}

/// A secret (`wrangler secret put`) or, in local tests, a plain var.
pub(crate) fn secret(env: &Env, name: &str) -> Option<String> {
    env.secret(name)
        .map(|s| s.to_string())
        .or_else(|_| env.var(name).map(|v| v.to_string()))
        .ok()
        .filter(|s| !s.is_empty())
}

pub(crate) fn log(event: &str, fields: serde_json::Value) {
    let line =
        serde_json::json!({ "edgecache": event, "at": convert::now_millis(), "detail": fields });
    console_log!("{}", line);
}

/// The worker's own 502/504 when the origin gave no answer
/// (`flow::fetched::origin_failure` decides which).
pub(crate) fn origin_failed(error: FetchError, why: &str, cs: CacheStatus) -> Result<Response> {
    let f = origin_failure(error);
    log(
        "origin_failed",
        serde_json::json!({ "status": f.status, "error": why }),
    );
    plain(f.status, f.message, &f.cache_status(cs))
}

pub(crate) fn plain(status: u16, message: &str, cache_status: &CacheStatus) -> Result<Response> {
    plain_with(status, message, cache_status, None)
}

/// [`plain`] with the `Allow` of a 405.
fn plain_with(
    status: u16,
    message: &str,
    cache_status: &CacheStatus,
    allow: Option<&str>,
) -> Result<Response> {
    let mut h = CoreHeaders::new();
    if let Some(a) = allow {
        h.append("allow", a);
    }
    h.append("content-type", "text/plain; charset=utf-8");
    h.append("cache-control", "no-store");
    h.append("cache-status", &cache_status.to_string());
    convert::local(status, &h, Some(format!("{message}\n").into_bytes()))
}

#[event(fetch)]
async fn fetch(raw: web_sys::Request, env: Env, ctx: Context) -> Result<web_sys::Response> {
    // The raw request: `worker::Request::from` reads `request.cf` (a costly
    // call), which only the non-lookup paths may want; they convert below.
    let state = state(&env);
    let state = match state.as_ref() {
        Ok(s) => s,
        Err(message) => {
            console_error!("edgecache: invalid configuration: {}", message);
            let cs = CacheStatus::forward(Fwd::Bypass).detail(Detail::ConfigInvalid);
            return plain(
                500,
                "edgecache: configuration invalid (see the worker log)",
                &cs,
            )
            .map(Into::into);
        }
    };
    let headers = convert::request_headers(&raw);
    // The runtime's URL as it is: `flow::plan` parses it (once), and keys are
    // built from that parse, so a re-serialization here would change nothing.
    let url = raw.url();
    // The method as sent, parsed once: `worker::Method` knows ten names and
    // turns any other (PROPFIND, PURGE, QUERY...) into GET; the core keeps it
    // as `Method::Other` and treats it as unsafe (RFC 9110 §9.2.1).
    let method = Method::parse(&raw.method());
    let has_body = flow::plan::has_body(&headers);
    let incoming = Incoming {
        method: &method,
        url: &url,
        headers: &headers,
        has_body,
        user_secret: state.key_secret.as_deref().map(str::as_bytes),
    };
    let trace = observe::Trace::start();
    let (out, logged) = answer(raw, &env, &ctx, state, &incoming, &trace).await;
    let Some((route, key)) = logged else {
        if let Ok(res) = &out {
            observe::timing(state, &trace, res);
        }
        return out;
    };
    let seen = observe::Seen {
        route,
        method: method.as_str(),
        key: key.as_deref(),
    };
    match &out {
        Ok(res) => observe::finish(&env, state, &trace, seen, res),
        Err(e) => observe::failed(&env, state, &trace, seen, &e.to_string()),
    }
    out
}

/// The request's route and key, for its log line; `None`: it has no request
/// line (the purge webhook logs its own).
type Logged<'c> = Option<(Option<&'c str>, Option<String>)>;

/// The answer to a request, as `flow::plan` routes it. `Request::from` only
/// off the lookup path (see `fetch`).
async fn answer<'c>(
    raw: web_sys::Request,
    env: &Env,
    ctx: &Context,
    state: &'c State,
    incoming: &Incoming<'_>,
    trace: &observe::Trace,
) -> (Result<web_sys::Response>, Logged<'c>) {
    let (method, headers, url) = (incoming.method, incoming.headers, incoming.url);
    let (out, route, key) = match flow::plan(&state.config, incoming) {
        Plan::Lookup(lookup) => {
            let route = Some(lookup.key.route.name.as_str());
            let key = lookup.key.url().to_string();
            let out = lookup::lookup(env, ctx, state, headers, *lookup, trace).await;
            (out, route, Some(key))
        }
        Plan::Reserved(Reserved::Purge) => {
            let out = webhook::handle(Request::from(raw), method, env, ctx, state, headers).await;
            return (out.map(Into::into), None);
        }
        Plan::Reserved(Reserved::Explain) => {
            let out = explain::handle(&Request::from(raw), env, state, headers);
            (out.map(Into::into), None, None)
        }
        Plan::Reserved(Reserved::NotFound) => {
            let cs = CacheStatus::forward(Fwd::Bypass).detail(Detail::ReservedPath);
            (plain(404, "not found", &cs).map(Into::into), None, None)
        }
        Plan::Reject {
            status,
            message,
            cache_status,
            allow,
        } => {
            let out = plain_with(status, &message, &cache_status, allow).map(Into::into);
            (out, route_of(&state.config, url), None)
        }
        Plan::Pass {
            cache_status,
            invalidate,
            forward_body,
            origin,
        } => {
            let pass = pass::Pass {
                origin: origin.as_str(),
                cache_status,
                invalidate,
                forward_body,
            };
            let out = pass::pass(Request::from(raw), method, state, headers, pass, trace).await;
            (out, route_of(&state.config, url), None)
        }
    };
    (out, Some((route, key)))
}
