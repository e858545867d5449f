//! The request sequence (`flow::lookup`, `flow::miss`, `flow::settle`,
//! `flow::purge_request`) run natively over a small in-memory
//! `flow::platform::Platform`: the code the edge runs, without Miniflare.
//! Every platform call completes at once, so each request is polled to its
//! end with `now_or_never`; background work runs when the test says.

use edgecache::config::Config;
use edgecache::flow::isolate::{Cx, Isolate};
use edgecache::flow::platform::{
    Answer, Background, Completion, Fetch, IoError, Matched, OriginRequest, Platform, Reply, Source,
};
use edgecache::flow::purge_request::{purge, PurgeRequest};
use edgecache::flow::{plan, Incoming, Plan};
use edgecache::http::headers::Headers;
use edgecache::http::method::Method;
use edgecache::http::time::UnixMillis;
use edgecache::purge::signature::{sign, Secret};
use edgecache::purge::writer::{Handoff, Stored as WriterStored};
use futures_util::FutureExt;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

type Stored = (u16, Headers, Vec<u8>);

/// The origin's next answer: status, fields, body.
type OriginFn = Box<dyn Fn(&Headers) -> Stored>;

#[derive(Default)]
struct World {
    now: Cell<u64>,
    cache: RefCell<HashMap<String, Stored>>,
    kv: RefCell<HashMap<String, String>>,
    origin: RefCell<Option<OriginFn>>,
    /// The header lists the origin was sent, in order.
    sent: RefCell<Vec<Headers>>,
    background: RefCell<Vec<Background>>,
    /// Origin fetches wait while this is set (a request in flight).
    hold_fetch: Cell<bool>,
    /// Timers yield once before they fire (a follower's wait can be paused).
    timers_yield: Cell<bool>,
    /// KV reads fail.
    kv_fails: Cell<bool>,
    /// A purge writer is bound (it records hand-offs; it writes nothing
    /// to KV in these tests).
    writer: Cell<bool>,
}

#[derive(Clone, Default)]
struct Fake(Rc<World>);

fn bytes(s: Source<Vec<u8>, Rc<Vec<u8>>>) -> Vec<u8> {
    match s {
        Source::Stream(b) | Source::Bytes(b) => b,
        Source::Whole(w) => w.to_vec(),
    }
}

impl Platform for Fake {
    type Body = Vec<u8>;
    type Whole = Rc<Vec<u8>>;

