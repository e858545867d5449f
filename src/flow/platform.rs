//! The platform the request sequence runs on: every piece of I/O the flow
//! performs, behind one small trait. The sequence itself (`flow::lookup`,
//! `flow::miss`, `flow::settle`, `flow::pass`, `flow::purge_request`) is
//! written once, as async code over [`Platform`]; the wasm glue implements it
//! over workers-rs types (`glue::platform`), and the simulator implements it
//! natively on a virtual clock.
//!
//! The trait decides nothing: it names I/O (cache match/put/delete, KV
//! get/put, the purge writer, the origin fetch, the clock, timers, background
//! work, randomness, logging) and each method's doc says what every
//! implementation must guarantee. The decisions (what is served, stored,
//! purged, which header, which status) are the core's, so a native
//! implementation exercises exactly the code the edge runs.
//!
//! # What an implementation provides (the simulator's checklist)
//!
//! - **Single-threaded, no `Send`.** Futures are polled on one thread (a
//!   Workers isolate, or the simulator's executor). The futures returned by
//!   the async methods may complete in any order relative to each other; the
//!   sequence only relies on the order of its own `.await`s.
//! - **Time only through [`Platform::now`].** The core never reads a clock;
//!   a virtual clock (with a per-data-centre skew) is fine, and it may jump
//!   between two calls, never backwards within one isolate.
//! - **Timers through [`Platform::sleep`]**, which resolves once `now` has
//!   advanced by at least the given milliseconds (a collapsed follower polls
//!   its leader with it).
//! - **Background work through [`Platform::wait_until`]**: the work runs
//!   after (or alongside) the response, and may be scheduled whenever the
//!   implementation likes, but must eventually be polled to completion (or
//!   dropped, standing for an isolate evicted mid-way: every guard in the
//!   sequence reports on `Drop`).
//! - **Randomness through [`Platform::nonce`] and [`Platform::random`]**: a
//!   seeded generator makes a run replayable.
//! - **Bodies are opaque.** [`Platform::Body`] is a body as it streams (a JS
//!   stream in Workers, bytes in the simulator), [`Platform::Whole`] one held
//!   whole in memory (a JS `Blob`; the memory tier keeps these). The core
//!   never reads bytes; it asks the platform to tee, read whole, guard and
//!   relay them, and hands back a [`Reply`] naming what to send.
//! - **Per data centre:** one cache ([`Platform::cache_match`] / put /
//!   delete, and the fast path's shared copies of log reads,
//!   [`Platform::log_copy`]); **per deployment:** one KV namespace and one
//!   purge writer (its log read by [`Platform::read_log`]). A
//!   simulator gives each data centre its own cache and its own KV read cache
//!   (values seen there up to the propagation time late).
//! - **Per isolate:** an [`Isolate`](super::isolate::Isolate) (memo, memory
//!   tier, collapser, refresh gate); several isolates may share one data
//!   centre's cache.
//!
//! Errors are [`IoError`]: a text for the log. What a failure means is the
//! core's decision (an unreadable KV value is "cannot prove current"; a failed
//! put is `StoreFailed` for followers).

use crate::http::cache_status::Detail;
use crate::http::headers::Headers;
use crate::http::method::Method;
use crate::http::time::{UnixMillis, UnixSecs};
use crate::purge::writer::{Handoff, Stored};
use crate::response::delivery::Delivery;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

pub use super::bucket::BucketTarget;
pub use super::fetched::FetchError;

/// Work handed to [`Platform::wait_until`].
pub type Background = Pin<Box<dyn Future<Output = ()>>>;

/// Resolves once a guarded body ([`Platform::guard`]) was read to its end:
/// `Some(true)` complete, `Some(false)` short or errored, `None` the reader
/// stopped early (nothing learned).
pub type Completion = Pin<Box<dyn Future<Output = Option<bool>>>>;

/// An I/O failure, as text for the log. The core decides what it means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IoError(pub String);

impl std::fmt::Display for IoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for IoError {
    fn from(s: String) -> IoError {
        IoError(s)
    }
}

/// Where a body comes from: streamed, held whole, or bytes the worker wrote.
#[derive(Debug)]
pub enum Source<B, W> {
    /// A body as it streams (an origin answer, a cache match, a tee).
    Stream(B),
    /// A body held whole (the memory tier).
    Whole(W),
    /// The worker's own text (errors, receipts).
    Bytes(Vec<u8>),
}

/// The response the core hands the platform to send: status and finished
/// headers (`Cache-Status` included) in `delivery`, the body from `source`
/// cut as `delivery.body` says (whole, empty, or a byte range).
#[derive(Debug)]
pub struct Reply<B, W> {
    pub delivery: Delivery,
    pub source: Source<B, W>,
}

