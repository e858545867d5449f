//! A deterministic simulator of the edge (`edgecache sim`, `make simulate`;
//! docs/testing.md, "The simulator"): several data centres, each with its
//! Cache API and isolates (memo, memory tier, collapsing, refresh gate);
//! Workers KV with production's behaviour ([`kv`]); the purge writer with a
//! round trip per location ([`writer`]); an origin whose data changes, each
//! change followed by its purge webhook ([`origin`], [`hook`]); clock skew
//! inside the configured allowance; faults ([`script`]). The worker's own
//! request sequence (`flow::lookup`, `flow::purge_request`) runs over the
//! simulator's `flow::platform::Platform` ([`platform`]), and the writer's
//! decisions (`purge::writer`) in the Durable Object's place, on a virtual
//! clock ([`exec`]) with every draw from one seeded RNG: a seed is a run, and
//! a failing one is replayed exactly with `edgecache sim --seed N`. After
//! every step the invariants of [`check`] are checked.

pub mod check;
pub mod edge;
pub mod exec;
pub mod fast;
pub mod hook;
pub mod kv;
pub mod origin;
pub mod platform;
pub mod script;
pub mod world;
pub mod writer;

use crate::config::Config;
use crate::purge::log::ORDER_MAX;
use crate::purge::memo::MEMO_MAX_BYTES;
use crate::purge::webhook::generation_ttl;
use crate::purge::writer::{staleness_bound, Writer, MAX_PENDING};
use script::Shape;
use std::rc::Rc;
use world::{Faults, World};

/// How long after the active time the run goes on (no new changes, readers
/// or faults) so that everything recorded reaches KV, ms.
pub const DRAIN_MS: u64 = 120_000;
/// Most tasks alive at once (requests, webhooks, refreshes, stores).
pub const MAX_TASKS: usize = 20_000;

/// The worker's configuration in every run: one route for the origin's
/// items (a tag per item, stale windows), production's purge settings.
pub const CONFIG: &str = r#"{
  "origin": "https://origin.example.net",
  "routes": [{
    "name": "items", "path": "/api/items/:pk", "ttl": "5m",
    "tags": ["item:{pk}"],
    "stale_while_revalidate": "10s", "stale_if_error": "10m", "timeout": "10s",
    "honor_request_cache_control": true
  }],
  "memory": { "max_bytes": 6000, "max_age": "60s" }
}"#;

/// What a run saw (printed by `edgecache sim --verbose`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub seed: u64,
    pub locations: usize,
    pub virtual_ms: u64,
    pub reads: u64,
    pub purges_acked: usize,
    pub origin_requests: u64,
    pub kv_writes: u64,
    pub kv_refused: u64,
    pub late_reads: u64,
    pub max_lag_ms: u64,
    pub purged_fetches: u64,
    pub max_purged_fetches: u32,
    /// Purges whose receipt stated the fast bound; reads of the writer's log.
    pub fast_purges: usize,
    pub log_reads: u64,
    /// Zone purge calls the API stand-in took (the zone layer's runs).
    pub zone_calls: usize,
    /// Reads of the writer's log that failed (writer down or too slow).
    pub log_reads_failed: u64,
    /// Most reads of the writer's log one location sent in one poll interval,
    /// and the (location, interval) pairs with any: `(log_reads +
    /// log_reads_failed) / log_read_intervals` is the mean per location and
    /// interval while it reads (about 1: the shared copy).
    pub max_log_reads_per_interval: u32,
    pub log_read_intervals: u64,
    /// Locations that woke after idling longer than the log's read window.
    pub woke_after_window: u64,
    /// Requests with a `Cache-Control`, unsafe ones (POST), ones no route
    /// covers (passed through).
    pub directives: u64,
    pub unsafe_requests: u64,
    pub passed_through: u64,
    /// Purges answered 200 that were soft.
    pub soft_purges: usize,
}

/// A failed run: its seed, what broke, and how to replay it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub seed: u64,
    pub mode: Mode,
    pub at_ms: u64,
    pub message: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (seed, m) = (self.seed, self.mode);
        let make = format!(
            "{}{}{}",
            if m.kv_only { " KV_ONLY=1" } else { "" },
            if m.soft { " SOFT=1" } else { "" },
            if m.zone { " ZONE=1" } else { "" }
        );
        let flags = format!(
            "{}{}{}",
            if m.kv_only { " --kv-only" } else { "" },
            if m.soft { " --soft" } else { "" },
            if m.zone { " --zone" } else { "" }
        );
        write!(
            f,
            "seed {seed} failed at t={} ms: {}\n  replay: make simulate SEED={seed}{make}   (or: \
             cargo run --bin edgecache -- sim --seed {seed}{flags} --trace)",
            self.at_ms, self.message
        )
    }
}

