//! Collapsing background refreshes (stale-while-revalidate): while one refresh
//! of a key is in flight, further stale hits on that key in the same isolate
//! serve stale without starting another. Without it, every request in the
//! window would go to the origin at once — a stampede on exactly the popular
//! keys the window exists to protect. Pure: time is passed in.

use crate::config::{Route, Secs};
use crate::http::time::UnixSecs;
use std::collections::HashMap;

/// How long a background refresh of an entry on `route` holds its key: the
/// route's origin timeout and a second. A refresh still running then has hung
/// or been lost, and must not block the key for good.
pub fn refresh_hold(route: &Route) -> Secs {
    route.timeout.saturating_add(1)
}

/// Most bytes of keys an isolate's refresh gate tracks (256 KiB: a key is at
/// most ~8 KiB, so at least thirty of the longest, thousands of typical ones).
pub const REFRESH_GATE_MAX_BYTES: usize = 256 * 1024;
/// Per-key bookkeeping counted besides the key itself (an estimate).
pub const REFRESH_ENTRY_OVERHEAD: usize = 48;

/// In-flight refreshes per key, with the time each started.
#[derive(Debug)]
pub struct RefreshGate {
    started: HashMap<String, UnixSecs>,
    max_bytes: usize,
    used: usize,
}

fn cost(key: &str) -> usize {
    key.len() + REFRESH_ENTRY_OVERHEAD
}

impl RefreshGate {
    /// `max_bytes` bounds the keys tracked, in bytes (oldest forgotten
    /// first); the glue uses [`REFRESH_GATE_MAX_BYTES`].
    pub fn new(max_bytes: usize) -> RefreshGate {
        RefreshGate {
            started: HashMap::new(),
            max_bytes,
            used: 0,
        }
    }

    /// True if a refresh of `key` may start now: none is in flight, or the one
    /// in flight started `hold` seconds ago or more (a refresh that hung or was
    /// lost must not block the key forever). Records the start when true.
    pub fn try_start(&mut self, key: &str, now: UnixSecs, hold: u64) -> bool {
        if let Some(&t) = self.started.get(key) {
            if now < t.saturating_add(hold) {
                return false;
            }
        }
        self.finish(key);
        let cost = cost(key);
        while self.used + cost > self.max_bytes {
            let Some(oldest) = self
                .started
                .iter()
                .min_by_key(|(_, t)| **t)
                .map(|(k, _)| k.clone())
            else {
                // Nothing left to forget: a key larger than the whole gate
                // starts its refresh untracked.
                return true;
            };
            self.finish(&oldest);
        }
        self.used += cost;
        self.started.insert(key.to_string(), now);
        true
    }

    /// The refresh of `key` ended (stored, refused or failed).
    pub fn finish(&mut self, key: &str) {
        if self.started.remove(key).is_some() {
            self.used -= cost(key);
        }
    }

    /// Bytes held, as counted against `max_bytes`.
    pub fn used_bytes(&self) -> usize {
        self.used
    }

    pub fn len(&self) -> usize {
        self.started.len()
    }

    pub fn is_empty(&self) -> bool {
        self.started.is_empty()
    }
}
