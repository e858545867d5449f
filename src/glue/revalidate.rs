//! Revalidation's I/O (see `crate::flow::revalidate`): the stored entry kept
//! for a conditional request, and what a 304 does with it (serve and store
//! its body again, with the updated fields).

use super::collapse::{report, Leader};
use super::convert::{now_secs, to_core};
use super::store::{put_copy, put_reporting, serve_stored};
use super::State;
use crate::flow::revalidate::{on_not_modified, Revalidated};
use crate::flow::{FetchStart, Lookup, OriginDecision, StoredEntry};
use crate::http::cache_status::Detail;
use crate::http::headers::Headers as CoreHeaders;
use crate::response::revalidation::{validator, Validator};
use worker::*;

/// A stored entry kept while the origin is asked: it may stand in if the
/// origin fails (`stale_if_error`) and, with a `validator`, answer a 304.
pub struct Kept {
    pub resp: Response,
    pub entry: StoredEntry,
    pub headers: CoreHeaders,
    pub stale_if_error: bool,
    pub validator: Option<Validator>,
}

/// The entry stored under `key`, for a background revalidation: `None` when
/// there is none, it is unreadable, or it has no validator.
pub async fn stored_for_refresh(key: &str) -> Option<Kept> {
    let resp = Cache::default().get(key, false).await.ok().flatten()?;
    let headers = to_core(resp.headers());
    let entry = StoredEntry::parse(&headers)?;
    let validator = Some(validator(&headers)?);
    Some(Kept {
        resp,
        entry,
        headers,
        stale_if_error: false,
        validator,
    })
}

/// The core's decision on a 304 to the conditional request for `kept`
/// (`start`: when that fetch started, and the marks read before it); `None`
/// when the 304 is about another response (fetch again without a validator).
fn decide(
    state: &State,
    lk: &Lookup<'_>,
    kept: &Kept,
    not_modified: &Response,
    start: FetchStart<'_>,
) -> Option<OriginDecision> {
    let nm = to_core(not_modified.headers());
    let now = now_secs();
    match on_not_modified(
        &state.config,
        lk,
        &kept.entry,
        &kept.headers,
        &nm,
        start,
        now,
    ) {
        Revalidated::Updated(decision) => Some(decision),
        Revalidated::Mismatch => None,
    }
}

/// Foreground: answers the client from `kept`'s body after a 304 and stores
/// it again; `report` tells the key's followers (a collapse leader, or the
/// hit-for-pass note) once the copy is stored or known not storable.
/// `Err(kept)` (with its validator dropped) on a mismatch.
#[allow(clippy::too_many_arguments)]
pub fn serve_not_modified(
    ctx: &Context,
    state: &State,
    req_headers: &CoreHeaders,
    lk: &Lookup<'_>,
    detail: Option<Detail>,
    kept: Kept,
    not_modified: &Response,
    start: FetchStart<'_>,
    leader: Option<Leader>,
) -> std::result::Result<Result<web_sys::Response>, Box<(Kept, Option<Leader>)>> {
    let Some(decision) = decide(state, lk, &kept, not_modified, start) else {
        let kept = Kept {
            validator: None,
            ..kept
        };
        return Err(Box::new((kept, leader)));
    };
    let mut cs = decision.cache_status;
    if let Some(d) = detail.filter(|_| decision.store.is_some()) {
        cs = cs.detail(d);
    }
    let mut resp = kept.resp;
    match decision.store {
        Some(store) => {
            if let Err(e) = put_reporting(ctx, &mut resp, lk, store, leader) {
                return Ok(Err(e));
            }
        }
        None => {
            report(
                leader,
                lk.key.url(),
                crate::flow::client_cc::not_stored_outcome(lk),
            );
            ctx.wait_until(drop_entry(lk.key.url().to_string()))
        }
    }
    let status = kept.entry.status;
    Ok(serve_stored(
        ctx,
        resp,
        status,
        decision.client,
        cs,
        req_headers,
        lk,
    ))
}

/// Background (stale-while-revalidate): stores `kept`'s body again after a
/// 304. `false` on a mismatch (fetch again without a validator).
pub async fn refresh_not_modified(
    state: &State,
    lk: &Lookup<'_>,
    kept: Kept,
    not_modified: &Response,
    start: FetchStart<'_>,
) -> bool {
    let Some(decision) = decide(state, lk, &kept, not_modified, start) else {
        return false;
    };
    match decision.store {
        Some(store) => {
            put_copy(
                lk.key.url().to_string(),
                lk.key.base_url().to_string(),
                kept.resp,
                store.status,
                store.headers,
            )
            .await;
        }
        None => drop_entry(lk.key.url().to_string()).await,
    }
    true
}

/// Deletes a revalidated entry that may no longer be stored, here and in
/// the memory tier.
async fn drop_entry(key: String) {
    let _ = Cache::default().delete(key.as_str(), false).await;
    if let Some(state) = super::current_state() {
        if let Ok(state) = state.as_ref() {
            state.memory.borrow_mut().remove(&key);
        }
    }
}