/// The shape of seed `seed`'s run: a few minutes of activity, with an idle
/// gap of one to three days in about a third of the runs.
pub fn shape(seed: u64) -> Shape {
    let mut rng = fastrand::Rng::with_seed(seed ^ 0x5aa9e);
    let half_ms = rng.u64(25_000..=75_000);
    let gap_ms = if rng.u8(0..3) == 0 {
        rng.u64(86_400_000..=3 * 86_400_000)
    } else {
        0
    };
    Shape { half_ms, gap_ms }
}

/// How a run is configured besides its seed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Mode {
    /// The fast path off (`purge.poll = "0s"`): every purge held to the KV
    /// bound, the configuration the worker had before issue 25.
    pub kv_only: bool,
    /// A quarter of the purges soft (`"soft": true`); `make test` runs them
    /// in every mode.
    pub soft: bool,
    /// The zone purge layer on (`purge.zone_id`, the Free plan's limits): the
    /// writer makes the zone calls against the stand-in of
    /// `writer::zone_api`, and `writer::zone_check` holds it to them.
    pub zone: bool,
    /// Print each webhook, writer flush, fault and request (stderr).
    pub trace: bool,
}

/// Runs seed `seed` with [`CONFIG`] (the fast path on, `purge.poll` 1 s). A
/// panic anywhere in the run is a failure too.
pub fn run(seed: u64) -> Result<Summary, Failure> {
    run_mode(seed, Mode::default())
}

/// [`run`] with the fast path off ([`Mode::kv_only`]).
pub fn run_kv_only(seed: u64) -> Result<Summary, Failure> {
    let kv_only = true;
    run_mode(
        seed,
        Mode {
            kv_only,
            ..Mode::default()
        },
    )
}

/// [`CONFIG`] with `purge.poll = "0s"`.
pub fn kv_only_config() -> String {
    config_for(Mode {
        kv_only: true,
        ..Mode::default()
    })
}