    fn now(&self) -> UnixMillis {
        UnixMillis(self.0.now.get())
    }
    async fn sleep(&self, ms: u64) {
        if self.0.timers_yield.get() {
            let mut yielded = false;
            std::future::poll_fn(|_| match std::mem::replace(&mut yielded, true) {
                false => Poll::Pending,
                true => Poll::Ready(()),
            })
            .await;
        }
        self.0.now.set(self.0.now.get() + ms);
    }
    fn wait_until(&self, work: Background) {
        self.0.background.borrow_mut().push(work);
    }
    fn nonce(&self) -> u64 {
        7
    }
    fn log(&self, _: &str, _: serde_json::Value) {}
    async fn cache_match(&self, key: &str) -> Option<Matched<Vec<u8>>> {
        let (_, headers, body) = self.0.cache.borrow().get(key).cloned()?;
        Some(Matched { headers, body })
    }
    async fn cache_put(
        &self,
        key: &str,
        status: u16,
        headers: &Headers,
        body: Source<Vec<u8>, Rc<Vec<u8>>>,
    ) -> Result<(), IoError> {
        let entry = (status, headers.clone(), bytes(body));
        self.0.cache.borrow_mut().insert(key.to_string(), entry);
        Ok(())
    }
    async fn cache_delete(&self, key: &str) -> bool {
        self.0.cache.borrow_mut().remove(key).is_some()
    }
    async fn kv_get(&self, key: &str) -> Result<Option<String>, IoError> {
        if self.0.kv_fails.get() {
            return Err(IoError("KV read failed".into()));
        }
        Ok(self.0.kv.borrow().get(key).cloned())
    }
    async fn kv_put(&self, key: &str, value: &str, _ttl: u64) -> Result<(), IoError> {
        self.0.kv.borrow_mut().insert(key.into(), value.into());
        Ok(())
    }
    fn has_writer(&self) -> bool {
        self.0.writer.get()
    }
    async fn hand_off(&self, h: &Handoff) -> Result<WriterStored, IoError> {
        match self.0.writer.get() {
            true => Ok(WriterStored::recorded(false, h.receipt.as_ref())),
            false => Err(IoError("no writer".into())),
        }
    }
    async fn fetch(&self, req: OriginRequest<'_, Vec<u8>>) -> Fetch<Vec<u8>> {
        let held = &self.0.hold_fetch;
        std::future::poll_fn(|_| match held.get() {
            true => Poll::Pending,
            false => Poll::Ready(()),
        })
        .await;
        self.0.sent.borrow_mut().push(req.headers.clone());
        let (status, headers, body) = (self.0.origin.borrow().as_ref().unwrap())(req.headers);
        Fetch::Answered(Answer {
            status,
            headers,
            body,
        })
    }
    fn tee(&self, body: &mut Vec<u8>) -> Result<Vec<u8>, IoError> {
        Ok(body.clone())
    }
    async fn read_whole(
        &self,
        body: Vec<u8>,
        _: Option<u64>,
        limit: u64,
    ) -> Result<Option<(Rc<Vec<u8>>, u64)>, IoError> {
        let n = body.len() as u64;
        Ok((n <= limit).then(|| (Rc::new(body), n)))
    }
    async fn read_upto(&self, mut body: Vec<u8>, limit: usize) -> Option<Vec<u8>> {
        body.truncate(limit);
        Some(body)
    }
    fn guard(&self, body: Vec<u8>, _: Option<u64>) -> (Vec<u8>, Option<Completion>) {
        (body, None)
    }
}

impl Fake {
    fn origin(&self, f: impl Fn(&Headers) -> Stored + 'static) {
        *self.0.origin.borrow_mut() = Some(Box::new(f));
    }
    /// Runs the background work handed over so far (and any it hands over).
    fn settle(&self) {
        loop {
            let work: Vec<Background> = self.0.background.borrow_mut().drain(..).collect();
            if work.is_empty() {
                return;
            }
            for w in work {
                w.now_or_never().expect("background work completes");
            }
        }
    }
    fn advance_secs(&self, s: u64) {
        self.0.now.set(self.0.now.get() + s * 1000);
    }
}

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn config() -> Config {
    Config::from_json_str(
        r#"{"origin":"http://origin.test","routes":[{"name":"api","path":"/api/*","ttl":"1m",
            "stale_while_revalidate":"1m"}]}"#,
    )
    .unwrap()
}

fn fields(pairs: &[(&str, &str)]) -> Headers {
    let mut h = Headers::new();
    for (n, v) in pairs {
        h.append(n, v);
    }
    h
}

/// Sends a GET of `url` through `flow::lookup`: status, `Cache-Status`, body.
fn get(p: &Fake, isolate: &Rc<Isolate<Fake>>, url: &str) -> (u16, String, Vec<u8>) {
    get_with(p, isolate, url, Headers::new())
}

/// [`get`] with these request headers.
fn get_with(
    p: &Fake,
    isolate: &Rc<Isolate<Fake>>,
    url: &str,
    headers: Headers,
) -> (u16, String, Vec<u8>) {
    let inc = Incoming {
        method: &Method::Get,
        url,
        headers: &headers,
        has_body: false,
        user_secret: None,
    };
    let Plan::Lookup(lk) = plan(&isolate.config, &inc) else {
        panic!("{url} is not looked up")
    };
    let cx = Cx {
        platform: p,
        isolate,
        headers: &headers,
        lookup: &lk,
        trace: None,
    };
    let reply: Reply<Vec<u8>, Rc<Vec<u8>>> = edgecache::flow::lookup::lookup(&cx)
        .now_or_never()
        .expect("completes")
        .expect("no I/O error");
    let cs = reply
        .delivery
        .headers
        .get("cache-status")
        .unwrap_or("")
        .to_string();
    (reply.delivery.status, cs, bytes(reply.source))
}

