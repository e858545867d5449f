//! Workers KV as production has it, for the simulator: one central store whose
//! values expire (`expirationTtl`); every location caches what it read for
//! the propagation time (KV's `cacheTtl`, 60 s), so a write is seen elsewhere
//! up to that late (never earlier than the cached read expires); at most one
//! write per key per second (a faster one is refused with a 429); at most
//! [`OPS_PER_INVOCATION`] operations per Worker invocation.

use std::collections::HashMap;

/// Workers KV operations one invocation may make
/// (<https://developers.cloudflare.com/workers/platform/limits/>).
pub const OPS_PER_INVOCATION: u32 = 1000;
/// Writes to one key: at most one per this many milliseconds.
pub const WRITE_INTERVAL_MS: u64 = 1000;

#[derive(Debug, Clone)]
struct Value {
    text: String,
    expires_ms: u64,
    written_ms: u64,
}

/// The store. Times are true times (ms since the run's start).
#[derive(Debug, Default)]
pub struct Kv {
    /// Where [`Kv::put`]'s writes are made: the purge writer's location (the
    /// worker writes purge records only through it).
    pub home: usize,
    central: HashMap<String, Value>,
    /// (location, key) → (what that location read, when).
    cached: HashMap<(usize, String), (Option<String>, u64)>,
    ops: HashMap<u64, u32>,
    pub writes: u64,
    pub refused: u64,
}

impl Kv {
    /// An empty store whose [`Kv::put`] writes are made at `home`.
    pub fn at(home: usize) -> Kv {
        Kv {
            home,
            ..Kv::default()
        }
    }

    fn charge(&mut self, invocation: u64) -> Result<(), String> {
        let n = self.ops.entry(invocation).or_insert(0);
        *n += 1;
        if *n > OPS_PER_INVOCATION {
            return Err("KV: too many operations in one invocation".into());
        }
        Ok(())
    }

    /// A read at `loc`: the location's cached copy while it is younger than
    /// `propagation_ms`, else the central value (then cached).
    pub fn get(
        &mut self,
        loc: usize,
        key: &str,
        now: u64,
        propagation_ms: u64,
        invocation: u64,
    ) -> Result<Option<String>, String> {
        self.charge(invocation)?;
        let slot = (loc, key.to_string());
        if let Some((v, at)) = self.cached.get(&slot) {
            if now.saturating_sub(*at) < propagation_ms {
                return Ok(v.clone());
            }
        }
        let v = self
            .central
            .get(key)
            .filter(|v| v.expires_ms > now)
            .map(|v| v.text.clone());
        self.cached.insert(slot, (v.clone(), now));
        Ok(v)
    }

    /// A write of `text` kept `ttl_secs` at [`Kv::home`]; `refusing` is the
    /// fault "KV refuses writes".
    pub fn put(
        &mut self,
        key: &str,
        text: &str,
        ttl_secs: u64,
        now: u64,
        invocation: u64,
        refusing: bool,
    ) -> Result<(), String> {
        let at = (self.home, now, invocation);
        self.put_at(at, key, text, ttl_secs, refusing)
    }

    /// A write made at location `loc`: seen there at once (its read cache
    /// takes the written value, as Cloudflare documents: "changes are
    /// usually immediately visible in the location at which they are made";
    /// the e2e stand-in does the same), elsewhere once their cached reads
    /// expire.
    pub fn put_at(
        &mut self,
        (loc, now, invocation): (usize, u64, u64),
        key: &str,
        text: &str,
        ttl_secs: u64,
        refusing: bool,
    ) -> Result<(), String> {
        self.charge(invocation)?;
        if refusing {
            self.refused += 1;
            return Err("KV: write refused (fault)".into());
        }
        if let Some(v) = self.central.get(key) {
            if v.expires_ms > now && now < v.written_ms.saturating_add(WRITE_INTERVAL_MS) {
                self.refused += 1;
                return Err("KV: 429 more than one write per second to this key".into());
            }
        }
        self.writes += 1;
        let value = Value {
            text: text.to_string(),
            expires_ms: now.saturating_add(ttl_secs.saturating_mul(1000)),
            written_ms: now,
        };
        self.central.insert(key.to_string(), value);
        if let Some(cached) = self.cached.get_mut(&(loc, key.to_string())) {
            *cached = (Some(text.to_string()), now);
        }
        Ok(())
    }

    /// The central value now (the checker's view: no location cache).
    pub fn central(&self, key: &str, now: u64) -> Option<&str> {
        self.central
            .get(key)
            .filter(|v| v.expires_ms > now)
            .map(|v| v.text.as_str())
    }

    /// Forgets finished invocations' counters and read-cache entries past
    /// their time (memory of the model itself stays bounded).
    pub fn tidy(&mut self, now: u64, propagation_ms: u64, live_from: u64) {
        self.cached
            .retain(|_, (_, at)| now.saturating_sub(*at) < propagation_ms);
        self.ops.retain(|inv, _| *inv >= live_from);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_location_sees_a_write_only_after_its_cached_read_expires() {
        let mut kv = Kv::default();
        assert_eq!(kv.get(1, "k", 0, 60_000, 1), Ok(None));
        kv.put("k", "v", 3600, 10, 2, false).unwrap();
        assert_eq!(kv.get(1, "k", 59_999, 60_000, 3), Ok(None));
        assert_eq!(kv.get(1, "k", 60_000, 60_000, 3), Ok(Some("v".into())));
        assert_eq!(kv.get(2, "k", 20, 60_000, 3), Ok(Some("v".into())));
    }

    #[test]
    fn a_write_is_seen_at_once_where_it_was_made() {
        // The writer's soft purge reads the name before writing the merge:
        // its own hard write just before must be what it reads.
        let mut kv = Kv::at(3);
        assert_eq!(kv.get(3, "k", 0, 60_000, 1), Ok(None));
        assert_eq!(kv.get(1, "k", 0, 60_000, 1), Ok(None));
        kv.put("k", "v", 3600, 10, 2, false).unwrap();
        assert_eq!(kv.get(3, "k", 20, 60_000, 3), Ok(Some("v".into())));
        assert_eq!(kv.get(1, "k", 20, 60_000, 3), Ok(None));
        kv.put_at((1, 2_000, 4), "k", "w", 3600, false).unwrap();
        assert_eq!(kv.get(1, "k", 2_001, 60_000, 5), Ok(Some("w".into())));
    }

    #[test]
    fn a_second_write_within_a_second_is_refused_and_values_expire() {
        let mut kv = Kv::default();
        kv.put("k", "a", 60, 0, 1, false).unwrap();
        assert!(kv.put("k", "b", 60, 999, 1, false).is_err());
        kv.put("k", "b", 60, 1000, 1, false).unwrap();
        assert_eq!(kv.central("k", 60_999), Some("b"));
        assert_eq!(kv.central("k", 61_000), None);
    }

    #[test]
    fn an_invocation_has_a_budget_of_operations() {
        let mut kv = Kv::default();
        for _ in 0..OPS_PER_INVOCATION {
            kv.get(0, "k", 0, 0, 7).unwrap();
        }
        assert!(kv.get(0, "k", 0, 0, 7).is_err());
        assert!(kv.get(0, "k", 0, 0, 8).is_ok());
    }
}
