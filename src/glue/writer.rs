//! The `PurgeWriter` Durable Object: the single writer of purge records
//! (`crate::purge::writer` decides; this stores slots and writes KV). One
//! instance (`WRITER_NAME`) for the whole deployment, SQLite-backed.
//!
//! `POST /handoff` with a `Handoff`: 200 once the names are stored, 503 with
//! `Retry-After` when the writer is full. The alarm writes what is due.

use super::convert::now_millis;
use super::kv::BINDING as KV_BINDING;
use super::log;
use crate::purge::generations::{encode_value, kv_expiration_ttl};
use crate::purge::webhook::generation_ttl;
use crate::purge::writer::{
    admit, after_write, flush_plan, next_flush, Admission, Handoff, Slot, WriteOutcome,
};
use futures_util::future::join_all;
use std::collections::BTreeMap;
use worker::*;

/// The binding of the writer's namespace (`[[durable_objects.bindings]]`).
pub const WRITER_BINDING: &str = "EDGECACHE_WRITER";
/// The one writer every data centre hands its purges to.
pub const WRITER_NAME: &str = "purges";
/// Storage keys of slots: this prefix and the KV key.
const SLOT_PREFIX: &str = "s:";

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
        let Ok(handoff) = req.json::<Handoff>().await else {
            return Response::error("bad handoff", 400);
        };
        let storage = self.state.storage();
        let slots = load_slots(&storage).await?;
        match admit(&slots, &handoff, now_millis()) {
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
                store_slots(&storage, &updates).await?;
                if storage.get_alarm().await?.is_none() {
                    storage.set_alarm(0).await?;
                }
                Response::ok("stored")
            }
        }
    }

    async fn alarm(&self) -> Result<Response> {
        let storage = self.state.storage();
        let slots = load_slots(&storage).await?;
        let now = now_millis();
        let plan = flush_plan(&slots, now);
        if !plan.forget.is_empty() {
            let keys: Vec<String> = plan.forget.iter().map(|k| slot_key(k)).collect();
            storage.delete_multiple(keys).await?;
        }
        let outcomes = write_all(&self.env, &plan.writes).await;
        // Read the written slots again: a purge may have arrived during the writes.
        let again = load_some(&storage, plan.writes.iter().map(|(k, _)| k)).await?;
        let done = now_millis();
        let updates: Vec<(String, Slot)> = plan
            .writes
            .iter()
            .zip(&outcomes)
            .filter_map(|((k, v), o)| {
                again
                    .get(k)
                    .map(|s| (k.clone(), after_write(*s, *v, *o, done)))
            })
            .collect();
        store_slots(&storage, &updates).await?;
        let failed = outcomes
            .iter()
            .filter(|o| **o == WriteOutcome::Failed)
            .count();
        log(
            "writer_flush",
            serde_json::json!({ "written": outcomes.len() - failed, "failed": failed }),
        );
        let all = load_slots(&storage).await?;
        if let Some(at) = next_flush(&all, done) {
            let offset = i64::try_from(at.saturating_sub(done)).unwrap_or(i64::MAX);
            storage.set_alarm(offset).await?;
        }
        Response::ok("flushed")
    }
}

fn slot_key(kv_key: &str) -> String {
    format!("{SLOT_PREFIX}{kv_key}")
}

/// Every slot the writer holds, by KV key.
async fn load_slots(storage: &Storage) -> Result<BTreeMap<String, Slot>> {
    let map = storage
        .list_with_options(ListOptions::new().prefix(SLOT_PREFIX))
        .await?;
    Ok(slots_of(&map))
}

async fn load_some<'a>(
    storage: &Storage,
    keys: impl Iterator<Item = &'a String>,
) -> Result<BTreeMap<String, Slot>> {
    let keys: Vec<String> = keys.map(|k| slot_key(k)).collect();
    if keys.is_empty() {
        return Ok(BTreeMap::new());
    }
    Ok(slots_of(&storage.get_multiple(keys).await?))
}

fn slots_of(map: &js_sys::Map) -> BTreeMap<String, Slot> {
    let mut out = BTreeMap::new();
    map.for_each(&mut |value, key| {
        let key = key.as_string().unwrap_or_default();
        let slot = value
            .as_string()
            .and_then(|v| serde_json::from_str::<Slot>(&v).ok());
        if let (Some(k), Some(slot)) = (key.strip_prefix(SLOT_PREFIX), slot) {
            out.insert(k.to_string(), slot);
        }
    });
    out
}

async fn store_slots(storage: &Storage, updates: &[(String, Slot)]) -> Result<()> {
    if updates.is_empty() {
        return Ok(());
    }
    // Slots are stored as JSON text, one storage key each.
    let obj = js_sys::Object::new();
    for (k, slot) in updates {
        let json = serde_json::to_string(slot).map_err(|e| Error::RustError(e.to_string()))?;
        js_sys::Reflect::set(
            &obj,
            &wasm_bindgen::JsValue::from_str(&slot_key(k)),
            &wasm_bindgen::JsValue::from_str(&json),
        )?;
    }
    storage.put_multiple_raw(obj).await
}

/// Writes every `(key, purge time)`; the outcome of each, in order.
async fn write_all(
    env: &Env,
    writes: &[(String, crate::http::time::UnixMillis)],
) -> Vec<WriteOutcome> {
    let Ok(kv) = env.kv(KV_BINDING) else {
        return vec![WriteOutcome::Failed; writes.len()];
    };
    let ttl = kv_expiration_ttl(generation_ttl());
    let puts = writes.iter().map(|(key, at)| {
        let kv = &kv;
        async move {
            let put = kv.put(key, encode_value(*at)).map_err(|e| e.to_string());
            match put {
                Ok(p) => p
                    .expiration_ttl(ttl)
                    .execute()
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e),
            }
        }
    });
    join_all(puts)
        .await
        .into_iter()
        .map(|r| match r {
            Ok(()) => WriteOutcome::Written,
            Err(e) => {
                log("writer_write_failed", serde_json::json!({ "error": e }));
                WriteOutcome::Failed
            }
        })
        .collect()
}

/// Hands a purge to the writer; `Err` (with the reason) unless it stored them.
pub async fn hand_off(ns: &ObjectNamespace, handoff: &Handoff) -> std::result::Result<(), String> {
    let stub = ns
        .id_from_name(WRITER_NAME)
        .and_then(|id| id.get_stub())
        .map_err(|e| e.to_string())?;
    let body = serde_json::to_string(handoff).map_err(|e| e.to_string())?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_body(Some(wasm_bindgen::JsValue::from_str(&body)));
    let req = Request::new_with_init("https://writer/handoff", &init).map_err(|e| e.to_string())?;
    let resp = stub
        .fetch_with_request(req)
        .await
        .map_err(|e| e.to_string())?;
    match resp.status_code() {
        200 => Ok(()),
        s => Err(format!("purge writer answered {s}")),
    }
}
