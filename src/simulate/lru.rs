//! The cache model `simulate` replays a log through: a fixed number of
//! entries, least recently used evicted first, each entry fresh for its TTL
//! from the time it was stored. Time is a value passed in.
//!
//! A model, not Cloudflare's cache: a real data centre evicts by bytes and
//! popularity across all its tenants. What matters here is that every key
//! function is measured against the same model.

use std::collections::{BTreeMap, HashMap};

/// What one lookup did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// Found and fresh.
    Hit,
    /// Not found: stored now.
    Miss,
    /// Found but stale: refetched and stored again now.
    Expired,
}

struct Entry {
    stored_at: u64,
    ttl: u64,
    /// Last-use tick: the key into `order`.
    tick: u64,
}

/// LRU + TTL, `capacity` entries.
pub struct LruTtl {
    capacity: usize,
    entries: HashMap<String, Entry>,
    /// tick → key, oldest first.
    order: BTreeMap<u64, String>,
    tick: u64,
    evictions: u64,
}

impl LruTtl {
    /// A capacity of 0 is treated as 1.
    pub fn new(capacity: usize) -> Self {
        LruTtl {
            capacity: capacity.max(1),
            entries: HashMap::new(),
            order: BTreeMap::new(),
            tick: 0,
            evictions: 0,
        }
    }

    /// Looks `key` up at time `now`; on a miss or an expired entry the
    /// response is stored with `ttl` (the request went to the origin).
    /// Either way the key becomes the most recently used.
    pub fn access(&mut self, key: &str, now: u64, ttl: u64) -> Lookup {
        self.tick += 1;
        let tick = self.tick;
        if let Some(e) = self.entries.get_mut(key) {
            self.order.remove(&e.tick);
            self.order.insert(tick, key.to_string());
            e.tick = tick;
            if now < e.stored_at.saturating_add(e.ttl) {
                return Lookup::Hit;
            }
            e.stored_at = now;
            e.ttl = ttl;
            return Lookup::Expired;
        }
        if self.entries.len() >= self.capacity {
            if let Some((_, oldest)) = self.order.pop_first() {
                self.entries.remove(&oldest);
                self.evictions += 1;
            }
        }
        self.order.insert(tick, key.to_string());
        self.entries.insert(
            key.to_string(),
            Entry {
                stored_at: now,
                ttl,
                tick,
            },
        );
        Lookup::Miss
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries dropped to make room so far.
    pub fn evictions(&self) -> u64 {
        self.evictions
    }
}