/// An entry found in the data centre's cache.
#[derive(Debug)]
pub struct Matched<B> {
    /// Its header list as stored (internal `x-edgecache-*` fields included).
    pub headers: Headers,
    pub body: B,
}

/// A body to send with an origin request.
#[derive(Debug)]
pub enum Outgoing<B> {
    /// The client's own body, streamed on (pass-through of unsafe methods).
    Stream(B),
    /// Text the worker wrote (zone purge API calls).
    Text(String),
}

/// An origin (or API) request.
#[derive(Debug)]
pub struct OriginRequest<'a, B> {
    pub url: &'a str,
    /// Sent exactly as it reads ([`Method::as_str`]).
    pub method: &'a Method,
    pub headers: &'a Headers,
    pub body: Option<Outgoing<B>>,
    pub timeout: Duration,
}

/// An origin answer: status (always [`relayable`](super::fetched::relayable)),
/// header list, body.
#[derive(Debug)]
pub struct Answer<B> {
    pub status: u16,
    pub headers: Headers,
    pub body: B,
}

/// How an origin fetch ended.
#[derive(Debug)]
pub enum Fetch<B> {
    Answered(Answer<B>),
    /// No (usable) answer; `why` is for the log only.
    Failed {
        error: FetchError,
        why: String,
    },
}

