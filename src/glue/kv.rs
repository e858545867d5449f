//! Generation values in Workers KV, behind the isolate memo.

use super::State;
use crate::http::time::{UnixMillis, UnixSecs};
use crate::purge::generations::{encode_value, kv_expiration_ttl, Gen, GenName, Generations};
use futures_util::future::join_all;
use wasm_bindgen::{JsCast, JsValue};
use worker::Env;

pub const BINDING: &str = "EDGECACHE_KV";

/// Reads the generations of `names`: memo first, then KV for the rest. A read
/// that fails is `Gen::Unreadable` (never memoized), which the core treats as
/// "cannot prove current".
pub async fn read(env: &Env, state: &State, names: &[GenName], now: UnixSecs) -> Generations {
    let (mut current, missing) = crate::purge::memo::plan_reads(names, &state.memo.borrow(), now);
    if missing.is_empty() {
        return current;
    }
    let Ok(kv) = env.kv(BINDING) else {
        for n in missing {
            current.insert(n, Gen::Unreadable);
        }
        return current;
    };
    let reads = missing.iter().map(|n| {
        let kv = &kv;
        async move { kv.get(&n.kv_key()).text().await }
    });
    let results = join_all(reads).await;
    let mut memo = state.memo.borrow_mut();
    for (name, result) in missing.into_iter().zip(results) {
        let g = match result {
            Ok(v) => Gen::from_kv(v.as_deref()),
            Err(_) => Gen::Unreadable,
        };
        if g != Gen::Unreadable {
            memo.put(name.clone(), g, now);
        }
        current.insert(name, g);
    }
    current
}

/// Writes `purged_at_ms` for every name; returns how many writes succeeded.
/// The local memo is updated at once so this isolate stops serving at once.
pub async fn bump(
    env: &Env,
    state: &State,
    names: &[GenName],
    purged_at_ms: UnixMillis,
    ttl: u64,
    now: UnixSecs,
) -> Result<usize, String> {
    let value = encode_value(purged_at_ms);
    let ttl = kv_expiration_ttl(ttl);
    let writes = names.iter().map(|n| {
        let value = &value;
        async move { put(env, &n.kv_key(), value, ttl).await }
    });
    let results = join_all(writes).await;
    let mut memo = state.memo.borrow_mut();
    let mut ok = 0;
    let mut first_err = None;
    for (name, r) in names.iter().zip(results) {
        match r {
            Ok(()) => {
                ok += 1;
                memo.put(name.clone(), Gen::PurgedAt(purged_at_ms), now);
            }
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    match first_err {
        None => Ok(ok),
        Some(e) => Err(format!(
            "{ok}/{} generation writes succeeded: {e}",
            names.len()
        )),
    }
}

#[wasm_bindgen::prelude::wasm_bindgen(module = "/src/glue/js/kv.js")]
extern "C" {
    #[wasm_bindgen(catch)]
    fn edgecache_kv_put(
        env: &JsValue,
        binding: &str,
        key: &str,
        value: &str,
        ttl: f64,
    ) -> Result<js_sys::Promise, JsValue>;
}

/// Writes `value` under `key` in the generations' KV namespace, kept for
/// `ttl` seconds (at least KV's minimum: callers pass `kv_expiration_ttl`).
pub async fn put(env: &Env, key: &str, value: &str, ttl: u64) -> Result<(), String> {
    let promise = edgecache_kv_put(env, BINDING, key, value, ttl as f64).map_err(js_error)?;
    wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .map(|_| ())
        .map_err(js_error)
}

/// A thrown JS value as text (an `Error`'s message, else its string form).
fn js_error(e: JsValue) -> String {
    match e.dyn_ref::<js_sys::Error>() {
        Some(err) => String::from(err.message()),
        None => e.as_string().unwrap_or_else(|| "KV write failed".into()),
    }
}
