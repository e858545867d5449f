//! The `PurgeWriter` Durable Object: the single writer of purge records
//! (`crate::purge::writer` decides; this stores slots and writes KV). One
//! instance (`WRITER_NAME`) for the whole deployment, SQLite-backed.
//!
//! `POST /handoff` with a `Handoff`: 200 once the names are stored, 503 with
//! `Retry-After` when the writer is full. The alarm writes what is due.

use super::convert::now_millis;
use super::log;
use super::platform::Edge;
use crate::flow::marks::write_record;
use crate::flow::reply::{handoff_reply, HandoffAnswer};
use crate::http::time::UnixMillis;
use crate::purge::generations::kv_expiration_ttl;
use crate::purge::webhook::generation_ttl;
use crate::purge::writer::{
    admit, after_write, flush_plan, next_flush, Admission, FlushWrite, Handoff, Slot, WriteOutcome,
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
        let text = req.text().await.unwrap_or_default();
        let Ok(handoff) = serde_json::from_str::<Handoff>(&text) else {
            return answer(HandoffAnswer::Unreadable);
        };
        let storage = self.storage();
        let slots = load(&storage).await?;
        let now = now_millis();
        match admit(&slots, &handoff, now) {
            Admission::Full { retry_after } => {
                log(
                    "writer_full",
                    serde_json::json!({ "names": handoff.keys.len() }),
                );
                answer(HandoffAnswer::Full { retry_after })
            }
            Admission::Accept(updates) => {
                let updates: BTreeMap<String, Slot> = updates.into_iter().collect();
                store(&storage, &updates).await?;
                if let Some(at) = next_flush(&updates, now) {
                    schedule(&storage, at).await?;
                }
                answer(HandoffAnswer::Stored)
            }
        }
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

/// The writer's reply to a hand-off, as the core words it.
fn answer(a: HandoffAnswer) -> Result<Response> {
    super::body::reply(handoff_reply(a)).map(Response::from)
}

impl PurgeWriter {
    fn storage(&self) -> JsValue {
        AsRef::<JsValue>::as_ref(self.state.storage().as_raw()).clone()
    }
}

async fn call(p: js_sys::Promise) -> Result<JsValue> {
    Ok(wasm_bindgen_futures::JsFuture::from(p).await?)
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

/// Hands a purge to the writer; `Err` (with the reason) unless it stored them.
pub async fn hand_off(ns: &ObjectNamespace, handoff: &Handoff) -> std::result::Result<(), String> {
    let body = serde_json::to_string(handoff).map_err(|e| e.to_string())?;
    let status = call(edgecache_hand_off(ns.as_ref(), WRITER_NAME, &body))
        .await
        .map_err(|e| e.to_string())?;
    match status.as_f64() {
        Some(200.0) => Ok(()),
        Some(s) => Err(format!("purge writer answered {s}")),
        None => Err("purge writer gave no status".to_string()),
    }
}
