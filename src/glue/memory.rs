//! The memory tier's I/O (see `crate::flow::memory`): serving a memory hit, keeping
//! copies of what is stored in or served from the Cache API.

use super::body::{read_whole, respond_blob, Whole};
use super::convert::now_secs;
use super::{kv, State};
use crate::flow::memory::MemEntry;
use crate::flow::{self, Lookup, StoredDecision};
use crate::http::cache_status::Detail;
use crate::http::headers::Headers as CoreHeaders;
use crate::http::time::UnixSecs;
use crate::response::delivery::deliver;
use wasm_bindgen::JsValue;
use worker::{Context, Env, Response, Result};

/// The memory tier as the glue holds it: bodies are JS `Blob`s.
pub type Tier = crate::flow::memory::MemoryTier<JsValue>;

/// Serves `lk` from memory when the entry there is current and fresh (the
/// same `flow::on_stored` decision as a Cache API hit). Anything else drops
/// the memory entry and returns `None`: the Cache API path decides. `detail`
/// replaces `memory` in `Cache-Status` (a collapsed follower's hit).
pub async fn serve(
    env: &Env,
    state: &State,
    req_headers: &CoreHeaders,
    lk: &Lookup<'_>,
    now: UnixSecs,
    detail: Option<Detail>,
) -> Option<Result<worker::web_sys::Response>> {
    let found = state.memory.borrow_mut().get(lk.key.url(), now)?;
    let names = lk.names(&found.entry.stamp);
    let gens = kv::read(env, state, &names, now).await;
    match flow::on_stored(&state.config, lk, &found.entry, &found.headers, &gens, now) {
        StoredDecision::Serve {
            status,
            mut headers,
            cache_status,
            revalidate: false,
        } => {
            headers.append(
                "cache-status",
                &cache_status
                    .detail(detail.unwrap_or(Detail::Memory))
                    .to_string(),
            );
            let delivery = deliver(lk.route(), &lk.method, req_headers, status, headers);
            Some(respond_blob(&found.body, delivery))
        }
        _ => {
            state.memory.borrow_mut().remove(lk.key.url());
            None
        }
    }
}

/// Keeps a body read whole under `key`, with the stored `headers` (the Cache
/// API's copy): called once the copy is known complete.
pub fn keep(key: String, base_url: String, headers: CoreHeaders, body: Whole) {
    let Some(state) = super::current_state() else {
        return;
    };
    let Ok(state) = state.as_ref() else { return };
    let Some(entry) = MemEntry::new(base_url, headers, body.blob, body.size) else {
        return;
    };
    state.memory.borrow_mut().insert(key, entry, now_secs());
}

/// After a Cache API hit on an entry the tier can hold: reads a copy of its
/// body in the background (a tee of `resp`) and keeps it, so the next hit in
/// this isolate skips the Cache API.
pub fn promote(
    ctx: &Context,
    state: &State,
    resp: &mut Response,
    lk: &Lookup<'_>,
    stored: &CoreHeaders,
) -> Result<()> {
    let length = stored.content_length();
    if !state.memory.borrow().admits(length.unwrap_or(0)) {
        return Ok(());
    }
    let limit = state.config.memory.max_entry_bytes;
    let copy = resp.cloned()?;
    let (key, base_url, stored) = (
        lk.key.url().to_string(),
        lk.key.base_url().to_string(),
        stored.clone(),
    );
    ctx.wait_until(async move {
        if let Ok(Some(body)) = read_whole(copy, length, limit).await {
            keep(key, base_url, stored, body);
        }
    });
    Ok(())
}
