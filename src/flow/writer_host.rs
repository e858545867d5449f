//! The purge writer's host: every piece of I/O the writer's sequence
//! (`flow::writer`, `flow::writer_zone`) performs, behind one trait. The
//! Durable Object implements it over its storage (`glue::writer`), the
//! simulator over its model (`sim::writer`).
//!
//! # What a host provides
//!
//! - **One object, one thread.** Calls come from one writer at a time; the
//!   host may let another request in while an I/O call is pending (a
//!   Durable Object's input gate opens on a fetch, not on storage), so the
//!   sequence reads its storage again after every outgoing call.
//! - **Storage is durable and read-your-writes.** What a `store`/`put`
//!   resolved is what the next `load`/`get` returns, and survives the
//!   object's eviction; a call that fails (`Err`) may have done nothing, and
//!   the sequence then fails the request (the webhook answers 503 and is
//!   redelivered) or the alarm (which runs again).
//! - **Time only through [`WriterHost::now`]** (the object's clock).
//! - **One alarm.** [`WriterHost::schedule`] keeps the earlier of the alarm
//!   set and the one asked for; when it fires the host calls `flow::writer::alarm`
//!   (the alarm no longer set), and calls it again later if it failed.

use super::platform::IoError;
use crate::http::headers::Headers;
use crate::http::time::UnixMillis;
use crate::purge::log::{LogEntry, LogIndex};
use crate::purge::writer::Slot;
use crate::purge::zone_queue::ZoneQueue;
use std::collections::BTreeMap;
use std::time::Duration;

/// Every piece of I/O the writer performs. Each method says what it must
/// guarantee; see the module doc for the whole.
#[allow(async_fn_in_trait)] // single-threaded by design
pub trait WriterHost {
    /// The object's clock, Unix ms; never backwards.
    fn now(&self) -> UnixMillis;

    /// One structured event for the operator's log.
    fn log(&self, event: &str, fields: serde_json::Value);

    // ---- slots (`purge::writer::Slot`, one per KV key) ----

    /// Every slot held, by KV key. A stored slot that no longer parses is
    /// left out (and forgotten by the next store of that key).
    async fn load(&self) -> Result<BTreeMap<String, Slot>, IoError>;
    /// The slots of `keys` that exist.
    async fn load_some(&self, keys: &[String]) -> Result<BTreeMap<String, Slot>, IoError>;
    /// Stores `slots` (replacing those keys), all or nothing.
    async fn store(&self, slots: &BTreeMap<String, Slot>) -> Result<(), IoError>;
    /// Deletes the slots of `keys`.
    async fn forget(&self, keys: &[String]) -> Result<(), IoError>;
    /// Sets the alarm to `at` unless one is set no later.
    async fn schedule(&self, at: UnixMillis) -> Result<(), IoError>;

    // ---- the fast path's log (`purge::log`) ----

    /// The log's index (the default one before the first entry).
    async fn log_index(&self) -> Result<LogIndex, IoError>;
    /// Stores `entry` and `index` together, then deletes the entries `drop`
    /// names.
    async fn log_append(
        &self,
        index: &LogIndex,
        entry: &LogEntry,
        drop: &[u64],
    ) -> Result<(), IoError>;
    /// The entries of `seqs` that exist, in that order.
    async fn log_entries(&self, seqs: &[u64]) -> Result<Vec<LogEntry>, IoError>;

    // ---- receipts (replay detection), exact: the writer's own storage ----

    /// The receipt under `key`, unless it expired by `now`.
    async fn receipt_get(&self, key: &str, now: UnixMillis) -> Result<Option<String>, IoError>;
    /// Stores `body` under `key` until `until` (replacing it); may drop
    /// receipts expired at `now`.
    async fn receipt_put(
        &self,
        key: &str,
        until: UnixMillis,
        body: &str,
        now: UnixMillis,
    ) -> Result<(), IoError>;

    // ---- Workers KV, as the writer's location sees it ----

    /// The value under `key` (the writer's own writes are visible to it at
    /// once). `Err` when it could not be read.
    async fn kv_get(&self, key: &str) -> Result<Option<String>, IoError>;
    /// Writes `value` under `key` for `ttl` seconds. `Err` when refused.
    async fn kv_put(&self, key: &str, value: &str, ttl: u64) -> Result<(), IoError>;

    // ---- the zone purge queue and API (`purge::zone_queue`) ----

    /// The zone queue, if one is stored.
    async fn zone_load(&self) -> Result<Option<ZoneQueue>, IoError>;
    /// Stores the zone queue (replacing it).
    async fn zone_store(&self, queue: &ZoneQueue) -> Result<(), IoError>;
    /// `EDGECACHE_ZONE_TOKEN`, when set.
    fn zone_token(&self) -> Option<String>;
    /// POSTs `body` to `url` with `headers` within `timeout`: the status and
    /// header list of the answer (its body is not needed), or `Err` when none
    /// came.
    async fn api_post(
        &self,
        url: &str,
        headers: &Headers,
        body: &str,
        timeout: Duration,
    ) -> Result<(u16, Headers), IoError>;
}
