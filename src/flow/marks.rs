//! Purge records in KV behind the isolate's memo, over the platform: the
//! reads a stored entry's currency needs, and the writes a purge makes
//! (`purge::record` is the value format and its merge rule).

use super::isolate::Isolate;
use super::platform::{IoError, Platform};
use crate::http::time::{UnixMillis, UnixSecs};
use crate::purge::generations::{Gen, GenName, Generations, PurgeKind, PurgeRecord};
use crate::purge::memo::plan_reads;
use crate::purge::record::merge_over;
use futures_util::future::join_all;

/// Reads the marks of `names`: memo first, then KV for the rest. A read
/// that fails is `Gen::Unreadable` (never memoized), which the core treats
/// as "cannot prove current".
pub async fn read<P: Platform>(
    platform: &P,
    isolate: &Isolate<P>,
    names: &[GenName],
    now: UnixSecs,
) -> Generations {
    let (mut current, missing) = plan_reads(names, &isolate.memo.borrow(), now);
    if missing.is_empty() {
        return current;
    }
    let reads = missing.iter().map(|n| {
        let key = n.kv_key();
        async move { platform.kv_get(&key).await }
    });
    let results = join_all(reads).await;
    let mut memo = isolate.memo.borrow_mut();
    for (name, result) in missing.into_iter().zip(results) {
        let g = match result {
            Ok(v) => Gen::from_kv(v.as_deref()),
            Err(_) => Gen::Unreadable,
        };
        // The memo keeps a purge this isolate received over an older KV value
        // (ordered by the purge log where both are in it).
        let g = memo.put_ordered(name.clone(), g, now, isolate.fast.borrow().order());
        current.insert(name, g);
    }
    current
}

/// The values of `names` the memo holds now, without reading KV: what a miss
/// with no stored entry knows before its fetch (`flow::FetchStart::seen`).
pub fn memo_only<P: Platform>(
    isolate: &Isolate<P>,
    names: &[GenName],
    now: UnixSecs,
) -> Generations {
    plan_reads(names, &isolate.memo.borrow(), now).0
}

/// Puts a purge (`record`, with its nonce) of `names` into this isolate's
/// memo, so it stops serving what the purge covers at once, before KV has it.
/// `logged`: when the writer answered that it logged the purge (the fast
/// path's order then ranks it after every purge this isolate has read from
/// the log, `purge::log::LogOrder::wrote`).
///
/// A soft purge is remembered as fresh only over a fresh value: over an
/// expired one (or none) it is put as already expired, so the next read
/// still asks KV and merges both. A hard purge covers everything fetched
/// before it; a soft one does not cover a hard purge made elsewhere that
/// this isolate has not read yet, and a fresh memo entry made of the soft
/// purge and what the isolate knew long ago would vouch for entries that
/// hard purge covers (the simulator's seeds 3868 and 5340, KV-only with soft
/// purges: a body purged hard two days earlier served again).
pub fn remember<P: Platform>(
    isolate: &Isolate<P>,
    names: &[GenName],
    record: PurgeRecord,
    now: UnixSecs,
    logged: Option<UnixMillis>,
) {
    if let (Some(at), Some(nonce)) = (logged, record.nonce) {
        isolate.fast.borrow_mut().wrote(nonce, at);
    }
    let mut memo = isolate.memo.borrow_mut();
    for name in names {
        let at = memo.told_at(name, &record, now);
        memo.put_written(name.clone(), Gen::Purged(record), at);
    }
}

/// Writes `record` (purges not yet written, with a fresh nonce) under `key`,
/// for `ttl` seconds: with `read_first` ([`PurgeRecord::reads_first`]) it reads
/// the value there first and writes the merge (`purge::record::merge_over`);
/// else it writes blind. The value written. The direct purge path and the purge
/// writer's flush both write through here.
pub async fn write_record<P: Platform>(
    platform: &P,
    key: &str,
    record: PurgeRecord,
    read_first: bool,
    ttl: u64,
) -> Result<String, IoError> {
    let current = if read_first {
        platform.kv_get(key).await?
    } else {
        None
    };
    let value = merge_over(current.as_deref(), record);
    platform.kv_put(key, &value, ttl).await.map(|()| value)
}

/// A purge to write: of `kind` at `at`, with `nonce` (fresh for this purge),
/// kept `ttl` seconds (`purge::generations::kv_expiration_ttl` applied).
#[derive(Debug, Clone, Copy)]
pub struct Bump {
    pub kind: PurgeKind,
    pub at: UnixMillis,
    pub nonce: u64,
    pub ttl: u64,
}

/// Writes a purge for every name (the direct path, without a writer);
/// returns how many writes succeeded. A hard purge writes blind; a soft one
/// reads each value first and writes the merge ([`write_record`]). The memo
/// is updated at once so this isolate acts on it at once.
pub async fn bump<P: Platform>(
    platform: &P,
    isolate: &Isolate<P>,
    names: &[GenName],
    bump: Bump,
    now: UnixSecs,
) -> Result<usize, String> {
    let record = PurgeRecord::new(bump.kind, bump.at).with_nonce(bump.nonce);
    let writes = names.iter().map(|n| {
        let key = n.kv_key();
        async move { write_record(platform, &key, record, record.reads_first(), bump.ttl).await }
    });
    let results = join_all(writes).await;
    let mut ok = 0;
    let mut first_err = None;
    let mut memo = isolate.memo.borrow_mut();
    for (name, r) in names.iter().zip(results) {
        match r {
            // The value the name now has (merged with what was read, for a soft purge).
            Ok(value) => {
                ok += 1;
                memo.put_written(name.clone(), Gen::from_kv(Some(&value)), now);
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
