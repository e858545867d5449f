//! The `PurgeWriter` Durable Object: the single writer of purge records, one
//! instance (`WRITER_NAME`) for the whole deployment, SQLite-backed. Its
//! sequence is the core's (`flow::writer`: the hand-off, the log read, the
//! alarm's flush to KV and zone purge calls); this file implements
//! `flow::writer::WriterHost` over the object's storage (src/glue/js/writer.js)
//! and Workers KV, and adapts the requests and answers.
//!
//! `POST /handoff` with a `Handoff`; `GET /log?window_ms=N`; the alarm.

use super::convert::now_millis;
use super::platform::Edge;
use super::{log, secret};
use crate::flow::platform::{Fetch, IoError, OriginRequest, Outgoing, Platform};
use crate::flow::writer::{alarm, serve, WriterHost, WriterRequest};
use crate::http::headers::Headers as CoreHeaders;
use crate::http::method::Method;
use crate::http::time::UnixMillis;
use crate::purge::log::{LogEntry, LogIndex};
use crate::purge::writer::{Handoff, Slot, Stored};
use crate::purge::zone_queue::ZoneQueue;
use std::collections::BTreeMap;
use std::time::Duration;
use wasm_bindgen::JsValue;
use worker::*;
/// The binding of the writer's namespace (`[[durable_objects.bindings]]`).
pub const WRITER_BINDING: &str = "EDGECACHE_WRITER";
/// The one writer every data centre hands its purges to.
pub const WRITER_NAME: &str = "purges";

// The JS side: src/glue/js/writer.js (storage in batches, the hand-off).
#[wasm_bindgen::prelude::wasm_bindgen(module = "/src/glue/js/writer.js", js_namespace = edgecache_writer)]
extern "C" {
    fn edgecache_writer_load(storage: &JsValue) -> js_sys::Promise;
    fn edgecache_writer_load_some(storage: &JsValue, keys: Vec<String>) -> js_sys::Promise;
    fn edgecache_writer_store(storage: &JsValue, json: &str) -> js_sys::Promise;
    fn edgecache_writer_forget(storage: &JsValue, keys: Vec<String>) -> js_sys::Promise;
    fn edgecache_writer_schedule(storage: &JsValue, at: f64) -> js_sys::Promise;
    fn edgecache_hand_off(ns: &JsValue, name: &str, body: &str) -> js_sys::Promise;
    fn edgecache_log_index(storage: &JsValue) -> js_sys::Promise;
    fn edgecache_log_append(
        storage: &JsValue,
        index: &str,
        seq: f64,
        entry: &str,
        drop: Vec<f64>,
    ) -> js_sys::Promise;
    fn edgecache_log_entries(storage: &JsValue, seqs: Vec<f64>) -> js_sys::Promise;
    fn edgecache_read_log(ns: &JsValue, name: &str, window_ms: f64) -> js_sys::Promise;
    fn edgecache_zone_load(storage: &JsValue) -> js_sys::Promise;
    fn edgecache_zone_store(storage: &JsValue, json: &str) -> js_sys::Promise;
    #[wasm_bindgen(catch)]
    fn edgecache_receipt_get(
        storage: &JsValue,
        key: &str,
        now: f64,
    ) -> std::result::Result<JsValue, JsValue>;
    #[wasm_bindgen(catch)]
    fn edgecache_receipt_put(
        storage: &JsValue,
        key: &str,
        until: f64,
        body: &str,
        now: f64,
    ) -> std::result::Result<JsValue, JsValue>;
}

#[durable_object(alarm)]
pub struct PurgeWriter {
    state: State,
    env: Env,
}

impl DurableObject for PurgeWriter {
    fn new(state: State, env: Env) -> Self {
        PurgeWriter { state, env }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let host = self.host();
        let reply = if req.path() == "/log" {
            let window_ms = req
                .url()?
                .query_pairs()
                .find(|(k, _)| k == "window_ms")
                .and_then(|(_, v)| v.parse::<u64>().ok());
            serve(&host, WriterRequest::Log { window_ms }).await
        } else {
            let text = req.text().await.unwrap_or_default();
            serve(&host, WriterRequest::Handoff(&text)).await
        };
        let reply = reply.map_err(|e| Error::RustError(e.0))?;
        super::body::reply(reply).map(Response::from)
    }

