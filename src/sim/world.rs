//! The simulated edge: data centres (each with its Cache API, its clock skew,
//! its round trip to the purge writer and its isolates), Workers KV, the
//! writer, the origin, the faults in force, and the invariant checker. One
//! `World` per run, shared by the run's tasks (`Rc`, single-threaded).

use super::check::Checker;
use super::exec::Exec;
use super::kv::Kv;
use super::origin::Origin;
use super::writer::WriterModel;
use crate::config::Config;
use crate::http::headers::Headers;
use crate::http::time::{UnixMillis, UnixSecs};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

/// Unix time (ms) at the run's true time 0.
pub const EPOCH_MS: u64 = 1_800_000_000_000;
/// Bytes of every simulated body.
pub const BODY_BYTES: u64 = 700;

/// A Cache API entry: the stored headers, the body (its origin version) and
/// when the Cache API drops it (true ms, from the stored `max-age`).
#[derive(Debug, Clone)]
pub struct Cached {
    pub headers: Headers,
    pub version: u64,
    pub expires: u64,
    /// When it was put (true ms).
    pub stored_at: u64,
}

/// The worker's per-isolate state (`flow::isolate::Isolate`: memo, memory
/// tier, collapser, refresh gate), with the simulator's name for it.
pub struct SimIsolate {
    pub id: u64,
    pub loc: usize,
    pub flow: Rc<FlowIsolate>,
}

pub type FlowIsolate = crate::flow::isolate::Isolate<super::platform::Sim>;

impl SimIsolate {
    pub fn new(id: u64, loc: usize, config: &Config) -> SimIsolate {
        SimIsolate {
            id,
            loc,
            flow: Rc::new(FlowIsolate::new(config.clone(), None)),
        }
    }
}

/// A data centre.
pub struct Location {
    /// Its clock minus true time, ms (within the configured allowance).
    pub skew_ms: i64,
    /// Round trip to the purge writer's location, ms.
    pub rtt_ms: u64,
    pub cache: RefCell<HashMap<String, Cached>>,
    pub isolates: RefCell<Vec<Rc<SimIsolate>>>,
    /// The location's shared copies of purge log reads (Cache API, one key
    /// per poll interval, `flow::fastpath`): when each expires (true ms),
    /// and its text.
    pub fastlog: RefCell<HashMap<String, (u64, String)>>,
}

/// Faults in force now.
#[derive(Debug, Default, Clone, Copy)]
pub struct Faults {
    pub kv_refuses_writes: bool,
    pub kv_reads_fail: bool,
    pub writer_unreachable: bool,
    /// Reads of the purge log take 0.5 s to twice their give-up time.
    pub writer_slow: bool,
    /// The zone purge API answers 429 or 503.
    pub zone_refusing: bool,
    pub origin: OriginFault,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum OriginFault {
    #[default]
    Healthy,
    /// Every answer a 503.
    Errors,
    /// No answer: the fetch times out.
    Hangs,
    /// Answers after several seconds (within the route's timeout).
    Slow,
}

pub struct World {
    pub exec: Rc<Exec>,
    pub rng: RefCell<fastrand::Rng>,
    pub config: Config,
    pub locs: Vec<Location>,
    pub kv: RefCell<Kv>,
    pub writer: RefCell<WriterModel>,
    pub origin: RefCell<Origin>,
    pub faults: Cell<Faults>,
    pub check: RefCell<Checker>,
    /// The resource each webhook invocation purges (for the checker).
    pub purging: RefCell<HashMap<u64, usize>>,
    next_id: Cell<u64>,
    /// Print a line per webhook, writer flush and fault (`edgecache sim --trace`).
    pub trace: Cell<bool>,
    /// The fast path's figures and its no-flood check (`sim::fast`).
    pub fast: RefCell<super::fast::FastStats>,
    /// Some purges are soft (`edgecache sim --soft`, [`super::Mode::soft`]).
    pub soft_purges: Cell<bool>,
}

impl World {
    pub fn new(config: Config, seed: u64, locs: Vec<Location>, writer_loc: usize) -> Rc<World> {
        Rc::new(World {
            exec: Exec::new(),
            rng: RefCell::new(fastrand::Rng::with_seed(seed)),
            config,
            locs,
            kv: RefCell::new(Kv::at(writer_loc)),
            writer: RefCell::new(WriterModel::new(writer_loc)),
            origin: RefCell::new(Origin::default()),
            faults: Cell::new(Faults::default()),
            check: RefCell::new(Checker::default()),
            purging: RefCell::new(HashMap::new()),
            next_id: Cell::new(0),
            trace: Cell::new(false),
            fast: RefCell::default(),
            soft_purges: Cell::new(false),
        })
    }

