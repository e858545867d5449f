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

/// In-flight refreshes per key, with the time each started.
#[derive(Debug)]
pub struct RefreshGate {
    started: HashMap<String, UnixSecs>,
    capacity: usize,
}

impl RefreshGate {
    /// `capacity` bounds the keys tracked (oldest forgotten first).
    pub fn new(capacity: usize) -> RefreshGate {
        RefreshGate {
            started: HashMap::new(),
            capacity: capacity.max(1),
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
        if self.started.len() >= self.capacity && !self.started.contains_key(key) {
            if let Some(oldest) = self
                .started
                .iter()
                .min_by_key(|(_, t)| **t)
                .map(|(k, _)| k.clone())
            {
                self.started.remove(&oldest);
            }
        }
        self.started.insert(key.to_string(), now);
        true
    }

    /// The refresh of `key` ended (stored, refused or failed).
    pub fn finish(&mut self, key: &str) {
        self.started.remove(key);
    }

    pub fn len(&self) -> usize {
        self.started.len()
    }

    pub fn is_empty(&self) -> bool {
        self.started.is_empty()
    }
}