    async fn alarm(&self) -> Result<Response> {
        alarm(&self.host())
            .await
            .map_err(|e| Error::RustError(e.0))?;
        Response::ok("flushed")
    }
}

impl PurgeWriter {
    fn host(&self) -> Host {
        Host {
            storage: AsRef::<JsValue>::as_ref(self.state.storage().as_raw()).clone(),
            edge: Edge::new(self.env.clone(), None),
            token: secret(&self.env, "EDGECACHE_ZONE_TOKEN"),
        }
    }
}

/// [`WriterHost`] over the object's storage, KV and `fetch`.
struct Host {
    storage: JsValue,
    edge: Edge,
    token: Option<String>,
}

async fn call(p: js_sys::Promise) -> std::result::Result<JsValue, IoError> {
    wasm_bindgen_futures::JsFuture::from(p)
        .await
        .map_err(|e| IoError(format!("{e:?}")))
}

fn to_json<T: serde::Serialize>(v: &T) -> std::result::Result<String, IoError> {
    serde_json::to_string(v).map_err(|e| IoError(e.to_string()))
}

/// `{kvKey: slot}` JSON text from writer.js; a slot that does not parse is dropped.
fn parse(v: JsValue) -> BTreeMap<String, Slot> {
    let text = v.as_string().unwrap_or_default();
    let raw: BTreeMap<String, serde_json::Value> = serde_json::from_str(&text).unwrap_or_default();
    raw.into_iter()
        .filter_map(|(k, v)| serde_json::from_value::<Slot>(v).ok().map(|s| (k, s)))
        .collect()
}

// Unix milliseconds and sequence numbers fit an f64 exactly (below 2^53).
fn f64s(seqs: &[u64]) -> Vec<f64> {
    seqs.iter().map(|s| *s as f64).collect()
}

impl WriterHost for Host {
    fn now(&self) -> UnixMillis {
        now_millis()
    }

    fn log(&self, event: &str, fields: serde_json::Value) {
        log(event, fields);
    }

    async fn load(&self) -> std::result::Result<BTreeMap<String, Slot>, IoError> {
        Ok(parse(call(edgecache_writer_load(&self.storage)).await?))
    }

    async fn load_some(
        &self,
        keys: &[String],
    ) -> std::result::Result<BTreeMap<String, Slot>, IoError> {
        let p = edgecache_writer_load_some(&self.storage, keys.to_vec());
        Ok(parse(call(p).await?))
    }

    async fn store(&self, slots: &BTreeMap<String, Slot>) -> std::result::Result<(), IoError> {
        if slots.is_empty() {
            return Ok(());
        }
        let p = edgecache_writer_store(&self.storage, &to_json(slots)?);
        call(p).await.map(|_| ())
    }

    async fn forget(&self, keys: &[String]) -> std::result::Result<(), IoError> {
        let p = edgecache_writer_forget(&self.storage, keys.to_vec());
        call(p).await.map(|_| ())
    }

    async fn schedule(&self, at: UnixMillis) -> std::result::Result<(), IoError> {
        let p = edgecache_writer_schedule(&self.storage, at.0 as f64);
        call(p).await.map(|_| ())
    }

    async fn log_index(&self) -> std::result::Result<LogIndex, IoError> {
        let v = call(edgecache_log_index(&self.storage)).await?;
        Ok(v.as_string()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default())
    }

    async fn log_append(
        &self,
        index: &LogIndex,
        entry: &LogEntry,
        drop: &[u64],
    ) -> std::result::Result<(), IoError> {
        let (index, text) = (to_json(index)?, to_json(entry)?);
        let p = edgecache_log_append(&self.storage, &index, entry.seq as f64, &text, f64s(drop));
        call(p).await.map(|_| ())
    }

