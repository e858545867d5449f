//! Copies of a response, over the platform: writing the cache's copy of an
//! origin answer (never a truncated body), keeping small ones in the memory
//! tier, and serving a stored one through a length guard when it was
//! streamed in. How a copy is written is [`super::copy::copy_strategy`].

use super::collapse::LeaderOutcome;
use super::copy::{copy_strategy, CopyOutcome, CopyStrategy};
use super::flight::Reporter;
use super::isolate::{Cx, Isolate};
use super::memory::MemEntry;
use super::observe::{fixed_draw, key_hash, sampled};
use super::origin::StoredCopy;
use super::platform::{IoError, Platform, Reply, Source};
use super::reply::with_cache_status;
use crate::http::cache_status::CacheStatus;
use crate::http::headers::Headers;
use crate::response::delivery::deliver;
use std::rc::Rc;

/// The response for a stored entry (stored with the origin's `status`,
/// `headers` as a client may see them): 304, 206, 416 or the whole, as
/// `delivery::deliver` decides, `Cache-Status` added.
pub fn serve_stored<P: Platform>(
    cx: &Cx<'_, P>,
    body: P::Body,
    status: u16,
    headers: Headers,
    cs: CacheStatus,
) -> Reply<P::Body, P::Whole> {
    let headers = with_cache_status(headers, &cs);
    let length = headers.content_length();
    // A large entry was streamed into the cache; a runtime may have kept a
    // short copy of a truncated body. Serve it through a length guard: a
    // short body errors the response instead of passing for whole, and the
    // entry goes.
    let body = match copy_strategy(length) {
        CopyStrategy::Streamed { .. } => {
            let (guarded, complete) = cx.platform.guard(body, length);
            if let Some(complete) = complete {
                let (p, key) = (cx.platform.clone(), cx.key().to_string());
                cx.platform.wait_until(Box::pin(async move {
                    if complete.await == Some(false) {
                        p.cache_delete(&key).await;
                        let key = key_hash(&key);
                        p.log("stored_copy_incomplete", serde_json::json!({ "key": key }));
                    }
                }));
            }
            guarded
        }
        CopyStrategy::Buffered { .. } => body,
    };
    let lk = cx.lookup;
    Reply {
        delivery: deliver(lk.route(), &lk.method, cx.headers, status, headers),
        source: Source::Stream(body),
    }
}

/// Where a copy goes: the key, its base URL (for the memory tier's
/// invalidation by base), and the isolate whose memory tier may keep it.
pub struct Target<P: Platform> {
    pub platform: P,
    pub isolate: Rc<Isolate<P>>,
    pub key: String,
    pub base_url: String,
}

impl<P: Platform> Target<P> {
    pub fn of(cx: &Cx<'_, P>) -> Target<P> {
        Target {
            platform: cx.platform.clone(),
            isolate: cx.isolate.clone(),
            key: cx.key().to_string(),
            base_url: cx.lookup.key.base_url().to_string(),
        }
    }
}

/// Writes the cache's copy of an origin answer, never a truncated or
/// errored body (see [`copy_strategy`]); a small one is also kept in the
/// memory tier. True when the cache holds the whole copy.
pub async fn put_copy<P: Platform>(to: &Target<P>, body: P::Body, copy: StoredCopy) -> bool {
    let p = &to.platform;
    let length = copy.headers.content_length();
    let outcome = match copy_strategy(length) {
        CopyStrategy::Buffered { expected, limit } => {
            match p.read_whole(body, expected, limit).await {
                Ok(Some((whole, size))) => {
                    let put = p
                        .cache_put(
                            &to.key,
                            copy.status,
                            &copy.headers,
                            Source::Whole(whole.clone()),
                        )
                        .await;
                    // Kept only once the cache holds the same copy (or tried to):
                    // a memory hit then answers what a cache hit would.
                    keep(to, copy.headers, whole, size);
                    put.map(|()| true)
                }
                Ok(None) => Ok(false),
                Err(e) => Err(e),
            }
        }
        CopyStrategy::Streamed { .. } => put_guarded(to, body, copy).await,
    };
    let (result, error) = match outcome {
        Ok(true) => (CopyOutcome::Stored, None),
        Ok(false) => (CopyOutcome::Incomplete, None),
        Err(e) => (CopyOutcome::PutFailed, Some(e.to_string())),
    };
    // The answer's Cache-Status left before this was known: the log says it,
    // sampled as request lines are (`observability.log_sample`); a copy that
    // was not kept is always said.
    let rate = to.isolate.config.observability.log_sample;
    let draw = fixed_draw(rate).unwrap_or_else(|| p.random());
    if sampled(rate, draw, result != CopyOutcome::Stored) {
        p.log(
            "cache_store",
            serde_json::json!({ "key": key_hash(&to.key), "outcome": result.as_str(), "error": error }),
        );
    }
    result == CopyOutcome::Stored
}