fn setup() -> (Fake, Rc<Isolate<Fake>>) {
    let p = Fake::default();
    p.0.now.set(1_800_000_000_000);
    (p, Rc::new(Isolate::new(config(), None)))
}

#[test]
fn a_stored_miss_answers_the_next_request_without_the_origin() {
    let (p, isolate) = setup();
    p.origin(|_| {
        (
            200,
            fields(&[("content-type", "text/plain")]),
            b"one".to_vec(),
        )
    });
    let (status, cs, body) = get(&p, &isolate, "https://site.test/api/x");
    assert_eq!((status, body.as_slice()), (200, &b"one"[..]));
    // A copy being written: a ttl, no `stored` (the put may yet fail).
    assert!(cs.contains("fwd=miss") && cs.contains("ttl="), "{cs}");
    p.settle();
    let (status, cs, body) = get(&p, &isolate, "https://site.test/api/x");
    assert_eq!((status, body.as_slice()), (200, &b"one"[..]));
    assert!(cs.contains("hit"), "{cs}");
    assert_eq!(p.0.sent.borrow().len(), 1, "the origin was asked once");
}

#[test]
fn a_stale_entry_is_revalidated_in_the_background_and_a_304_keeps_its_body() {
    let (p, isolate) = setup();
    p.origin(|_| (200, fields(&[("etag", "\"v1\"")]), b"body".to_vec()));
    get(&p, &isolate, "https://site.test/api/r");
    p.settle();
    p.advance_secs(90); // past the TTL, inside stale-while-revalidate
    p.origin(|sent| {
        assert_eq!(sent.get("if-none-match"), Some("\"v1\""));
        (304, fields(&[("etag", "\"v1\"")]), Vec::new())
    });
    let (_, cs, body) = get(&p, &isolate, "https://site.test/api/r");
    assert!(cs.contains("detail=stale_while_revalidate"), "{cs}");
    assert_eq!(body, b"body");
    p.settle();
    assert_eq!(p.0.sent.borrow().len(), 2, "one conditional refresh");
    // Stored again with new freshness: a fresh hit now.
    let (_, cs, body) = get(&p, &isolate, "https://site.test/api/r");
    assert!(cs.contains("hit") && !cs.contains("stale"), "{cs}");
    assert_eq!(body, b"body");
}

#[test]
fn a_signed_purge_makes_the_next_request_a_miss() {
    let (p, isolate) = setup();
    let n = Rc::new(Cell::new(0));
    let count = n.clone();
    p.origin(move |_| {
        count.set(count.get() + 1);
        (
            200,
            Headers::new(),
            format!("v{}", count.get()).into_bytes(),
        )
    });
    get(&p, &isolate, "https://site.test/api/p");
    p.settle();
    p.advance_secs(1);
    signed_purge(&p, &isolate, "https://site.test/api/p");
    p.advance_secs(1);
    let (_, cs, body) = get(&p, &isolate, "https://site.test/api/p");
    assert!(cs.contains("fwd=miss"), "{cs}");
    assert_eq!(body, b"v2");
    assert_eq!(n.get(), 2);
}

/// A signed purge of `url` through `flow::purge_request::purge`, answered 200.
fn signed_purge(p: &Fake, isolate: &Rc<Isolate<Fake>>, url: &str) {
    signed_purge_of(p, isolate, url, false);
}