    async fn log_entries(&self, seqs: &[u64]) -> std::result::Result<Vec<LogEntry>, IoError> {
        let text = call(edgecache_log_entries(&self.storage, f64s(seqs))).await?;
        Ok(serde_json::from_str(&text.as_string().unwrap_or_default()).unwrap_or_default())
    }

    async fn receipt_get(
        &self,
        key: &str,
        now: UnixMillis,
    ) -> std::result::Result<Option<String>, IoError> {
        let v = edgecache_receipt_get(&self.storage, key, now.0 as f64)
            .map_err(|e| IoError(format!("{e:?}")))?;
        Ok(v.as_string())
    }

    async fn receipt_put(
        &self,
        key: &str,
        until: UnixMillis,
        body: &str,
        now: UnixMillis,
    ) -> std::result::Result<(), IoError> {
        edgecache_receipt_put(&self.storage, key, until.0 as f64, body, now.0 as f64)
            .map(|_| ())
            .map_err(|e| IoError(format!("{e:?}")))
    }

    async fn kv_get(&self, key: &str) -> std::result::Result<Option<String>, IoError> {
        self.edge.kv_get(key).await
    }

    async fn kv_put(&self, key: &str, value: &str, ttl: u64) -> std::result::Result<(), IoError> {
        self.edge.kv_put(key, value, ttl).await
    }

    async fn zone_load(&self) -> std::result::Result<Option<ZoneQueue>, IoError> {
        let v = call(edgecache_zone_load(&self.storage)).await?;
        Ok(v.as_string().and_then(|t| serde_json::from_str(&t).ok()))
    }

    async fn zone_store(&self, queue: &ZoneQueue) -> std::result::Result<(), IoError> {
        let p = edgecache_zone_store(&self.storage, &to_json(queue)?);
        call(p).await.map(|_| ())
    }

    fn zone_token(&self) -> Option<String> {
        self.token.clone()
    }

    async fn api_post(
        &self,
        url: &str,
        headers: &CoreHeaders,
        body: &str,
        timeout: Duration,
    ) -> std::result::Result<(u16, CoreHeaders), IoError> {
        let req = OriginRequest {
            url,
            method: &Method::Post,
            headers,
            body: Some(Outgoing::Text(body.to_string())),
            timeout,
        };
        match self.edge.fetch(req).await {
            Fetch::Answered(a) => Ok((a.status, a.headers)),
            Fetch::Failed { why, .. } => Err(IoError(why)),
        }
    }
}

/// Hands a purge to the writer; `Err` (with the reason) unless it stored
/// them; `Ok` says whether it went into the fast path's log too.
pub async fn hand_off(
    ns: &ObjectNamespace,
    handoff: &Handoff,
) -> std::result::Result<Stored, String> {
    let body = serde_json::to_string(handoff).map_err(|e| e.to_string())?;
    let answer = call(edgecache_hand_off(ns.as_ref(), WRITER_NAME, &body))
        .await
        .map_err(|e| e.to_string())?;
    let pair = js_sys::Array::from(&answer);
    let text = pair.get(1).as_string().unwrap_or_default();
    match pair.get(0).as_f64() {
        // A writer of an earlier release answers "stored": not logged.
        Some(200.0) => Ok(serde_json::from_str(&text).unwrap_or(Stored {
            logged: false,
            replayed: false,
            receipt: None,
        })),
        Some(s) => Err(format!("purge writer answered {s}")),
        None => Err("purge writer gave no status".to_string()),
    }
}

/// Reads the log of the last `window_ms` from the writer (`GET /log`),
/// within `timeout_ms`: its text, or why not.
pub async fn read_log(
    ns: &ObjectNamespace,
    window_ms: u64,
    timeout_ms: u64,
) -> std::result::Result<String, String> {
    let p = edgecache_read_log(ns.as_ref(), WRITER_NAME, window_ms as f64);
    let text = super::fastlog::within(p, timeout_ms).await?;
    text.as_string()
        .ok_or_else(|| "purge writer gave no text".to_string())
}