/// Streams `body` into the cache behind a length guard; deletes the entry
/// again unless it is known complete. `Ok(false)` = incomplete.
async fn put_guarded<P: Platform>(
    to: &Target<P>,
    body: P::Body,
    copy: StoredCopy,
) -> Result<bool, IoError> {
    let p = &to.platform;
    let (guarded, complete) = p.guard(body, copy.headers.content_length());
    p.cache_put(&to.key, copy.status, &copy.headers, Source::Stream(guarded))
        .await?;
    let complete = match complete {
        Some(c) => c.await == Some(true),
        None => true,
    };
    if !complete {
        p.cache_delete(&to.key).await;
    }
    Ok(complete)
}

/// Keeps a body read whole with its stored `headers` in the memory tier.
fn keep<P: Platform>(to: &Target<P>, headers: Headers, whole: P::Whole, size: u64) {
    let Some(entry) = MemEntry::new(to.base_url.clone(), headers, whole, size) else {
        return;
    };
    let now = to.platform.now_secs();
    to.isolate
        .memory
        .borrow_mut()
        .insert(to.key.clone(), entry, now);
}

/// Tee: the client's `body` streams at once; the copy goes to the cache in
/// the background, and `reporter` (the key's followers, or its hit-for-pass
/// note) hears once it is stored or failed.
pub fn put_reporting<P: Platform>(
    cx: &Cx<'_, P>,
    body: &mut P::Body,
    copy: StoredCopy,
    reporter: Reporter<P>,
) -> Result<(), IoError> {
    let tee = match cx.platform.tee(body) {
        Ok(t) => t,
        Err(e) => {
            reporter.report(LeaderOutcome::StoreFailed);
            return Err(e);
        }
    };
    let to = Target::of(cx);
    cx.platform.wait_until(Box::pin(async move {
        let outcome = if put_copy(&to, tee, copy).await {
            LeaderOutcome::Stored
        } else {
            LeaderOutcome::StoreFailed
        };
        reporter.report(outcome);
    }));
    Ok(())
}

/// After a cache hit on an entry the memory tier can hold: reads a copy of
/// its body in the background (a tee) and keeps it, so the next hit in this
/// isolate skips the cache.
pub fn promote<P: Platform>(
    cx: &Cx<'_, P>,
    body: &mut P::Body,
    stored: &Headers,
) -> Result<(), IoError> {
    let length = stored.content_length();
    if !cx.isolate.memory.borrow().admits(length.unwrap_or(0)) {
        return Ok(());
    }
    let limit = cx.config().memory.max_entry_bytes;
    let tee = cx.platform.tee(body)?;
    let (to, stored) = (Target::of(cx), stored.clone());
    cx.platform.wait_until(Box::pin(async move {
        if let Ok(Some((whole, size))) = to.platform.read_whole(tee, length, limit).await {
            keep(&to, stored, whole, size);
        }
    }));
    Ok(())
}

/// Deletes an entry that may no longer be stored, here and in the memory tier.
pub async fn drop_entry<P: Platform>(to: &Target<P>) {
    to.platform.cache_delete(&to.key).await;
    to.isolate.memory.borrow_mut().remove(&to.key);
}
