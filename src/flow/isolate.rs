//! The state one isolate keeps across requests ([`Isolate`]), and the
//! context one request runs with ([`Cx`]): what every step of the sequence
//! used to receive as a long parameter list.
//!
//! An isolate's state is only ever touched from its own thread, between
//! `.await`s (no `RefCell` borrow is held across one), so `Rc` + `RefCell`
//! suffice. A simulator makes one [`Isolate`] per simulated isolate and may
//! drop it (eviction) at any point between steps.

use super::collapse::{Collapser, Shared, COLLAPSE_MAX_BYTES};
use super::memory::MemoryTier;
use super::observe::OriginSeen;
use super::plan::Lookup;
use super::platform::Platform;
use super::refresh::{RefreshGate, REFRESH_GATE_MAX_BYTES};
use crate::config::Config;
use crate::http::headers::Headers;
use crate::http::time::UnixMillis;
use crate::purge::fastview::FastView;
use crate::purge::memo::{Memo, MEMO_MAX_BYTES};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// Per-isolate state: the config (validated once) and every bounded map the
/// isolate keeps between requests.
pub struct Isolate<P: Platform> {
    pub config: Config,
    /// `EDGECACHE_KEY_SECRET` (per-user keys), read once: secrets are fixed
    /// for an isolate's life (a new secret means a new deployment).
    pub key_secret: Option<String>,
    /// The memo of KV reads (purge records), bounded in bytes.
    pub memo: RefCell<Memo>,
    /// Background refreshes in flight (stale-while-revalidate), one per key.
    pub refresh: RefCell<RefreshGate>,
    /// Misses in flight per key, and hit-for-pass notes (request collapsing).
    pub collapse: RefCell<Collapser<Shared>>,
    /// Small entries kept in the isolate, in front of the cache.
    pub memory: RefCell<MemoryTier<P::Whole>>,
    /// Its view of the purge writer's log (the fast path, `flow::fastpath`).
    pub fast: RefCell<FastView>,
    /// Whether a purge writer is bound, asked once (bindings are fixed for
    /// an isolate's life).
    writer: Cell<Option<bool>>,
}

impl<P: Platform> Isolate<P> {
    /// A fresh isolate for `config` (every map empty, bounded as in production).
    pub fn new(config: Config, key_secret: Option<String>) -> Isolate<P> {
        Isolate {
            memo: RefCell::new(
                Memo::new(config.purge.generation_memo, MEMO_MAX_BYTES)
                    .with_clock_skew(config.purge.clock_skew),
            ),
            refresh: RefCell::new(RefreshGate::new(REFRESH_GATE_MAX_BYTES)),
            collapse: RefCell::new(Collapser::new(COLLAPSE_MAX_BYTES)),
            memory: RefCell::new(MemoryTier::new(config.memory.clone())),
            fast: RefCell::new(FastView::new()),
            writer: Cell::new(None),
            key_secret,
            config,
        }
    }

    /// Whether `p` has a purge writer ([`Platform::has_writer`], asked the
    /// first time only).
    pub fn writer_bound(&self, p: &P) -> bool {
        let bound = self.writer.get().unwrap_or_else(|| p.has_writer());
        self.writer.set(Some(bound));
        bound
    }

    /// The per-user key secret as the keying functions take it.
    pub fn user_secret(&self) -> Option<&[u8]> {
        self.key_secret.as_deref().map(str::as_bytes)
    }
}

/// One request's clock: its arrival and what the origin took (for
/// `Server-Timing` and the log line).
#[derive(Debug)]
pub struct Trace {
    pub started: UnixMillis,
    origin: Cell<Option<OriginSeen>>,
    /// Its part in request collapsing, when it missed (the last role it
    /// took: `flow::collapse::Role::name`, `FOLLOWER_FETCHED`, ...).
    collapse: Cell<Option<&'static str>>,
}

impl Trace {
    pub fn start(now: UnixMillis) -> Trace {
        Trace {
            started: now,
            origin: Cell::new(None),
            collapse: Cell::new(None),
        }
    }

    /// The origin fetch's status (`None`: no answer) and duration.
    pub fn origin(&self) -> Option<OriginSeen> {
        self.origin.get()
    }

    pub fn record_origin(&self, seen: OriginSeen) {
        self.origin.set(Some(seen));
    }

    /// Its collapse role (`None`: it did not miss).
    pub fn collapse(&self) -> Option<&'static str> {
        self.collapse.get()
    }

    pub fn record_collapse(&self, role: &'static str) {
        self.collapse.set(Some(role));
    }
}

/// The context of one cacheable request: the platform, the isolate, the
/// client's request headers, the planned lookup, and (in the foreground) the
/// request's trace. Background work builds its own, without a trace.
pub struct Cx<'r, P: Platform> {
    pub platform: &'r P,
    pub isolate: &'r Rc<Isolate<P>>,
    /// The client's request headers (validators, `Range`, `Cache-Control`).
    pub headers: &'r Headers,
    pub lookup: &'r Lookup<'r>,
    /// `None` for background work (a refresh is not the request's time).
    pub trace: Option<&'r Trace>,
}

impl<P: Platform> Cx<'_, P> {
    pub fn config(&self) -> &Config {
        &self.isolate.config
    }

    /// The key URL of the lookup.
    pub fn key(&self) -> &str {
        self.lookup.key.url()
    }

    /// Notes the request's collapse role in its trace (if it has one).
    pub fn role(&self, role: &'static str) {
        if let Some(t) = self.trace {
            t.record_collapse(role);
        }
    }
}
