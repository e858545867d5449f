//! The simulator's implementation of `flow::platform::Platform`: the request
//! sequence the worker runs (`flow::lookup`, `flow::miss`, `flow::settle`,
//! `flow::purge_request`) runs here on the virtual clock, against the
//! simulated data centre's cache, Workers KV, the purge writer and the
//! origin. One handle per Worker invocation (a request or a webhook): it
//! knows its location (cache, KV read cache, clock skew, round trip to the
//! writer) and its invocation (KV's per-invocation operation budget).
//! Background work (`wait_until`) becomes a task of the executor.

use super::origin::{self, Fetch as OriginFetch};
use super::world::{SimIsolate, World};
use crate::flow::platform::{
    Answer, Background, Completion, Fetch, IoError, Matched, OriginRequest, Platform, Source,
};
use crate::http::cache_status::Detail;
use crate::http::headers::Headers;
use crate::http::time::UnixMillis;
use crate::purge::writer::{Handoff, Stored};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// A body: a version of an origin resource (its bytes stand for
/// `BODY_BYTES`), or bytes the worker or a client wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    Version(u64),
    Bytes(Rc<Vec<u8>>),
}

impl Body {
    pub fn len(&self) -> u64 {
        match self {
            Body::Version(_) => super::world::BODY_BYTES,
            Body::Bytes(b) => b.len() as u64,
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn version(&self) -> Option<u64> {
        match self {
            Body::Version(v) => Some(*v),
            Body::Bytes(_) => None,
        }
    }
}

/// The body of a `Source`, whichever kind.
pub fn source_body(s: &Source<Body, Body>) -> Body {
    match s {
        Source::Stream(b) | Source::Whole(b) => b.clone(),
        Source::Bytes(b) => Body::Bytes(Rc::new(b.clone())),
    }
}

/// One invocation's view of the world.
#[derive(Clone)]
pub struct Sim {
    pub w: Rc<World>,
    pub loc: usize,
    pub inv: u64,
    /// The last hand-off the writer accepted from this invocation (what the
    /// checker holds a 200 to).
    handed: Rc<RefCell<Option<Handoff>>>,
    /// The isolate a request runs in (its reads of the writer's log are
    /// counted per isolate, `sim::fast`); 0 outside one.
    iso: u64,
    /// The fast path answered that this request serves under the KV bound
    /// only (what the checker holds it to: its `Cache-Status` has room for
    /// one detail, and an answer such as stale-if-error's names its own).
    behind: Rc<Cell<bool>>,
}

impl Sim {
    pub fn new(w: &Rc<World>, loc: usize) -> Sim {
        Sim {
            w: w.clone(),
            loc,
            inv: w.id(),
            handed: Rc::default(),
            iso: 0,
            behind: Rc::default(),
        }
    }

    /// Whether this request was told to serve under the KV bound only.
    pub fn behind(&self) -> bool {
        self.behind.get()
    }

    /// A request's handle in isolate `iso`.
    pub fn in_isolate(w: &Rc<World>, iso: &Rc<SimIsolate>) -> Sim {
        Sim {
            iso: iso.id,
            ..Sim::new(w, iso.loc)
        }
    }

    pub fn handed_off(&self) -> Option<Handoff> {
        self.handed.borrow().clone()
    }
}

impl Platform for Sim {
    type Body = Body;
    type Whole = Body;

    fn now(&self) -> UnixMillis {
        self.w.clock_ms(self.loc)
    }

    async fn sleep(&self, ms: u64) {
        self.w.exec.sleep(ms).await;
    }

    fn wait_until(&self, work: Background) {
        self.w.exec.spawn(work);
    }

    fn nonce(&self) -> u64 {
        self.w.rng.borrow_mut().u64(..)
    }

    fn random(&self) -> f64 {
        self.w.rng.borrow_mut().f64()
    }

    fn log(&self, event: &str, fields: serde_json::Value) {
        self.w
            .log(|| format!("location {}: {event} {fields}", self.loc));
    }

    async fn cache_match(&self, key: &str) -> Option<Matched<Body>> {
        let c = self.w.cache_match(self.loc, key).await?;
        Some(Matched {
            headers: c.headers,
            body: Body::Version(c.version),
        })
    }

    async fn cache_put(
        &self,
        key: &str,
        _status: u16,
        headers: &Headers,
        body: Source<Body, Body>,
    ) -> Result<(), IoError> {
        let Some(version) = source_body(&body).version() else {
            return Err(IoError("the simulator stores only origin bodies".into()));
        };
        self.w
            .cache_put(self.loc, key, headers.clone(), version)
            .await;
        Ok(())
    }

    async fn cache_delete(&self, key: &str) -> bool {
        self.w.exec.sleep(self.w.draw(0, 5)).await;
        let removed = self.w.locs[self.loc].cache.borrow_mut().remove(key);
        removed.is_some()
    }

    async fn kv_get(&self, key: &str) -> Result<Option<String>, IoError> {
        self.w
            .kv_get(self.loc, key, self.inv)
            .await
            .map_err(IoError)
    }

    async fn kv_put(&self, key: &str, value: &str, ttl: u64) -> Result<(), IoError> {
        self.w
            .kv_put(self.loc, key, value, ttl, self.inv)
            .await
            .map_err(IoError)
    }

    fn has_writer(&self) -> bool {
        true
    }

    /// The simulated writer runs the writer's sequence (`flow::writer`):
    /// it logs the purge when the hand-off asks (`purge::log`); the receipt
    /// then states the fast bound, the one the staleness invariant checks.
    async fn hand_off(&self, handoff: &Handoff) -> Result<Stored, IoError> {
        let stored = super::writer::hand_off(&self.w, self.loc, handoff)
            .await
            .map_err(IoError)?;
        *self.handed.borrow_mut() = Some(handoff.clone());
        if let Some(r) = self.w.purging.borrow_mut().remove(&self.inv) {
            self.w.check.borrow_mut().recorded(r);
        }
        Ok(stored)
    }

    async fn log_copy(&self, key: &str) -> Option<String> {
        super::fast::log_copy(&self.w, self.loc, key).await
    }

    async fn put_log_copy(&self, key: &str, text: &str, max_age: u64) {
        super::fast::put_log_copy(&self.w, self.loc, key, text, max_age).await;
    }

    async fn read_log(&self, window_ms: u64, give_up_ms: u64) -> Result<String, IoError> {
        super::fast::read_log(&self.w, self.loc, self.iso, window_ms, give_up_ms)
            .await
            .map_err(IoError)
    }

    fn behind(&self, _detail: Detail) {
        self.behind.set(true);
    }

    async fn fetch(&self, req: OriginRequest<'_, Body>) -> Fetch<Body> {
        let timeout = req.timeout.as_secs();
        match origin::fetch(&self.w, req.url, req.headers, timeout).await {
            OriginFetch::Response(a) => Fetch::Answered(Answer {
                status: a.status,
                headers: a.headers,
                body: Body::Version(a.version),
            }),
            OriginFetch::Failed(error) => Fetch::Failed {
                error,
                why: format!("{error:?}"),
            },
        }
    }

    fn tee(&self, body: &mut Body) -> Result<Body, IoError> {
        Ok(body.clone())
    }

    async fn read_whole(
        &self,
        body: Body,
        expected: Option<u64>,
        limit: u64,
    ) -> Result<Option<(Body, u64)>, IoError> {
        let len = body.len();
        let short = expected.is_some_and(|e| e != len);
        Ok((!short && len <= limit).then_some((body, len)))
    }

    async fn read_upto(&self, body: Body, limit: usize) -> Option<Vec<u8>> {
        match body {
            Body::Bytes(b) => Some(b.iter().take(limit).copied().collect()),
            Body::Version(_) => None,
        }
    }

    fn guard(&self, body: Body, _expected: Option<u64>) -> (Body, Option<Completion>) {
        (body, Some(Box::pin(async { Some(true) })))
    }
}