/// Every piece of I/O the request sequence performs. See the module doc for
/// what an implementation must provide overall; each method says what it
/// must guarantee.
///
/// `Clone` is cheap (a handle: `Rc`s inside): background work owns a clone.
#[allow(async_fn_in_trait)] // single-threaded by design: no `Send` bound wanted
pub trait Platform: Clone + 'static {
    /// A body as it streams. Read at most once.
    type Body: 'static;
    /// A body held whole in memory; cloning it is cheap (a handle) and every
    /// clone reads the same bytes.
    type Whole: Clone + 'static;

    // ---- time, timers, randomness, background work ----

    /// Now, in Unix milliseconds: the only clock the core reads. Never goes
    /// backwards within one isolate.
    fn now(&self) -> UnixMillis;

    /// [`Platform::now`] in whole seconds (rounded down).
    fn now_secs(&self) -> UnixSecs {
        self.now().to_secs()
    }

    /// Resolves once `now` has advanced by at least `ms`.
    async fn sleep(&self, ms: u64);

    /// Runs `work` after (or alongside) the response. Must eventually poll
    /// it to completion, or drop it (an isolate evicted): the sequence's
    /// guards report on `Drop`.
    fn wait_until(&self, work: Background);

    /// 64 random bits (a purge mark's nonce): distinct across purges with
    /// overwhelming probability; need not be secret. Seeded in a simulator.
    fn nonce(&self) -> u64;

    /// A number drawn uniformly from `[0, 1)` (the fast path's back-off
    /// jitter, so isolates that failed together do not retry together);
    /// need not be secret. Seeded in a simulator. The default derives it
    /// from [`Platform::nonce`].
    fn random(&self) -> f64 {
        (self.nonce() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// One structured event for the operator's log (`event`, and fields).
    fn log(&self, event: &str, fields: serde_json::Value);

    // ---- the data centre's cache (Workers Cache API) ----

    /// The entry stored under `key` in this data centre, if any. A lookup
    /// that fails is `None` (a miss).
    async fn cache_match(&self, key: &str) -> Option<Matched<Self::Body>>;

    /// Stores `body` with `status` and `headers` under `key` in this data
    /// centre, replacing any entry there. `Ok` once the platform holds it (a
    /// streamed body: once the stream was handed over; the caller checks its
    /// [`Completion`] and deletes a short copy).
    async fn cache_put(
        &self,
        key: &str,
        status: u16,
        headers: &Headers,
        body: Source<Self::Body, Self::Whole>,
    ) -> Result<(), IoError>;

    /// Deletes `key` from this data centre's cache; true when an entry was
    /// there.
    async fn cache_delete(&self, key: &str) -> bool;

    // ---- Workers KV (one namespace for the deployment) ----

    /// The value under `key`, as this location sees it (it may be up to the
    /// propagation time old). `Err` when KV could not be read (or is not
    /// bound): never treated as "absent".
    async fn kv_get(&self, key: &str) -> Result<Option<String>, IoError>;

    /// Writes `value` under `key`, expiring `ttl` seconds from now (callers
    /// pass at least KV's minimum). `Err` when refused (rate limit, 429, not
    /// bound).
    async fn kv_put(&self, key: &str, value: &str, ttl: u64) -> Result<(), IoError>;

    // ---- the single purge writer (Durable Object) ----

    /// Whether a purge writer is bound (else the webhook writes KV itself).
    fn has_writer(&self) -> bool;

    /// Hands a purge to the writer: `Ok` only once the writer has stored it
    /// durably (it writes KV later, paced), with what it made of it (logged
    /// for the fast path; a replay of an earlier `webhook-id` and that
    /// purge's receipt). `Err` when it refused (full), failed or could not
    /// be reached.
    async fn hand_off(&self, handoff: &Handoff) -> Result<Stored, IoError>;

    // ---- the fast purge path (`flow::fastpath`, issue 25) ----

    /// This data centre's shared copy of a read of the purge log stored under
    /// `key` ([`Platform::put_log_copy`]), as text: `None` when there is none
    /// or it cannot be read (the reader then reads the writer). Shared by
    /// every isolate of the data centre (the Cache API), never across data
    /// centres. The default: no shared copies (every isolate reads alone).
    async fn log_copy(&self, key: &str) -> Option<String> {
        let _ = key;
        None
    }

    /// Stores `text` under `key` for this data centre's other isolates, kept
    /// at most `max_age` seconds. Best effort: a failure (or a platform where
    /// the Cache API does nothing, `workers.dev`) only means each isolate
    /// reads the writer itself. The default does nothing.
    async fn put_log_copy(&self, key: &str, text: &str, max_age: u64) {
        let _ = (key, text, max_age);
    }

    /// The purge writer's log of the last `window_ms` (its clock), as the
    /// writer answers `GET /log` (`purge::log::LogRead` as JSON). Must give up
    /// after `give_up_ms` (an `Err`, like an unreachable writer): the caller
    /// counts on it to bound a read. Called only when
    /// [`Platform::has_writer`]. The default: no writer.
    async fn read_log(&self, window_ms: u64, give_up_ms: u64) -> Result<String, IoError> {
        let _ = (window_ms, give_up_ms);
        Err(IoError("no purge writer on this platform".into()))
    }

    /// The fast path answered that this request serves hits under the KV
    /// bound only (`detail` goes on its `Cache-Status`). An observation: the
    /// simulator's checker holds such reads to the backstop bound; the
    /// default (the worker) does nothing.
    fn behind(&self, detail: Detail) {
        let _ = detail;
    }

    // ---- the origin ----

    /// Fetches `req` with redirects left to the client and `req.timeout` as
    /// the limit. An answer whose status is not relayable is
    /// `Failed { InvalidStatus }`; no answer in time is `TimedOut`; anything
    /// else without an answer is `Unreachable`.
    async fn fetch(&self, req: OriginRequest<'_, Self::Body>) -> Fetch<Self::Body>;

    /// Reads the object `target` names from its bucket (`s3` signed with the
    /// isolate's credentials when private; `r2` through its binding), with
    /// `validators` (`If-None-Match` / `If-Modified-Since`, when
    /// revalidating) under `timeout`: the bucket's answer as it came
    /// (`flow::bucket_read` classifies it), or `Failed` when there was none
    /// (a private bucket without credentials: `Failed { Bucket(Refused(NoCredentials)) }`).
    /// The default: no bucket origins on this platform (every read unreachable).
    async fn fetch_bucket(
        &self,
        target: &BucketTarget<'_>,
        validators: &Headers,
        timeout: Duration,
    ) -> Fetch<Self::Body> {
        let _ = (target, validators, timeout);
        Fetch::Failed {
            error: FetchError::Unreachable,
            why: "no bucket origins on this platform".to_string(),
        }
    }

    // ---- bodies ----

    /// A second reader of `body`: both see every byte (a tee). The platform
    /// buffers what one reader has not read yet.
    fn tee(&self, body: &mut Self::Body) -> Result<Self::Body, IoError>;

    /// `body` read to its end, held whole, with its length: `None` when it
    /// errored, ended short of `expected` (when known), or passed `limit`
    /// bytes (the rest is not read).
    async fn read_whole(
        &self,
        body: Self::Body,
        expected: Option<u64>,
        limit: u64,
    ) -> Result<Option<(Self::Whole, u64)>, IoError>;

    /// At most `limit` bytes of `body` (the rest is not read): `None` on a
    /// read error. For small request bodies the core parses (the webhook's).
    async fn read_upto(&self, body: Self::Body, limit: usize) -> Option<Vec<u8>>;

    /// `body` behind a length guard: the returned body errors instead of
    /// ending when the source errors or ends short of `expected` bytes
    /// (when known), and the [`Completion`] (when the platform can tell)
    /// says whether it was complete.
    fn guard(&self, body: Self::Body, expected: Option<u64>) -> (Self::Body, Option<Completion>);
}
