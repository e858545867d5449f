//! The `PurgeWriter` Durable Object: the single writer of purge records
//! (`crate::purge::writer` decides; this stores slots and writes KV). One
//! instance (`WRITER_NAME`) for the whole deployment, SQLite-backed.
//!
//! `POST /handoff` with a `Handoff`: 200 once the names are stored (and, for
//! the fast path, logged: `{"logged": bool}`), 503 with `Retry-After` when
//! the writer is full. `GET /log?window_ms=N`: the log of recent purges
//! (`crate::purge::log`). The alarm writes what is due.

use super::convert::now_millis;
use super::log;
use super::platform::Edge;
use crate::flow::marks::write_record;
use crate::http::time::UnixMillis;
use crate::purge::generations::kv_expiration_ttl;
use crate::purge::log::{append, read_plan, Append, LogEntry, LogIndex, LogRead};
use crate::purge::webhook::generation_ttl;
use crate::purge::writer::{
    admit, after_write, flush_plan, next_flush, Admission, FlushWrite, Handoff, Slot, Stored,
    WriteOutcome,
};
use futures_util::future::join_all;
use std::collections::BTreeMap;
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

    async fn fetch(&self, req: Request) -> Result<Response> {
        if req.path() == "/log" {
            return self.read_log(&req).await;
        }
        self.handoff(req).await
    }

    async fn alarm(&self) -> Result<Response> {
        let storage = self.storage();
        let slots = load(&storage).await?;
        let now = now_millis();
        let plan = flush_plan(&slots, now);
        if !plan.forget.is_empty() {
            call(edgecache_writer_forget(&storage, plan.forget.clone())).await?;
        }
        let outcomes = write_all(&self.env, &plan.writes).await;
        // Read the written slots again: a purge may have arrived during the writes.
        let keys: Vec<String> = plan.writes.iter().map(|w| w.key.clone()).collect();
        let again = parse(call(edgecache_writer_load_some(&storage, keys)).await?);
        let done = now_millis();
        let updates: BTreeMap<String, Slot> = plan
            .writes
            .iter()
            .zip(&outcomes)
            .filter_map(|(w, o)| {
                again
                    .get(&w.key)
                    .map(|s| (w.key.clone(), after_write(*s, &w.record, *o, done)))
            })
            .collect();
        store(&storage, &updates).await?;
        let failed = outcomes
            .iter()
            .filter(|o| **o == WriteOutcome::Failed)
            .count();
        log(
            "writer_flush",
            serde_json::json!({ "written": outcomes.len() - failed, "failed": failed }),
        );
        let all = load(&storage).await?;
        if let Some(at) = next_flush(&all, done) {
            schedule(&storage, at).await?;
        }
        Response::ok("flushed")
    }
}

impl PurgeWriter {
    fn storage(&self) -> JsValue {
        AsRef::<JsValue>::as_ref(self.state.storage().as_raw()).clone()
    }

    /// `POST /handoff`: store the purge's slots (and log it), then 200.
    async fn handoff(&self, mut req: Request) -> Result<Response> {
        let text = req.text().await.unwrap_or_default();
        let Ok(handoff) = serde_json::from_str::<Handoff>(&text) else {
            return Response::error("bad handoff", 400);
        };
        let storage = self.storage();
        let now = now_millis();
        if let Some(r) = &handoff.receipt {
            // A redelivered webhook: its first receipt, and nothing done.
            let stored = edgecache_receipt_get(&storage, &r.key, now.0 as f64)?;
            if let Some(text) = stored.as_string() {
                return answer(&Stored::replay(text));
            }
        }
        let slots = load(&storage).await?;
        match admit(&slots, &handoff, now) {
            Admission::Full { retry_after } => {
                log(
                    "writer_full",
                    serde_json::json!({ "names": handoff.keys.len() }),
                );
                let mut r = Response::error("purge writer full", 503)?;
                r.headers_mut()
                    .set("retry-after", &retry_after.to_string())?;
                Ok(r)
            }
            Admission::Accept(updates) => {
                let updates: BTreeMap<String, Slot> = updates.into_iter().collect();
                store(&storage, &updates).await?;
                if let Some(at) = next_flush(&updates, now) {
                    schedule(&storage, at).await?;
                }
                let receipt = handoff.receipt.clone();
                let logged = handoff.log && log_append(&storage, handoff, now).await?;
                let stored = Stored::recorded(logged, receipt.as_ref());
                if let (Some(r), Some(text)) = (&receipt, &stored.receipt) {
                    let until = now.saturating_add(r.ttl_ms).0 as f64;
                    edgecache_receipt_put(&storage, &r.key, until, text, now.0 as f64)?;
                }
                answer(&stored)
            }
        }
    }

