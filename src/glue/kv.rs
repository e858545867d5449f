//! Writes to the KV namespace of purge records and receipts, in one
//! boundary call each (src/glue/js/kv.js).

use wasm_bindgen::{JsCast, JsValue};
use worker::Env;

pub const BINDING: &str = "EDGECACHE_KV";

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
