//! The fast path's I/O in a simulated location: `flow::fastpath` (the
//! worker's own sequence) asks it through the simulator's platform
//! (`sim::platform::Sim`): the location's shared copies of log reads (its
//! Cache API: a match and a put take a few milliseconds, a copy lives its
//! `max-age`), and reads of the writer's log (`sim::writer::read_log`: the
//! location's round trip, the writer slow or unreachable as the faults say).
//!
//! It also keeps the fast path's figures ([`FastStats`]) and checks its
//! invariant: **no flood on the writer.** An isolate sends the writer at
//! most one log read per poll interval, whether the writer answers or not
//! (a down writer is backed off from, `purge::fastview`): two of its reads
//! start at least `purge.poll` apart, less the shared-copy lookup that may
//! come between a read's asking and its request ([`COPY_MATCH_MAX_MS`]).

use super::world::World;
use crate::purge::fastview::{interval, read_window_ms, BACKOFF_MIN_MS};
use crate::purge::writer::{staleness_bound, Writer};
use std::collections::HashMap;
use std::rc::Rc;

/// Longest a Cache API match of a shared copy takes here, ms.
pub const COPY_MATCH_MAX_MS: u64 = 5;

/// The fast path's figures in a run.
#[derive(Debug, Default)]
pub struct FastStats {
    /// When each isolate last sent the writer a log read (its location's clock, ms).
    last_read: HashMap<u64, u64>,
    /// Writer log reads per (location, poll interval), for the current intervals.
    per_interval: HashMap<(usize, u64), u32>,
    /// Most writer log reads one location sent in one poll interval.
    pub max_per_interval: u32,
    /// (Location, poll interval) pairs in which the writer was sent a read.
    pub intervals: u64,
    /// Writer log reads that failed (unreachable, timed out).
    pub failed: u64,
    /// Locations that woke from a nap longer than the log's read window.
    pub woke_after_window: u64,
}

/// The copy stored under `key` at location `loc`, if still live (a Cache API
/// match).
pub async fn log_copy(w: &Rc<World>, loc: usize, key: &str) -> Option<String> {
    w.exec.sleep(w.draw(0, COPY_MATCH_MAX_MS)).await;
    let now = w.now();
    let copies = w.locs[loc].fastlog.borrow();
    copies
        .get(key)
        .filter(|(expires, _)| now < *expires)
        .map(|(_, text)| text.clone())
}

/// Stores `text` under `key` at location `loc` for `max_age` seconds (a
/// Cache API put); copies past their age are dropped.
pub async fn put_log_copy(w: &Rc<World>, loc: usize, key: &str, text: &str, max_age: u64) {
    w.exec.sleep(w.draw(0, 10)).await;
    let now = w.now();
    let mut copies = w.locs[loc].fastlog.borrow_mut();
    copies.retain(|_, (expires, _)| now < *expires);
    let expires = now.saturating_add(max_age.saturating_mul(1000));
    copies.insert(key.to_string(), (expires, text.to_string()));
}

/// A read of the writer's log from isolate `iso` at location `loc`, as the
/// writer's `GET /log` answers it (JSON), within `give_up_ms`.
pub async fn read_log(
    w: &Rc<World>,
    loc: usize,
    iso: u64,
    window_ms: u64,
    give_up_ms: u64,
) -> Result<String, String> {
    count(w, loc, iso);
    let read = super::writer::read_log(w, loc, window_ms, give_up_ms).await;
    w.log(|| match &read {
        Ok(r) => format!(
            "isolate {iso} (location {loc}): log read: head {}, {} entries",
            r.head,
            r.entries.len()
        ),
        Err(e) => format!("isolate {iso} (location {loc}): log read failed: {e}"),
    });
    if read.is_err() {
        w.fast.borrow_mut().failed += 1;
    }
    read.map(|r| r.to_json())
}

/// Counts a writer read and checks that it is no flood (module doc).
fn count(w: &World, loc: usize, iso: u64) {
    let poll = w.config.purge.poll_ms;
    // A failed read is retried after the back-off, at least BACKOFF_MIN_MS.
    let spacing = poll.min(BACKOFF_MIN_MS);
    let now = w.clock_ms(loc).0;
    let n = interval(w.clock_ms(loc), poll);
    let mut stats = w.fast.borrow_mut();
    if let Some(last) = stats.last_read.insert(iso, now) {
        if now.saturating_sub(last) + COPY_MATCH_MAX_MS < spacing {
            w.check.borrow_mut().fail(format!(
                "writer flood: isolate {iso} (location {loc}) sent the writer two log reads \
                 {} ms apart (poll {poll} ms, least back-off {BACKOFF_MIN_MS} ms)",
                now.saturating_sub(last)
            ));
        }
    }
    stats.per_interval.retain(|(_, i), _| *i + 1 >= n);
    let c = stats.per_interval.entry((loc, n)).or_insert(0);
    *c += 1;
    let c = *c;
    stats.intervals += u64::from(c == 1);
    stats.max_per_interval = stats.max_per_interval.max(c);
}

/// A location's readers stopping for longer than the log's read window
/// while purges go on elsewhere: when it wakes, its view of the log is
/// older than the window (the purges it missed there are KV's, and it must
/// not take the fast path's word for them).
#[derive(Debug, Clone, Copy)]
pub struct Nap {
    /// When it begins (true ms) and how long it lasts.
    pub at: u64,
    pub ms: u64,
}

/// A nap for a location's readers, in about a quarter of locations.
pub fn nap(w: &World) -> Option<Nap> {
    if !w.chance(0.25) {
        return None;
    }
    let purge = &w.config.purge;
    let window = read_window_ms(purge, staleness_bound(purge, Writer::Single));
    Some(Nap {
        at: w.draw(1_000, 20_000),
        ms: window + w.draw(1_000, 15_000),
    })
}

/// Sleeps through `nap` once it is due (once), counting a wake before `end`.
pub async fn sleep_through(w: &World, loc: usize, nap: &mut Option<Nap>, end: u64) {
    let Some(n) = nap.filter(|n| w.now() >= n.at) else {
        return;
    };
    *nap = None;
    w.log(|| format!("location {loc}: readers idle for {} ms", n.ms));
    w.exec.sleep(n.ms).await;
    if w.now() < end {
        w.fast.borrow_mut().woke_after_window += 1;
    }
}