/// [`CONFIG`] with the `purge` fields `mode` asks for: `poll = "0s"`
/// ([`Mode::kv_only`]), `zone_id` on the Free plan ([`Mode::zone`]).
pub fn config_for(mode: Mode) -> String {
    let mut fields = Vec::new();
    if mode.kv_only {
        fields.push(r#""poll": "0s""#);
    }
    if mode.zone {
        fields.push(r#""zone_id": "simzone", "zone_plan": "free""#);
    }
    if fields.is_empty() {
        return CONFIG.to_string();
    }
    CONFIG.replacen(
        r#""memory":"#,
        &format!("\"purge\": {{ {} }},\n  \"memory\":", fields.join(", ")),
        1,
    )
}

/// [`run`] with the zone purge layer on and soft purges (`purge.zone_id`, the Free plan's
/// limits): the writer makes the zone calls against the stand-in of
/// `writer::zone_api`, and [`writer::zone_check`] holds it to them.
pub fn run_zone(seed: u64) -> Result<Summary, Failure> {
    let (zone, soft) = (true, true);
    run_mode(
        seed,
        Mode {
            zone,
            soft,
            ..Mode::default()
        },
    )
}

/// [`run`], printing webhooks, writer flushes and faults to stderr with `trace`.
pub fn run_traced(seed: u64, trace: bool) -> Result<Summary, Failure> {
    run_mode(
        seed,
        Mode {
            trace,
            ..Mode::default()
        },
    )
}

/// Runs seed `seed` in `mode`.
pub fn run_mode(seed: u64, mode: Mode) -> Result<Summary, Failure> {
    let config = config_for(mode);
    let caught = std::panic::catch_unwind(|| run_inner(seed, mode, &config));
    caught.unwrap_or_else(|p| {
        let message = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panic".into());
        Err(Failure {
            seed,
            mode,
            at_ms: 0,
            message: format!("panicked: {message}"),
        })
    })
}

fn run_inner(seed: u64, mode: Mode, config: &str) -> Result<Summary, Failure> {
    let config = Config::from_json_str(config).map_err(|e| Failure {
        seed,
        mode,
        at_ms: 0,
        message: format!("config: {e}"),
    })?;
    let bound_ms = staleness_bound(&config.purge, Writer::Single).saturating_mul(1000);
    let w = script::world(config, seed);
    w.trace.set(mode.trace);
    w.soft_purges.set(mode.soft);
    let mut checker = check::Checker::new(bound_ms);
    let route = &w.config.routes[0];
    let per_resource = w.origin.borrow().cache_control.clone();
    checker.windows = check::Windows {
        per_resource: per_resource
            .iter()
            .map(|cc| origin::stale_windows(route, cc))
            .collect(),
        skew_ms: w.config.purge.clock_skew.saturating_mul(1000),
    };
    *w.check.borrow_mut() = checker;
    let shape = shape(seed);
    for loc in 0..w.locs.len() {
        w.exec.spawn(script::readers(w.clone(), loc, shape));
    }
    w.exec.spawn(script::editors(w.clone(), shape));
    w.exec.spawn(script::faults(w.clone(), shape));
    let fail = |w: &World, message: String| Failure {
        seed,
        mode,
        at_ms: w.now(),
        message,
    };
    let end = shape.end() + DRAIN_MS;
    let mut drained = false;
    let mut steps: u64 = 0;
    while w.exec.step(end) {
        steps += 1;
        if !drained && w.now() >= shape.end() {
            drained = true;
            if w.faults.get().origin != world::OriginFault::Healthy {
                w.origin.borrow_mut().healthy_since = w.now();
            }
            w.faults.set(Faults::default());
            if let Some(last) = w.check.borrow_mut().refusals.last_mut() {
                last.1.get_or_insert(shape.end());
            }
        }
        if let Err(m) = bounded(&w) {
            return Err(fail(&w, m));
        }
        if let Some(m) = w.check.borrow().violation.clone() {
            return Err(fail(&w, m));
        }
        if steps.is_multiple_of(5_000) {
            let (now, prop) = (w.now(), w.propagation_ms());
            w.kv.borrow_mut().tidy(now, prop, 0);
        }
    }
    let now = w.now();
    let ttl_ms = generation_ttl().saturating_mul(1000);
    let skew_ms = w.config.purge.clock_skew.saturating_mul(1000);
    let kv = w.kv.borrow();
    w.check.borrow_mut().lost(now, ttl_ms, skew_ms, |k| {
        kv.central(k, now).map(str::to_string)
    });
    drop(kv);
    if let Some(m) = w.check.borrow().violation.clone() {
        return Err(fail(&w, m));
    }
    writer::zone_check(&w).map_err(|m| fail(&w, m))?;
    Ok(summary(&w, seed))
}

fn summary(w: &World, seed: u64) -> Summary {
    let check = w.check.borrow();
    let kv = w.kv.borrow();
    Summary {
        seed,
        locations: w.locs.len(),
        virtual_ms: w.now(),
        reads: check.reads,
        purges_acked: check.acked.len(),
        origin_requests: w.origin.borrow().requests,
        kv_writes: kv.writes,
        kv_refused: kv.refused,
        late_reads: check.late_reads,
        max_lag_ms: check.max_lag_ms,
        purged_fetches: check.purged_fetches,
        max_purged_fetches: check.max_purged_fetches,
        fast_purges: check
            .acked
            .iter()
            .filter(|a| a.bound_ms < check.backstop_ms)
            .count(),
        log_reads: w.writer.borrow().log_reads,
        zone_calls: w.writer.borrow().zone_calls.len(),
        log_reads_failed: w.fast.borrow().failed,
        max_log_reads_per_interval: w.fast.borrow().max_per_interval,
        log_read_intervals: w.fast.borrow().intervals,
        woke_after_window: w.fast.borrow().woke_after_window,
        directives: check.kinds[0],
        unsafe_requests: check.kinds[1],
        passed_through: check.kinds[2],
        soft_purges: check.acked.iter().filter(|a| a.soft).count(),
    }
}

/// Invariant 4: memory stays bounded.
fn bounded(w: &Rc<World>) -> Result<(), String> {
    let max_memory = w.config.memory.max_bytes;
    for loc in &w.locs {
        for iso in loc.isolates.borrow().iter() {
            let f = &iso.flow;
            let memo = f.memo.borrow().used_bytes();
            let memory = f.memory.borrow().used_bytes();
            let collapse = f.collapse.borrow().used_bytes();
            let refresh = f.refresh.borrow().used_bytes();
            let order = f.fast.borrow().order().len();
            if memo > MEMO_MAX_BYTES
                || order > ORDER_MAX
                || memory > max_memory
                || collapse > crate::flow::collapse::COLLAPSE_MAX_BYTES
                || refresh > crate::flow::refresh::REFRESH_GATE_MAX_BYTES
            {
                return Err(format!(
                    "memory: isolate {} holds memo {memo} B, memory tier {memory} B, \
                     collapser {collapse} B, refresh gate {refresh} B, log order {order}",
                    iso.id
                ));
            }
        }
    }
    let pending = w.writer.borrow().pending();
    if pending > MAX_PENDING {
        return Err(format!(
            "writer: {pending} names pending (at most {MAX_PENDING})"
        ));
    }
    let live = w.exec.live();
    if live > MAX_TASKS {
        return Err(format!("{live} tasks alive (at most {MAX_TASKS})"));
    }
    Ok(())
}
