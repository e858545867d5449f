//! What happens in a run, drawn from its seed: the data centres (clock skew
//! within the configured allowance, round trip to the writer), readers in
//! each location (plain GETs, and some with a request `Cache-Control`, some
//! unsafe, some on a path no route covers: [`kind`]), the origin's changes
//! (each followed by its webhook), an optional idle gap of days (purge
//! records and cached entries age), a location's readers idle for longer than
//! the purge log's window (`sim::fast::Nap`), and the faults: KV refusing
//! writes, KV reads failing, the writer unreachable (its
//! hand-offs and log reads) or slow (log reads past their timeout), the
//! origin answering 503, hanging or slow, isolates evicted, Cache API
//! entries evicted.

use super::edge::Kind;
use super::origin::{live_url, url, RESOURCES};
use super::world::{Faults, Location, OriginFault, SimIsolate, World};
use crate::config::Config;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// The run's shape.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Active time before and after the gap, ms each.
    pub half_ms: u64,
    /// The idle gap between the halves, ms (0: none).
    pub gap_ms: u64,
}

impl Shape {
    pub fn end(&self) -> u64 {
        2 * self.half_ms + self.gap_ms
    }
    /// Whether true time `t` is inside the gap; if so, when it ends.
    pub fn gap_end(&self, t: u64) -> Option<u64> {
        let end = self.half_ms + self.gap_ms;
        (self.gap_ms > 0 && t >= self.half_ms && t < end).then_some(end)
    }
}

/// Builds the world for `seed`.
pub fn world(config: Config, seed: u64) -> Rc<World> {
    let mut rng = fastrand::Rng::with_seed(seed ^ 0x5eed);
    let n = rng.usize(2..=4);
    let skew = config.purge.clock_skew.saturating_mul(1000) as i64 / 2;
    let writer_loc = rng.usize(0..n);
    let locs = (0..n)
        .map(|i| Location {
            skew_ms: rng.i64(-skew..=skew),
            rtt_ms: if i == writer_loc {
                rng.u64(0..=5)
            } else {
                rng.u64(10..=300)
            },
            cache: RefCell::new(HashMap::new()),
            isolates: RefCell::new(Vec::new()),
            fastlog: RefCell::new(HashMap::new()),
        })
        .collect();
    let w = World::new(config, seed, locs, writer_loc);
    w.origin.borrow_mut().cache_control = (0..RESOURCES)
        .map(|_| super::origin::CACHE_CONTROLS[rng.usize(0..4)])
        .collect();
    for (i, loc) in w.locs.iter().enumerate() {
        let count = w.draw(1, 3);
        for _ in 0..count {
            let iso = Rc::new(SimIsolate::new(w.id(), i, &w.config));
            loc.isolates.borrow_mut().push(iso);
        }
    }
    w
}

/// Sleeps `ms`, skipping the gap; false once the active time is over.
async fn pause(w: &World, shape: Shape, ms: u64) -> bool {
    w.exec.sleep(ms).await;
    if let Some(end) = shape.gap_end(w.now()) {
        w.exec.sleep(end - w.now()).await;
    }
    w.now() < shape.end()
}

/// Readers at location `loc`: bursts of requests for a popular resource.
pub async fn readers(w: Rc<World>, loc: usize, shape: Shape) {
    let mean = w.draw(100, 900);
    let mut nap = super::fast::nap(&w);
    while pause(&w, shape, w.draw(1, 2 * mean)).await {
        super::fast::sleep_through(&w, loc, &mut nap, shape.end()).await;
        let r = popular(&w);
        let iso = {
            let isolates = w.locs[loc].isolates.borrow();
            isolates[w.draw(0, isolates.len() as u64 - 1) as usize].clone()
        };
        let (kind, url) = kind(&w, r);
        let world = w.clone();
        w.exec.spawn(super::edge::request(world, iso, url, kind));
    }
}

/// What a reader sends: mostly plain GETs; some with a request
/// `Cache-Control`, some unsafe (POST), some on a path no route covers.
fn kind(w: &World, r: usize) -> (Kind, String) {
    match w.draw(0, 99) {
        0..=2 => (Kind::Directive("no-cache"), url(r)),
        3..=4 => (Kind::Directive("max-age=0"), url(r)),
        5..=7 => (Kind::Directive("only-if-cached"), url(r)),
        8..=9 => (Kind::Unsafe, url(r)),
        10..=11 => (Kind::Uncached, live_url(r)),
        _ => (Kind::Get, url(r)),
    }
}

