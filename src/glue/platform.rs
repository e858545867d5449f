//! [`Platform`] over workers-rs: the Cache API, Workers KV, the purge writer
//! (a Durable Object), `fetch`, `Date.now()`, timers and `ctx.waitUntil`.
//! Each method only adapts types; what the core asks is done as asked.

use super::body::{guard, read_upto, read_whole, stream_of};
use super::bucket::{fetch_bucket, Buckets};
use super::convert::{from_flat, local, now_millis, rebuild, response_with, to_core, to_worker};
use super::kv::{put as kv_put, BINDING as KV_BINDING};
use super::writer::{hand_off, read_log, WRITER_BINDING};
use crate::flow::fetched::{relayable, FetchError};
use crate::flow::platform::{
    Answer, Background, BucketTarget, Completion, Fetch, IoError, Matched, OriginRequest, Outgoing,
    Platform, Source,
};
use crate::http::headers::Headers;
use crate::http::time::UnixMillis;
use crate::purge::writer::{Handoff, Stored};
use std::cell::OnceCell;
use std::rc::Rc;
use std::time::Duration;
use wasm_bindgen::prelude::*;
use worker::{Cache, CacheDeletionOutcome, Context, Env, Response};

#[wasm_bindgen(module = "/src/glue/js/cache.js")]
extern "C" {
    fn edgecache_match(key: &str) -> js_sys::Promise;
}

// `fetch` with manual redirects and a timeout: src/glue/js/fetch.js.
#[wasm_bindgen(module = "/src/glue/js/fetch.js")]
extern "C" {
    fn edgecache_fetch(
        url: &str,
        method: &str,
        headers: &worker::web_sys::Headers,
        body: &JsValue,
        timeout_ms: f64,
    ) -> js_sys::Promise;
}

/// The edge: one per request (or per Durable Object call, without a
/// request context). Cheap to clone.
#[derive(Clone)]
pub struct Edge {
    env: Env,
    /// `None` in the purge writer (no request context): background work is
    /// spawned on the event loop.
    ctx: Option<Rc<Context>>,
    kv: Rc<OnceCell<Option<worker::kv::KvStore>>>,
    /// The isolate's bucket credentials and bindings (none in the writer).
    buckets: Rc<Buckets>,
}

impl Edge {
    pub fn new(env: Env, ctx: Option<Context>) -> Edge {
        Edge {
            env,
            ctx: ctx.map(Rc::new),
            kv: Rc::new(OnceCell::new()),
            buckets: Rc::new(Buckets::default()),
        }
    }

    /// This edge with the isolate's bucket origins.
    pub fn with_buckets(mut self, buckets: &Rc<Buckets>) -> Edge {
        self.buckets = buckets.clone();
        self
    }

    fn kv(&self) -> Result<&worker::kv::KvStore, IoError> {
        self.kv
            .get_or_init(|| self.env.kv(KV_BINDING).ok())
            .as_ref()
            .ok_or_else(|| IoError(format!("KV binding {KV_BINDING} missing")))
    }
}

fn io(e: impl std::fmt::Display) -> IoError {
    IoError(e.to_string())
}

impl Platform for Edge {
    type Body = Response;
    type Whole = JsValue;

    fn now(&self) -> UnixMillis {
        now_millis()
    }

    async fn sleep(&self, ms: u64) {
        worker::Delay::from(Duration::from_millis(ms)).await;
    }

    fn wait_until(&self, work: Background) {
        match &self.ctx {
            Some(ctx) => ctx.wait_until(work),
            None => wasm_bindgen_futures::spawn_local(work),
        }
    }

    fn nonce(&self) -> u64 {
        super::convert::nonce()
    }

    fn random(&self) -> f64 {
        js_sys::Math::random()
    }

    fn log(&self, event: &str, fields: serde_json::Value) {
        super::log(event, fields);
    }

    /// The entry and its header list in one boundary call (src/glue/js/cache.js).
    async fn cache_match(&self, key: &str) -> Option<Matched<Response>> {
        let found = wasm_bindgen_futures::JsFuture::from(edgecache_match(key))
            .await
            .ok()?;
        if found.is_null() || found.is_undefined() {
            return None;
        }
        let pair = js_sys::Array::from(&found);
        let body = Response::from(worker::web_sys::Response::from(pair.get(0)));
        let headers = from_flat(&pair.get(1).as_string()?);
        Some(Matched { headers, body })
    }

