//! Generation values in Workers KV, behind the isolate memo.

use super::State;
use crate::http::time::{UnixMillis, UnixSecs};
use crate::purge::generations::{
    kv_expiration_ttl, Gen, GenName, Generations, PurgeKind, PurgeRecord,
};
use crate::purge::record::merge_over;
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
        // The memo keeps a purge this isolate received over an older KV value.
        let g = memo.put(name.clone(), g, now);
        current.insert(name, g);
    }
    current
}

/// Writes a purge of `kind` at `purged_at_ms` for every name, with `nonce`
/// (fresh for this purge); returns how many writes succeeded. A hard purge
/// writes blind; a soft one reads each value first and writes the merge
/// ([`write_record`]). The local memo is updated at once so
/// this isolate acts on it at once.
#[allow(clippy::too_many_arguments)]
pub async fn bump(
    env: &Env,
    state: &State,
    names: &[GenName],
    kind: PurgeKind,
    purged_at_ms: UnixMillis,
    nonce: u64,
    ttl: u64,
    now: UnixSecs,
) -> Result<usize, String> {
    let kv = env.kv(BINDING).map_err(|e| e.to_string())?;
    let ttl = kv_expiration_ttl(ttl);
    let record = PurgeRecord::new(kind, purged_at_ms).with_nonce(nonce);
    let writes = names.iter().map(|n| {
        let kv = &kv;
        async move { write_record(env, kv, &n.kv_key(), record, record.reads_first(), ttl).await }
    });
    let results = join_all(writes).await;
    let mut ok = 0;
    let mut first_err = None;
    let mut written = Vec::with_capacity(names.len());
    for (name, r) in names.iter().zip(results) {
        match r {
            Ok(value) => {
                ok += 1;
                written.push((name.clone(), value));
            }
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    // The value each name now has (merged with what was read, for a soft purge).
    let mut memo = state.memo.borrow_mut();
    for (name, value) in written {
        memo.put_written(name, Gen::from_kv(Some(&value)), now);
    }
    drop(memo);
    match first_err {
        None => Ok(ok),
        Some(e) => Err(format!(
            "{ok}/{} generation writes succeeded: {e}",
            names.len()
        )),
    }
}

/// The values of `names` the memo holds now, without reading KV: what a miss
/// with no stored entry knows before its fetch (`flow::FetchStart::seen`).
pub fn memo_only(state: &State, names: &[GenName], now: UnixSecs) -> Generations {
    crate::purge::memo::plan_reads(names, &state.memo.borrow(), now).0
}

/// Puts a purge (`record`, with its nonce) of `names` into this isolate's
/// memo, so it stops serving what the purge covers at once, before KV has it.
pub fn remember(state: &State, names: &[GenName], record: PurgeRecord, now: UnixSecs) {
    let mut memo = state.memo.borrow_mut();
    for name in names {
        memo.put_written(name.clone(), Gen::Purged(record), now);
    }
}

/// Writes `record` (purges not yet written, with a fresh nonce) under `key`,
/// for `ttl` seconds: with `read_first` ([`PurgeRecord::reads_first`]) it reads
/// the value there first and writes the merge (`purge::record::merge_over`);
/// else it writes blind. The value written. The direct purge path and the purge
/// writer's flush both write through here.
pub async fn write_record(
    env: &Env,
    kv: &worker::kv::KvStore,
    key: &str,
    record: PurgeRecord,
    read_first: bool,
    ttl: u64,
) -> Result<String, String> {
    let current = if read_first {
        kv.get(key).text().await.map_err(|e| e.to_string())?
    } else {
        None
    };
    let value = merge_over(current.as_deref(), record);
    put(env, key, &value, ttl).await.map(|()| value)
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