    /// A fresh id (isolates, invocations, nonces' salt).
    pub fn id(&self) -> u64 {
        let n = self.next_id.get() + 1;
        self.next_id.set(n);
        n
    }

    /// A draw in `lo..=hi`.
    pub fn draw(&self, lo: u64, hi: u64) -> u64 {
        self.rng.borrow_mut().u64(lo..=hi)
    }

    /// True with probability `p`.
    pub fn chance(&self, p: f64) -> bool {
        self.rng.borrow_mut().f64() < p
    }

    /// A trace line (only with `--trace`).
    pub fn log(&self, what: impl FnOnce() -> String) {
        if self.trace.get() {
            eprintln!("t={:>10} ms  {}", self.now(), what());
        }
    }

    pub fn now(&self) -> u64 {
        self.exec.now()
    }

    /// The clock of location `loc` (its skew applied), Unix ms.
    pub fn clock_ms(&self, loc: usize) -> UnixMillis {
        let t = EPOCH_MS as i64 + self.now() as i64 + self.locs[loc].skew_ms;
        UnixMillis(u64::try_from(t).unwrap_or(0))
    }

    pub fn clock_secs(&self, loc: usize) -> UnixSecs {
        self.clock_ms(loc).to_secs()
    }

    /// True ms of the moment location `loc`'s clock shows `at`.
    pub fn true_ms(&self, loc: usize, at: UnixMillis) -> u64 {
        let t = at.0 as i64 - EPOCH_MS as i64 - self.locs[loc].skew_ms;
        u64::try_from(t).unwrap_or(0)
    }

    pub fn propagation_ms(&self) -> u64 {
        self.config.purge.kv_propagation.saturating_mul(1000)
    }

    /// A KV read from `loc` (a few ms when the location has it cached, more
    /// otherwise); fails while the fault "KV reads fail" holds.
    pub async fn kv_get(&self, loc: usize, key: &str, inv: u64) -> Result<Option<String>, String> {
        let ms = self.draw(1, 60);
        self.exec.sleep(ms).await;
        if self.faults.get().kv_reads_fail {
            return Err("KV: read failed (fault)".into());
        }
        let (now, prop) = (self.now(), self.propagation_ms());
        self.kv.borrow_mut().get(loc, key, now, prop, inv)
    }

    /// A KV write from `loc`, taking 20–300 ms.
    pub async fn kv_put(
        &self,
        loc: usize,
        key: &str,
        text: &str,
        ttl: u64,
        inv: u64,
    ) -> Result<(), String> {
        let ms = self.draw(20, 300);
        self.exec.sleep(ms).await;
        let refusing = self.faults.get().kv_refuses_writes;
        let now = self.now();
        self.kv
            .borrow_mut()
            .put_at((loc, now, inv), key, text, ttl, refusing)
    }

    /// The location's Cache API entry under `key`, if not expired.
    pub async fn cache_match(&self, loc: usize, key: &str) -> Option<Cached> {
        let ms = self.draw(0, 5);
        self.exec.sleep(ms).await;
        let now = self.now();
        let mut cache = self.locs[loc].cache.borrow_mut();
        match cache.get(key) {
            Some(c) if c.expires > now => Some(c.clone()),
            Some(_) => {
                cache.remove(key);
                None
            }
            None => None,
        }
    }

    /// A Cache API put: kept for the stored `cache-control: max-age`.
    pub async fn cache_put(&self, loc: usize, key: &str, headers: Headers, version: u64) {
        let ms = self.draw(0, 10);
        self.exec.sleep(ms).await;
        let keep = headers
            .get("cache-control")
            .and_then(|v| v.strip_prefix("max-age="))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        let expires = self.now().saturating_add(keep.saturating_mul(1000));
        self.log(|| {
            let stamp = headers.get("x-edgecache-gen").unwrap_or("");
            format!("cache put at location {loc}: {key} v{version} stamp {stamp}")
        });
        let c = Cached {
            headers,
            version,
            expires,
            stored_at: self.now(),
        };
        self.locs[loc].cache.borrow_mut().insert(key.to_string(), c);
    }
}
