//! Wasm glue: the only code that touches `worker` types. It implements the
//! core's `flow::platform::Platform` over workers-rs ([`platform::Edge`]),
//! converts the runtime's request, hands each `flow::plan` outcome to the one
//! core function that answers it (`flow::lookup`, `flow::pass`,
//! `flow::purge_request`, `flow::explain`, `flow::reply`), and sends the
//! `Reply` it gets back. Nothing is decided here: no header names, no status
//! choices, no cache outcomes.

mod body;
mod bucket;
mod convert;
mod fastlog;
mod kv;
mod observe;
mod platform;
mod writer;

use crate::config::Config;
use crate::flow::isolate::{Cx, Isolate, Trace};
use crate::flow::observe::route_of;
use crate::flow::pass::PassRequest;
use crate::flow::platform::Reply;
use crate::flow::purge_request::PurgeRequest;
use crate::flow::reply::{config_invalid, reject, reserved_not_found};
use crate::flow::{self, Incoming, Plan, Reserved};
use crate::http::method::Method;
use crate::purge::signature::{parse_secrets, Secret};
use crate::request::forward::RequestBody;
use platform::Edge;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::JsValue;
use worker::*;

/// Per-isolate state: the core's [`Isolate`] and what only the glue reads.
pub(crate) struct State {
    pub isolate: Rc<Isolate<Edge>>,
    /// The Analytics Engine dataset is bound (`flow::observe::ANALYTICS_BINDING`).
    pub analytics: bool,
    /// Bucket origins' credentials and bindings, read once.
    pub buckets: Rc<bucket::Buckets>,
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
    let loaded = load_config(env).map(|config| {
        let buckets = Rc::new(bucket::Buckets::load(env, &config));
        State {
            isolate: Rc::new(Isolate::new(config, secret(env, "EDGECACHE_KEY_SECRET"))),
            analytics: observe::has_dataset(env),
            buckets,
        }
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

/// The runtime's response for a core [`Reply`]; an I/O error is the
/// handler's error (a 500, logged).
fn send(
    r: std::result::Result<Reply<Response, JsValue>, crate::flow::platform::IoError>,
) -> Result<web_sys::Response> {
    r.map_err(|e| Error::RustError(e.0)).and_then(body::reply)
}

/// The webhook secrets (`EDGECACHE_WEBHOOK_SECRET`, several for rotation);
/// none when unset or invalid, which refuses every webhook.
fn webhook_secrets(env: &Env) -> Vec<Secret> {
    secret(env, "EDGECACHE_WEBHOOK_SECRET")
        .map(|s| parse_secrets(&s))
        .transpose()
        .unwrap_or_else(|e| {
            console_error!("edgecache: EDGECACHE_WEBHOOK_SECRET is invalid: {}", e);
            None
        })
        .unwrap_or_default()
}

/// A request body as the platform's body type.
fn body_of(raw: &web_sys::Request) -> Option<Response> {
    raw.body()
        .map(|s| ResponseBuilder::new().body(ResponseBody::Stream(s)))
}

#[event(fetch)]
async fn fetch(raw: web_sys::Request, env: Env, ctx: Context) -> Result<web_sys::Response> {
    // The raw request: `worker::Request::from` reads `request.cf` (a costly
    // call), which no path needs.
    let state = state(&env);
    let state = match state.as_ref() {
        Ok(s) => s,
        Err(message) => {
            console_error!("edgecache: invalid configuration: {}", message);
            return send(Ok(config_invalid()));
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
        user_secret: state.isolate.user_secret(),
    };
    let edge = Edge::new(env.clone(), Some(ctx)).with_buckets(&state.buckets);
    let trace = Trace::start(convert::now_millis());
    let (out, logged) = answer(&raw, &edge, &env, state, &incoming, &trace).await;
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

/// The answer to a request, as `flow::plan` routes it.
async fn answer<'c>(
    raw: &web_sys::Request,
    edge: &Edge,
    env: &Env,
    state: &'c State,
    incoming: &Incoming<'_>,
    trace: &Trace,
) -> (Result<web_sys::Response>, Logged<'c>) {
    let (method, headers, url) = (incoming.method, incoming.headers, incoming.url);
    let (isolate, config) = (&state.isolate, &state.isolate.config);
    let (out, route, key) = match flow::plan(config, incoming) {
        Plan::Lookup(lookup) => {
            let route = Some(lookup.key.route.name.as_str());
            let key = lookup.key.url().to_string();
            let cx = Cx {
                platform: edge,
                isolate,
                headers,
                lookup: &lookup,
                trace: Some(trace),
            };
            let out = send(flow::lookup::lookup(&cx).await);
            (out, route, Some(key))
        }
        Plan::Reserved(Reserved::Purge) => {
            let req = PurgeRequest {
                method,
                url,
                headers,
                body: body_of(raw),
                secrets: &webhook_secrets(env),
                zone_token: secret(env, "EDGECACHE_ZONE_TOKEN"),
            };
            let purged = flow::purge_request::purge(edge, isolate, req).await;
            if let Some(line) = &purged.line {
                observe::purge(env, state, line);
            }
            return (send(Ok(purged.reply)), None);
        }
        Plan::Reserved(Reserved::Explain) => {
            let token = secret(env, "EDGECACHE_EXPLAIN_TOKEN");
            let out = flow::explain::explain_request(isolate, url, token.as_deref(), headers);
            let out = send(Ok(out));
            (out, None, None)
        }
        Plan::Reserved(Reserved::NotFound) => (send(Ok(reserved_not_found())), None, None),
        Plan::Reject {
            status,
            message,
            cache_status,
            allow,
        } => {
            let out = send(Ok(reject(status, &message, &cache_status, allow)));
            (out, route_of(config, url), None)
        }
        Plan::Pass {
            cache_status,
            invalidate,
            forward_body,
            origin,
        } => {
            let req = PassRequest {
                method,
                url,
                headers,
                origin: origin.as_str(),
                body: match forward_body {
                    RequestBody::Forward => body_of(raw),
                    RequestBody::Withhold => None,
                },
                cache_status,
                invalidate,
                forward_body,
            };
            let out = send(flow::pass::pass(edge, isolate, trace, req).await);
            (out, route_of(config, url), None)
        }
    };
    (out, Some((route, key)))
}