    async fn cache_put(
        &self,
        key: &str,
        status: u16,
        headers: &Headers,
        body: Source<Response, JsValue>,
    ) -> Result<(), IoError> {
        let stored = match body {
            Source::Stream(r) => rebuild(r, status, headers),
            Source::Whole(blob) => response_with(&blob, status, headers).map(Response::from),
            Source::Bytes(b) => local(status, headers, Some(b)),
        }
        .map_err(io)?;
        Cache::default().put(key, stored).await.map_err(io)
    }

    async fn cache_delete(&self, key: &str) -> bool {
        matches!(
            Cache::default().delete(key, false).await,
            Ok(CacheDeletionOutcome::Success)
        )
    }

    async fn kv_get(&self, key: &str) -> Result<Option<String>, IoError> {
        self.kv()?.get(key).text().await.map_err(io)
    }

    async fn kv_put(&self, key: &str, value: &str, ttl: u64) -> Result<(), IoError> {
        kv_put(&self.env, key, value, ttl).await.map_err(IoError)
    }

    fn has_writer(&self) -> bool {
        self.env.durable_object(WRITER_BINDING).is_ok()
    }

    async fn hand_off(&self, handoff: &Handoff) -> Result<Stored, IoError> {
        let ns = self.env.durable_object(WRITER_BINDING).map_err(io)?;
        hand_off(&ns, handoff).await.map_err(IoError)
    }

    async fn log_copy(&self, key: &str) -> Option<String> {
        super::fastlog::get(key).await
    }

    async fn put_log_copy(&self, key: &str, text: &str, max_age: u64) {
        super::fastlog::put(key, text, max_age).await;
    }

    async fn read_log(&self, window_ms: u64, give_up_ms: u64) -> Result<String, IoError> {
        let ns = self.env.durable_object(WRITER_BINDING).map_err(io)?;
        read_log(&ns, window_ms, give_up_ms).await.map_err(IoError)
    }

    async fn fetch(&self, req: OriginRequest<'_, Response>) -> Fetch<Response> {
        let unreachable = |why: String| Fetch::Failed {
            error: FetchError::Unreachable,
            why,
        };
        let headers = match to_worker(req.headers) {
            Ok(h) => h,
            Err(e) => return unreachable(format!("bad header: {e}")),
        };
        let body = match req.body {
            Some(Outgoing::Stream(r)) => stream_of(r).map_or(JsValue::NULL, JsValue::from),
            Some(Outgoing::Text(t)) => JsValue::from(t),
            None => JsValue::NULL,
        };
        let promise = edgecache_fetch(
            req.url,
            req.method.as_str(),
            &headers.0,
            &body,
            req.timeout.as_millis() as f64,
        );
        match wasm_bindgen_futures::JsFuture::from(promise).await {
            Ok(v) if v.is_null() => Fetch::Failed {
                error: FetchError::TimedOut,
                why: "timeout".to_string(),
            },
            Ok(v) => match v.as_string() {
                Some(why) => unreachable(why),
                None => answer(Response::from(worker::web_sys::Response::from(v))),
            },
            Err(e) => unreachable(format!("{e:?}")),
        }
    }

    async fn fetch_bucket(
        &self,
        target: &BucketTarget<'_>,
        validators: &Headers,
        timeout: Duration,
    ) -> Fetch<Response> {
        fetch_bucket(self, &self.buckets, target, validators, timeout).await
    }

    fn tee(&self, body: &mut Response) -> Result<Response, IoError> {
        body.cloned().map_err(io)
    }

    async fn read_whole(
        &self,
        body: Response,
        expected: Option<u64>,
        limit: u64,
    ) -> Result<Option<(JsValue, u64)>, IoError> {
        let whole = read_whole(body, expected, limit).await.map_err(io)?;
        Ok(whole.map(|w| (w.blob, w.size)))
    }

    async fn read_upto(&self, body: Response, limit: usize) -> Option<Vec<u8>> {
        read_upto(stream_of(body), limit).await.ok().flatten()
    }

    fn guard(&self, body: Response, expected: Option<u64>) -> (Response, Option<Completion>) {
        let (body, ok) = guard(body, expected);
        let done = ok.map(|p| -> Completion {
            Box::pin(async move {
                match wasm_bindgen_futures::JsFuture::from(p).await {
                    Ok(v) => v.as_bool(),
                    Err(_) => None,
                }
            })
        });
        (body, done)
    }
}

/// An origin's response as the core reads it; a status that cannot be
/// relayed is no answer.
pub fn answer(resp: Response) -> Fetch<Response> {
    match resp.status_code() {
        s if relayable(s) => Fetch::Answered(Answer {
            status: s,
            headers: to_core(resp.headers()),
            body: resp,
        }),
        s => Fetch::Failed {
            error: FetchError::InvalidStatus,
            why: format!("status {s}"),
        },
    }
}