fn popular(w: &World) -> usize {
    let r = w.draw(0, 9) as usize;
    [0, 0, 0, 0, 1, 1, 1, 2, 2, 3][r] % RESOURCES
}

/// The origin's editors: a change every few seconds.
pub async fn editors(w: Rc<World>, shape: Shape) {
    let mean = w.draw(2_000, 15_000);
    while pause(&w, shape, w.draw(100, 2 * mean)).await {
        let r = popular(&w);
        w.exec.spawn(super::hook::change(w.clone(), r));
    }
}

/// The faults: one at a time, each for a while.
pub async fn faults(w: Rc<World>, shape: Shape) {
    let rate = w.draw(5_000, 40_000);
    // Right after a gap, the origin may be down: old entries are asked to
    // stand in (stale-if-error) when their purge records have aged.
    if shape.gap_ms > 0 && w.chance(0.7) {
        let world = w.clone();
        w.exec.spawn(async move {
            world.exec.sleep(shape.half_ms + shape.gap_ms).await;
            let down = Faults {
                origin: OriginFault::Errors,
                ..Faults::default()
            };
            world.faults.set(down);
            world.exec.sleep(30_000).await;
            world.faults.set(Faults::default());
            world.origin.borrow_mut().healthy_since = world.now();
        });
    }
    while pause(&w, shape, w.draw(1_000, 2 * rate)).await {
        let lasts = w.draw(500, 20_000);
        // The zone API's fault only where the zone layer is on, and often
        // there (the other runs draw as before).
        let kinds = if w.config.purge.zone_id.is_some() {
            12
        } else {
            9
        };
        match w.draw(0, kinds) {
            0 => kv_refusal(&w, lasts).await,
            1 => hold(&w, lasts, |f| f.kv_reads_fail = true).await,
            2 => hold(&w, lasts, |f| f.writer_unreachable = true).await,
            3 => hold(&w, lasts, |f| f.origin = OriginFault::Errors).await,
            4 => hold(&w, lasts, |f| f.origin = OriginFault::Hangs).await,
            5 => hold(&w, lasts, |f| f.origin = OriginFault::Slow).await,
            6 => hold(&w, lasts, |f| f.writer_slow = true).await,
            7 => evict_isolate(&w),
            10..=12 => hold(&w, lasts, |f| f.zone_refusing = true).await,
            _ => evict_cache(&w),
        }
    }
}

async fn hold(w: &World, ms: u64, set: impl Fn(&mut Faults)) {
    let mut f = w.faults.get();
    set(&mut f);
    w.faults.set(f);
    w.log(|| format!("fault for {ms} ms: {f:?}"));
    w.exec.sleep(ms).await;
    // (The drain may have cleared it already: the fault set is what counts.)
    if f.origin != OriginFault::Healthy {
        w.origin.borrow_mut().healthy_since = w.now();
    }
    w.faults.set(Faults::default());
}

async fn kv_refusal(w: &World, ms: u64) {
    let start = w.now();
    w.check.borrow_mut().refusals.push((start, None));
    hold(w, ms, |f| f.kv_refuses_writes = true).await;
    let end = w.now();
    if let Some(last) = w.check.borrow_mut().refusals.last_mut() {
        last.1 = Some(end);
    }
}

/// An isolate is evicted; a fresh one (empty memo, memory tier, flights) takes its place.
fn evict_isolate(w: &World) {
    let loc = w.draw(0, w.locs.len() as u64 - 1) as usize;
    let mut isolates = w.locs[loc].isolates.borrow_mut();
    let i = w.draw(0, isolates.len() as u64 - 1) as usize;
    isolates[i] = Rc::new(SimIsolate::new(w.id(), loc, &w.config));
}

/// The Cache API of a location drops some entries (it may evict at any time).
fn evict_cache(w: &World) {
    let loc = w.draw(0, w.locs.len() as u64 - 1) as usize;
    let mut cache = w.locs[loc].cache.borrow_mut();
    let mut keys: Vec<String> = cache.keys().cloned().collect();
    keys.sort();
    for k in keys {
        if w.chance(0.5) {
            cache.remove(&k);
        }
    }
}
