//! The isolate's memory tier: a small, bounded LRU of recently stored or served
//! small entries, in front of the Cache API.
//!
//! A hit here skips `caches.default.match`, the costliest step of a hit. It is
//! no shortcut around the rules: an entry is kept with the headers the Cache
//! API holds (status, stamp, freshness), and the glue puts every memory hit
//! through the same `flow::on_stored` decision (purge generations, freshness)
//! as a Cache API hit. Only a *fresh*, current entry is served from memory;
//! anything else (purged, stale, expired, generations unreadable) is dropped
//! here and the request goes on to the Cache API path, which decides as before.
//!
//! Bounds: `max_bytes` in all, `max_entry_bytes` per entry, and `max_age` of
//! residence. `max_age` bounds how long an isolate can miss a purge that does
//! not go through edgecache's generations (a purge in the Cloudflare dashboard
//! or by another tool); purges through the webhook hold as for the Cache API.
//!
//! Generic over the body handle `B` (a JS `Blob` in the glue), so the core stays
//! free of runtime types and is tested natively.

use crate::config::MemorySettings;
use crate::flow::StoredEntry;
use crate::http::headers::Headers;
use crate::http::time::UnixSecs;
use std::collections::HashMap;
use std::rc::Rc;

/// One entry as the Cache API holds it.
#[derive(Debug)]
pub struct MemEntry<B> {
    /// The key without the variant (unsafe methods invalidate by it).
    pub base_url: String,
    /// The stored headers, internal ones included.
    pub headers: Headers,
    /// `headers` parsed.
    pub entry: StoredEntry,
    pub body: B,
    /// Body length in bytes.
    pub body_bytes: u64,
}

impl<B> MemEntry<B> {
    /// An entry for a body read whole, with the stored `headers`; `None` when
    /// they are not a readable stored entry. Without a `Content-Length` one is
    /// added (except for 204 and 205): the Cache API's copy of a body of known
    /// length (a `Blob`) carries it, so a memory hit answers (and slices
    /// ranges) as a Cache API hit does.
    pub fn new(base_url: String, mut headers: Headers, body: B, body_bytes: u64) -> Option<Self> {
        let entry = StoredEntry::parse(&headers)?;
        // 204 and 205 never carry a length (RFC 9110 §8.6).
        if !headers.contains("content-length") && !matches!(entry.status, 204 | 205) {
            headers.append("content-length", &body_bytes.to_string());
        }
        Some(MemEntry {
            base_url,
            headers,
            entry,
            body,
            body_bytes,
        })
    }

    /// What the entry counts against `max_bytes`: body, headers and key.
    fn cost(&self, key: &str) -> u64 {
        let headers: usize = self.headers.iter().map(|(n, v)| n.len() + v.len()).sum();
        self.body_bytes + (headers + key.len() + self.base_url.len()) as u64
    }
}

struct Slot<B> {
    entry: Rc<MemEntry<B>>,
    /// When it entered memory.
    at: UnixSecs,
    /// LRU position (larger = more recently used).
    seq: u64,
    cost: u64,
}

/// The memory tier. `get` counts as a use. When a newcomer does not fit, the
/// least recently used entries go first, in one batch that leaves an eighth
/// of the tier free besides the newcomer (so a full tier sorts its entries
/// once per many inserts, and a hit only bumps a counter).
pub struct MemoryTier<B> {
    settings: MemorySettings,
    used: u64,
    seq: u64,
    slots: HashMap<String, Slot<B>>,
}

impl<B> MemoryTier<B> {
    pub fn new(settings: MemorySettings) -> MemoryTier<B> {
        MemoryTier {
            settings,
            used: 0,
            seq: 0,
            slots: HashMap::new(),
        }
    }

    /// Whether a body of `body_bytes` may be kept (the tier is on and it fits
    /// `max_entry_bytes`). Lets the glue skip reading bodies it cannot keep.
    pub fn admits(&self, body_bytes: u64) -> bool {
        self.settings.max_bytes > 0 && body_bytes <= self.settings.max_entry_bytes
    }

    /// The entry under `key` if it entered memory less than `max_age` ago (and
    /// not in the future); an older one is dropped.
    pub fn get(&mut self, key: &str, now: UnixSecs) -> Option<Rc<MemEntry<B>>> {
        let slot = self.slots.get_mut(key)?;
        if slot.at > now || now.saturating_sub(slot.at) >= self.settings.max_age {
            self.remove(key);
            return None;
        }
        self.seq += 1;
        slot.seq = self.seq;
        Some(slot.entry.clone())
    }

    /// Keeps `entry` under `key` (replacing any older one), evicting the least
    /// recently used entries to make room. An entry the settings do not admit,
    /// or one larger than the whole tier, is not kept (and an older entry under
    /// the same key is dropped: it is superseded either way).
    pub fn insert(&mut self, key: String, entry: MemEntry<B>, now: UnixSecs) {
        self.remove(&key);
        let cost = entry.cost(&key);
        let max = self.settings.max_bytes;
        if !self.admits(entry.body_bytes) || cost > max {
            return;
        }
        if self.used + cost > max {
            // Down to 7/8 of the tier with the newcomer (to the newcomer alone
            // if it needs more than that).
            let target = (max - max / 8).max(cost) - cost;
            // Sequence numbers are unique: evicting up to a cutoff in use order
            // is one `retain`.
            let mut by_use: Vec<(u64, u64)> =
                self.slots.values().map(|s| (s.seq, s.cost)).collect();
            by_use.sort_unstable();
            let mut cutoff = 0;
            for (seq, cost) in by_use {
                if self.used <= target {
                    break;
                }
                self.used -= cost;
                cutoff = seq;
            }
            self.slots.retain(|_, s| s.seq > cutoff);
        }
        self.seq += 1;
        self.used += cost;
        self.slots.insert(
            key,
            Slot {
                entry: Rc::new(entry),
                at: now,
                seq: self.seq,
                cost,
            },
        );
    }

    pub fn remove(&mut self, key: &str) {
        if let Some(s) = self.slots.remove(key) {
            self.used -= s.cost;
        }
    }

    /// Drops every variant of `base_url` (what an unsafe method invalidates).
    pub fn remove_base(&mut self, base_url: &str) {
        let mut freed = 0;
        self.slots.retain(|_, s| {
            let keep = s.entry.base_url != base_url;
            if !keep {
                freed += s.cost;
            }
            keep
        });
        self.used -= freed;
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Bytes held, as counted against `max_bytes`.
    pub fn used_bytes(&self) -> u64 {
        self.used
    }
}