    /// `GET /log?window_ms=N`: the log of the last N ms (`purge::log::LogRead`).
    async fn read_log(&self, req: &Request) -> Result<Response> {
        let window = req
            .url()?
            .query_pairs()
            .find(|(k, _)| k == "window_ms")
            .and_then(|(_, v)| v.parse::<u64>().ok())
            .unwrap_or(0);
        let storage = self.storage();
        let index = log_index(&storage).await?;
        let plan = read_plan(&index, window, now_millis());
        let seqs: Vec<f64> = plan.seqs.iter().map(|s| *s as f64).collect();
        let text = call(edgecache_log_entries(&storage, seqs)).await?;
        let entries: Vec<LogEntry> =
            serde_json::from_str(&text.as_string().unwrap_or_default()).unwrap_or_default();
        let read = LogRead {
            head: plan.head,
            first: plan.first,
            complete: plan.complete,
            entries,
        };
        Response::ok(read.to_json())
    }
}

async fn call(p: js_sys::Promise) -> Result<JsValue> {
    Ok(wasm_bindgen_futures::JsFuture::from(p).await?)
}

/// A handoff's 200: the writer's [`Stored`] as JSON.
fn answer(stored: &Stored) -> Result<Response> {
    Response::ok(serde_json::to_string(stored).map_err(|e| Error::RustError(e.to_string()))?)
}

/// The log's index (an empty one before the first purge is logged).
async fn log_index(storage: &JsValue) -> Result<LogIndex> {
    let v = call(edgecache_log_index(storage)).await?;
    Ok(v.as_string()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default())
}

/// Appends `handoff` to the log (`purge::log::append`); whether it was logged.
async fn log_append(storage: &JsValue, handoff: Handoff, now: UnixMillis) -> Result<bool> {
    let index = log_index(storage).await?;
    let Append::Logged { entry, index, drop } = append(
        &index,
        handoff.names,
        handoff.at,
        handoff.soft,
        handoff.nonce,
        now,
    ) else {
        return Ok(false);
    };
    let (index_json, entry_json) = (
        serde_json::to_string(&index).map_err(|e| Error::RustError(e.to_string()))?,
        serde_json::to_string(&entry).map_err(|e| Error::RustError(e.to_string()))?,
    );
    let drop: Vec<f64> = drop.iter().map(|s| *s as f64).collect();
    call(edgecache_log_append(
        storage,
        &index_json,
        entry.seq as f64,
        &entry_json,
        drop,
    ))
    .await?;
    Ok(true)
}

/// `{kvKey: slot}` JSON text from writer.js; a slot that does not parse is dropped.
fn parse(v: JsValue) -> BTreeMap<String, Slot> {
    let text = v.as_string().unwrap_or_default();
    let raw: BTreeMap<String, serde_json::Value> = serde_json::from_str(&text).unwrap_or_default();
    raw.into_iter()
        .filter_map(|(k, v)| serde_json::from_value::<Slot>(v).ok().map(|s| (k, s)))
        .collect()
}

/// Every slot the writer holds, by KV key.
async fn load(storage: &JsValue) -> Result<BTreeMap<String, Slot>> {
    Ok(parse(call(edgecache_writer_load(storage)).await?))
}

async fn store(storage: &JsValue, slots: &BTreeMap<String, Slot>) -> Result<()> {
    if slots.is_empty() {
        return Ok(());
    }
    let json = serde_json::to_string(slots).map_err(|e| Error::RustError(e.to_string()))?;
    call(edgecache_writer_store(storage, &json))
        .await
        .map(|_| ())
}

async fn schedule(storage: &JsValue, at: UnixMillis) -> Result<()> {
    // Unix milliseconds fit an f64 exactly until the year 287396.
    call(edgecache_writer_schedule(storage, at.0 as f64))
        .await
        .map(|_| ())
}

/// Makes every write (reading the value first where it says so); the outcome
/// of each, in order.
async fn write_all(env: &Env, writes: &[FlushWrite]) -> Vec<WriteOutcome> {
    let edge = Edge::new(env.clone(), None);
    let ttl = kv_expiration_ttl(generation_ttl());
    let puts = writes
        .iter()
        .map(|w| write_record(&edge, &w.key, w.record, w.read_first, ttl));
    join_all(puts)
        .await
        .into_iter()
        .map(|r| match r {
            Ok(_) => WriteOutcome::Written,
            Err(e) => {
                log("writer_write_failed", serde_json::json!({ "error": e.0 }));
                WriteOutcome::Failed
            }
        })
        .collect()
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
