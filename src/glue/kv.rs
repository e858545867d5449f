//! Generation values in Workers KV, behind the isolate memo.

use super::State;
use crate::http::time::{UnixMillis, UnixSecs};
use crate::purge::generations::{encode_value, kv_expiration_ttl, Gen, GenName, Generations};
use futures_util::future::join_all;
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
    let kv = env.kv(BINDING).map_err(|e| e.to_string())?;
    let value = encode_value(purged_at_ms);
    let writes = names.iter().map(|n| {
        let kv = &kv;
        let value = value.clone();
        async move {
            match kv.put(&n.kv_key(), value) {
                Ok(b) => b
                    .expiration_ttl(kv_expiration_ttl(ttl))
                    .execute()
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            }
        }
    });
    let results = join_all(writes).await;
    let mut ok = 0;
    let mut first_err = None;
    let mut written = Vec::with_capacity(names.len());
    for (name, r) in names.iter().zip(results) {
        match r {
            Ok(()) => {
                ok += 1;
                written.push(name.clone());
            }
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    remember(state, &written, purged_at_ms, now);
    match first_err {
        None => Ok(ok),
        Some(e) => Err(format!(
            "{ok}/{} generation writes succeeded: {e}",
            names.len()
        )),
    }
}

/// Puts a purge of `names` at `purged_at_ms` into this isolate's memo, so it
/// stops serving what the purge covers at once, before KV has it.
pub fn remember(state: &State, names: &[GenName], purged_at_ms: UnixMillis, now: UnixSecs) {
    let mut memo = state.memo.borrow_mut();
    for name in names {
        memo.put(name.clone(), Gen::PurgedAt(purged_at_ms), now);
    }
}
