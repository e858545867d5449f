//! The fast path's I/O in the worker, as `flow::fastpath` asks it through
//! `glue::platform::Edge`: the data centre's shared copy of a log read (one
//! Cache API entry per poll interval, src/glue/js/fastlog.js), and the race
//! of a promise against a give-up time that bounds a read of the writer's
//! log (`glue::writer::read_log`). Nothing is decided here.

use wasm_bindgen::{JsCast, JsValue};

#[wasm_bindgen::prelude::wasm_bindgen(module = "/src/glue/js/fastlog.js")]
extern "C" {
    fn edgecache_fastlog_get(key: &str) -> js_sys::Promise;
    fn edgecache_fastlog_put(key: &str, text: &str, max_age: f64) -> js_sys::Promise;
    fn edgecache_within(promise: &js_sys::Promise, ms: f64) -> js_sys::Promise;
}

/// The text stored under `key` in this data centre's cache, if any.
pub async fn get(key: &str) -> Option<String> {
    call(edgecache_fastlog_get(key)).await.ok()?.as_string()
}

/// Stores `text` under `key` for `max_age` seconds (best effort).
pub async fn put(key: &str, text: &str, max_age: u64) {
    let _ = call(edgecache_fastlog_put(key, text, max_age as f64)).await;
}

/// Races `p` against `ms` (fastlog.js).
pub(crate) async fn within(p: js_sys::Promise, ms: u64) -> Result<JsValue, String> {
    call(edgecache_within(&p, ms as f64)).await.map_err(|e| {
        e.dyn_ref::<js_sys::Error>()
            .map(|e| String::from(e.message()))
            .unwrap_or_else(|| format!("{e:?}"))
    })
}

async fn call(p: js_sys::Promise) -> Result<JsValue, JsValue> {
    wasm_bindgen_futures::JsFuture::from(p).await
}