fn signed_purge_of(p: &Fake, isolate: &Rc<Isolate<Fake>>, url: &str, soft: bool) {
    let body = format!(r#"{{"urls":["{url}"],"soft":{soft}}}"#).into_bytes();
    let secret = Secret::parse(SECRET).unwrap();
    let now = p.now().to_secs();
    let id = format!("msg_{}", p.now().0);
    let headers = fields(&[
        ("webhook-id", &id),
        ("webhook-timestamp", &now.to_string()),
        ("webhook-signature", &sign(&secret, &id, now, &body)),
        ("content-length", &body.len().to_string()),
    ]);
    let req = PurgeRequest {
        method: &Method::Post,
        url: "https://site.test/__edgecache/purge",
        headers: &headers,
        body: Some(body),
        secrets: &[secret],
        zone_token: None,
    };
    let purged = purge(p, isolate, req).now_or_never().expect("completes");
    assert_eq!(purged.reply.delivery.status, 200);
    assert!(purged.line.is_some());
}

/// A GET of `url` that owns what it borrows, to be polled step by step.
async fn owned_get(p: Fake, isolate: Rc<Isolate<Fake>>, url: &'static str) -> String {
    let headers = Headers::new();
    let inc = Incoming {
        method: &Method::Get,
        url,
        headers: &headers,
        has_body: false,
        user_secret: None,
    };
    let Plan::Lookup(lk) = plan(&isolate.config, &inc) else {
        panic!("{url} is not looked up")
    };
    let cx = Cx {
        platform: &p,
        isolate: &isolate,
        headers: &headers,
        lookup: &lk,
        trace: None,
    };
    let reply = edgecache::flow::lookup::lookup(&cx)
        .await
        .expect("no I/O error");
    reply
        .delivery
        .headers
        .get("cache-status")
        .unwrap_or("")
        .to_string()
}

#[test]
fn a_follower_that_waited_through_a_purge_stores_an_entry_the_next_read_can_prove_current() {
    // Seed 2341 of the simulator (fast path off): a leader's fetch overlaps
    // a purge, so its entry is purged when its follower looks again; the
    // follower fetches, and its entry must record the purge's mark (read
    // on that second look), else the next read finds it purged too (the
    // time rule, within the clock-skew allowance) and goes to the origin
    // a third time for one purge.
    let (p, isolate) = setup();
    let n = Rc::new(Cell::new(0));
    let count = n.clone();
    p.origin(move |_| {
        count.set(count.get() + 1);
        (
            200,
            Headers::new(),
            format!("v{}", count.get()).into_bytes(),
        )
    });
    const URL: &str = "https://site.test/api/f";
    p.0.hold_fetch.set(true);
    p.0.timers_yield.set(true);
    let mut cx = Context::from_waker(Waker::noop());
    let mut leader = Box::pin(owned_get(p.clone(), isolate.clone(), URL));
    let mut follower = Box::pin(owned_get(p.clone(), isolate.clone(), URL));
    assert!(
        leader.as_mut().poll(&mut cx).is_pending(),
        "the leader fetches"
    );
    assert!(follower.as_mut().poll(&mut cx).is_pending(), "it waits");
    p.advance_secs(1);
    signed_purge(&p, &isolate, URL);
    p.0.hold_fetch.set(false);
    let Poll::Ready(cs) = leader.as_mut().poll(&mut cx) else {
        panic!("the leader answers")
    };
    assert!(cs.contains("fwd=miss"), "{cs}");
    p.settle(); // its copy is stored: the follower looks again
    let cs = (0..100)
        .find_map(|_| match follower.as_mut().poll(&mut cx) {
            Poll::Ready(cs) => Some(cs),
            Poll::Pending => None,
        })
        .expect("the follower answers");
    assert!(cs.contains("fwd=miss"), "{cs}");
    p.settle();
    p.0.timers_yield.set(false);
    let (_, cs, body) = get(&p, &isolate, URL);
    assert!(cs.contains("hit"), "{cs}");
    assert_eq!((body.as_slice(), n.get()), (&b"v2"[..], 2));
}

#[test]
fn only_if_cached_never_reaches_the_origin_even_when_the_purge_records_are_unreadable() {
    // Found by the simulator: with KV reads failing, a stored entry cannot
    // be proven current, and the request used to be forwarded uncached
    // (fail safe) — to the origin, which `only-if-cached` forbids.
    let (p, isolate) = setup();
    p.origin(|_| (200, Headers::new(), b"one".to_vec()));
    get(&p, &isolate, "https://site.test/api/o");
    p.settle();
    p.0.kv_fails.set(true);
    let fresh = Rc::new(Isolate::new(config(), None)); // an empty memo
    let cc = fields(&[("cache-control", "only-if-cached")]);
    let (status, cs, _) = get_with(&p, &fresh, "https://site.test/api/o", cc);
    assert_eq!(status, 504, "{cs}");
    assert!(cs.contains("only_if_cached"), "{cs}");
    assert_eq!(
        p.0.sent.borrow().len(),
        1,
        "the origin was asked once, before"
    );
    // Without the directive it is still forwarded uncached (fail safe).
    let (status, cs, _) = get(&p, &fresh, "https://site.test/api/o");
    assert!(
        status == 200 && cs.contains("generations_unavailable"),
        "{cs}"
    );
}

/// Polls `f` until it is ready (its timers yield once each).
fn poll_to_end(f: &mut std::pin::Pin<Box<impl Future<Output = String>>>) -> String {
    let mut cx = Context::from_waker(Waker::noop());
    (0..100)
        .find_map(|_| match f.as_mut().poll(&mut cx) {
            Poll::Ready(cs) => Some(cs),
            Poll::Pending => None,
        })
        .expect("answers")
}

#[test]
fn followers_whose_leaders_entry_was_purged_meanwhile_make_one_origin_request_between_them() {
    // Seed 2592 of the simulator (fast path off, soft purges): a purge lands
    // while a leader fetches; each of its three followers then found the new
    // entry purged and went to the origin on its own, four origin requests
    // for one key in one isolate.
    let (p, isolate) = setup();
    let n = Rc::new(Cell::new(0));
    let count = n.clone();
    p.origin(move |_| {
        count.set(count.get() + 1);
        (
            200,
            Headers::new(),
            format!("v{}", count.get()).into_bytes(),
        )
    });
    const URL: &str = "https://site.test/api/g";
    p.0.hold_fetch.set(true);
    p.0.timers_yield.set(true);
    let mut cx = Context::from_waker(Waker::noop());
    let mut leader = Box::pin(owned_get(p.clone(), isolate.clone(), URL));
    let mut first = Box::pin(owned_get(p.clone(), isolate.clone(), URL));
    let mut second = Box::pin(owned_get(p.clone(), isolate.clone(), URL));
    assert!(
        leader.as_mut().poll(&mut cx).is_pending(),
        "the leader fetches"
    );
    assert!(first.as_mut().poll(&mut cx).is_pending(), "it waits");
    assert!(second.as_mut().poll(&mut cx).is_pending(), "it waits");
    p.advance_secs(1);
    signed_purge(&p, &isolate, URL);
    p.0.hold_fetch.set(false);
    poll_to_end(&mut leader);
    p.settle(); // its copy is stored, and purged already
    let cs = poll_to_end(&mut first);
    assert!(cs.contains("fwd=miss"), "{cs}");
    assert!(
        second.as_mut().poll(&mut cx).is_pending(),
        "it follows the first"
    );
    p.settle();
    let cs = poll_to_end(&mut second);
    assert!(cs.contains("hit") && cs.contains("collapsed"), "{cs}");
    assert_eq!(
        n.get(),
        2,
        "the leader's request and one for both followers"
    );
}

#[test]
fn a_soft_purge_received_over_an_expired_memo_does_not_hide_a_hard_purge_made_elsewhere() {
    // The simulator's seeds 3868 and 5340 (fast path off, soft purges): an
    // isolate that received a soft purge made its memo entry fresh from the
    // soft purge and what it knew long before, and served an entry purged
    // hard elsewhere meanwhile (KV had that purge) as merely soft-purged.
    let (p, isolate) = setup();
    p.origin(|_| (200, Headers::new(), b"old".to_vec()));
    const URL: &str = "https://site.test/api/s";
    get(&p, &isolate, URL);
    p.settle();
    p.advance_secs(1);
    let elsewhere = Rc::new(Isolate::new(config(), None));
    let stored = p.0.cache.borrow().clone();
    signed_purge(&p, &elsewhere, URL); // hard, written to KV directly
    *p.0.cache.borrow_mut() = stored; // made in another data centre: no local delete here
    p.advance_secs(10); // this isolate's memo of the name has expired
    p.0.writer.set(true); // the soft purge goes to the writer (not yet written)
    signed_purge_of(&p, &isolate, URL, true);
    p.advance_secs(1);
    let (_, cs, body) = get(&p, &isolate, URL);
    assert!(
        cs.contains("fwd=miss") && cs.contains("detail=purged"),
        "{cs}"
    );
    assert_eq!(body, b"old", "refetched (the origin has not changed)");
}
