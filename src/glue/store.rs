//! Writing the cache's copy of an origin answer (never a truncated body), and
//! serving a stored one through a length guard when it was streamed in.

use super::body::respond_raw;
use super::collapse::{report, Leader};
use super::log;
use crate::flow::collapse::LeaderOutcome;
use crate::flow::observe::key_hash;
use crate::flow::{self, CopyOutcome, Lookup};
use crate::http::cache_status::CacheStatus;
use crate::http::headers::Headers as CoreHeaders;
use crate::response::delivery::deliver;
use worker::*;

/// Serves a stored response (stored with `status`): 304, 206, 416 or the whole,
/// as `delivery::deliver` decides.
pub fn serve_stored(
    ctx: &Context,
    resp: Response,
    status: u16,
    mut headers: CoreHeaders,
    cs: CacheStatus,
    req_headers: &CoreHeaders,
    lk: &Lookup<'_>,
) -> Result<web_sys::Response> {
    headers.append("cache-status", &cs.to_string());
    let length = headers.content_length();
    // A large entry was streamed into the cache; a runtime may have kept a short
    // copy of a truncated body. Serve it through a length guard: a short body
    // errors the response instead of passing for whole, and the entry goes.
    let resp = match flow::copy_strategy(length) {
        flow::CopyStrategy::Streamed { .. } => {
            let (guarded, complete) = super::body::guarded(resp, status, &headers)?;
            if let Some(p) = complete {
                let key = lk.key.url().to_string();
                ctx.wait_until(async move {
                    let v = wasm_bindgen_futures::JsFuture::from(p).await;
                    if matches!(v.map(|v| v.as_bool()), Ok(Some(false))) {
                        let _ = Cache::default().delete(key.as_str(), false).await;
                        let key = key_hash(&key);
                        log("stored_copy_incomplete", serde_json::json!({ "key": key }));
                    }
                });
            }
            guarded
        }
        flow::CopyStrategy::Buffered { .. } => resp,
    };
    respond_raw(
        resp,
        deliver(lk.route(), &lk.method, req_headers, status, headers),
    )
}

/// Writes the cache's copy of an origin answer under `key`, never a truncated
/// or errored body (see [`flow::copy_strategy`]); a small one is also kept in
/// the memory tier. True when the cache holds the whole copy.
pub async fn put_copy(
    key: String,
    base_url: String,
    copy: Response,
    status: u16,
    headers: CoreHeaders,
) -> bool {
    let length = headers.content_length();
    let outcome = match flow::copy_strategy(length) {
        flow::CopyStrategy::Buffered { expected, limit } => {
            match super::body::complete_copy(copy, status, &headers, expected, limit).await {
                Ok(Some((stored, body))) => {
                    let put = Cache::default().put(key.as_str(), stored).await;
                    // Kept only once the Cache API holds the same copy (or tried to):
                    // a memory hit then answers what a Cache API hit would.
                    super::memory::keep(key.clone(), base_url, headers, body);
                    put.map(|_| true)
                }
                Ok(None) => Ok(false),
                Err(e) => Err(e),
            }
        }
        flow::CopyStrategy::Streamed { .. } => match super::body::guarded(copy, status, &headers) {
            Ok((stored, complete)) => put_guarded(&key, stored, complete).await,
            Err(e) => Err(e),
        },
    };
    let (result, error) = match outcome {
        Ok(true) => (CopyOutcome::Stored, None),
        Ok(false) => (CopyOutcome::Incomplete, None),
        Err(e) => (CopyOutcome::PutFailed, Some(e.to_string())),
    };
    // The answer's Cache-Status left before this was known: the log says it.
    log(
        "cache_store",
        serde_json::json!({ "key": key_hash(&key), "outcome": result.as_str(), "error": error }),
    );
    result == CopyOutcome::Stored
}

/// Streams `stored` into the cache; deletes the entry again if its body turned
/// out incomplete. `Ok(false)` = incomplete.
async fn put_guarded(
    key: &str,
    stored: Response,
    complete: Option<js_sys::Promise>,
) -> Result<bool> {
    Cache::default().put(key, stored).await?;
    let complete = match complete {
        Some(p) => wasm_bindgen_futures::JsFuture::from(p)
            .await
            .map(|v| v.as_bool() == Some(true))
            .unwrap_or(false),
        None => true,
    };
    if !complete {
        let _ = Cache::default().delete(key, false).await;
    }
    Ok(complete)
}

/// Tee: the client's body (`resp`) streams at once; the copy goes to the
/// cache in `wait_until`, and the key's followers (`leader`, or the
/// hit-for-pass note) are told once it is stored or failed.
pub fn put_reporting(
    ctx: &Context,
    resp: &mut Response,
    lk: &Lookup<'_>,
    store: flow::StoredCopy,
    leader: Option<Leader>,
) -> Result<()> {
    let copy = match resp.cloned() {
        Ok(c) => c,
        Err(e) => {
            report(leader, lk.key.url(), LeaderOutcome::StoreFailed);
            return Err(e);
        }
    };
    let (key, base) = (lk.key.url().to_string(), lk.key.base_url().to_string());
    ctx.wait_until(async move {
        let ok = put_copy(key.clone(), base, copy, store.status, store.headers).await;
        let outcome = if ok {
            LeaderOutcome::Stored
        } else {
            LeaderOutcome::StoreFailed
        };
        report(leader, &key, outcome);
    });
    Ok(())
}
