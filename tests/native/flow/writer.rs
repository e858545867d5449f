//! The purge writer's sequence (`flow::writer`, `flow::writer_zone`) run
//! natively over an in-memory `WriterHost`: the code the Durable Object runs.
//! Every host call completes at once, so each step is polled to its end with
//! `now_or_never`; the clock moves when the test says.

use edgecache::config::ZonePlan;
use edgecache::flow::platform::{IoError, Reply};
use edgecache::flow::writer::{accept, alarm, serve, Accepted, WriterHost, WriterRequest};
use edgecache::http::headers::Headers;
use edgecache::http::time::{UnixMillis, UnixSecs};
use edgecache::purge::body::parse_purge_body;
use edgecache::purge::log::{LogEntry, LogIndex};
use edgecache::purge::receipt::{receipt_key, Receipt, ZonePurgeStatus};
use edgecache::purge::writer::{Handoff, ReceiptHandoff, Slot, MAX_PENDING};
use edgecache::purge::zone::{limits, ZoneWork};
use edgecache::purge::zone_queue::ZoneQueue;
use futures_util::FutureExt;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::time::Duration;

const T0: u64 = 1_800_000_000_000;

/// The zone API's next answer: status and `Retry-After`.
type Answer = (u16, Option<&'static str>);

#[derive(Default)]
struct Fake {
    now: Cell<u64>,
    slots: RefCell<BTreeMap<String, Slot>>,
    alarm: Cell<Option<u64>>,
    log: RefCell<(LogIndex, BTreeMap<u64, LogEntry>)>,
    receipts: RefCell<BTreeMap<String, (UnixMillis, String)>>,
    kv: RefCell<BTreeMap<String, String>>,
    zone: RefCell<Option<ZoneQueue>>,
    /// Answers the API gives, in order (then 200).
    answers: RefCell<Vec<Answer>>,
    /// Bodies the API received, and when.
    calls: RefCell<Vec<(u64, serde_json::Value)>>,
    /// Zone stores that fail from now on: the n-th next one (1 = the next).
    fail_zone_store: Cell<Option<u32>>,
    events: RefCell<Vec<String>>,
}

impl Fake {
    fn at(ms: u64) -> Fake {
        let f = Fake::default();
        f.now.set(ms);
        f
    }
    fn advance_to(&self, ms: u64) {
        self.now.set(ms.max(self.now.get()));
    }
    /// Runs the alarm if it is due (as the runtime would).
    fn fire(&self) -> Result<(), IoError> {
        match self.alarm.get() {
            Some(at) if at <= self.now.get() => {
                self.alarm.set(None);
                alarm(self).now_or_never().expect("completes at once")
            }
            _ => Ok(()),
        }
    }
    /// Fires every alarm due up to `ms`, the clock following each.
    fn run_until(&self, ms: u64) {
        while let Some(at) = self.alarm.get().filter(|a| *a <= ms) {
            self.advance_to(at);
            self.fire().unwrap();
        }
        self.advance_to(ms);
    }
    /// When the API received each call.
    fn call_times(&self) -> Vec<u64> {
        self.calls.borrow().iter().map(|(t, _)| *t).collect()
    }
    fn receipt(&self, id: &str) -> Receipt {
        let text = self.receipts.borrow()[&receipt_key(id)].1.clone();
        Receipt::parse(&text).unwrap()
    }
    fn tags_sent(&self) -> Vec<Vec<String>> {
        let calls = self.calls.borrow();
        calls
            .iter()
            .map(|(_, b)| {
                let tags = b["tags"].as_array().cloned().unwrap_or_default();
                tags.iter()
                    .map(|t| t.as_str().unwrap().to_string())
                    .collect()
            })
            .collect()
    }
}

impl WriterHost for Fake {
    fn now(&self) -> UnixMillis {
        UnixMillis(self.now.get())
    }
    fn log(&self, event: &str, _fields: serde_json::Value) {
        self.events.borrow_mut().push(event.to_string());
    }
    async fn load(&self) -> Result<BTreeMap<String, Slot>, IoError> {
        Ok(self.slots.borrow().clone())
    }
    async fn load_some(&self, keys: &[String]) -> Result<BTreeMap<String, Slot>, IoError> {
        let slots = self.slots.borrow();
        Ok(keys
            .iter()
            .filter_map(|k| slots.get(k).map(|s| (k.clone(), *s)))
            .collect())
    }
    async fn store(&self, slots: &BTreeMap<String, Slot>) -> Result<(), IoError> {
        self.slots.borrow_mut().extend(slots.clone());
        Ok(())
    }
    async fn forget(&self, keys: &[String]) -> Result<(), IoError> {
        keys.iter().for_each(|k| {
            self.slots.borrow_mut().remove(k);
        });
        Ok(())
    }
    async fn schedule(&self, at: UnixMillis) -> Result<(), IoError> {
        if self.alarm.get().is_none_or(|a| a > at.0) {
            self.alarm.set(Some(at.0));
        }
        Ok(())
    }
    async fn log_index(&self) -> Result<LogIndex, IoError> {
        Ok(self.log.borrow().0.clone())
    }
    async fn log_append(&self, i: &LogIndex, e: &LogEntry, drop: &[u64]) -> Result<(), IoError> {
        let mut log = self.log.borrow_mut();
        log.0 = i.clone();
        log.1.insert(e.seq, e.clone());
        drop.iter().for_each(|s| {
            log.1.remove(s);
        });
        Ok(())
    }
    async fn log_entries(&self, seqs: &[u64]) -> Result<Vec<LogEntry>, IoError> {
        let log = self.log.borrow();
        Ok(seqs.iter().filter_map(|s| log.1.get(s).cloned()).collect())
    }
    async fn receipt_get(&self, key: &str, now: UnixMillis) -> Result<Option<String>, IoError> {
        let r = self.receipts.borrow();
        Ok(r.get(key).filter(|(u, _)| *u > now).map(|(_, b)| b.clone()))
    }
    async fn receipt_put(
        &self,
        key: &str,
        until: UnixMillis,
        body: &str,
        _now: UnixMillis,
    ) -> Result<(), IoError> {
        let mut r = self.receipts.borrow_mut();
        r.insert(key.to_string(), (until, body.to_string()));
        Ok(())
    }
    async fn kv_get(&self, key: &str) -> Result<Option<String>, IoError> {
        Ok(self.kv.borrow().get(key).cloned())
    }
    async fn kv_put(&self, key: &str, value: &str, _ttl: u64) -> Result<(), IoError> {
        self.kv.borrow_mut().insert(key.into(), value.into());
        Ok(())
    }
    async fn zone_load(&self) -> Result<Option<ZoneQueue>, IoError> {
        Ok(self.zone.borrow().clone())
    }
    async fn zone_store(&self, queue: &ZoneQueue) -> Result<(), IoError> {
        if let Some(n) = self.fail_zone_store.get() {
            if n <= 1 {
                return Err(IoError("storage refused (test)".into()));
            }
            self.fail_zone_store.set(Some(n - 1));
        }
        *self.zone.borrow_mut() = Some(queue.clone());
        Ok(())
    }
    fn zone_token(&self) -> Option<String> {
        Some("cf-token".into())
    }
    async fn api_post(
        &self,
        _url: &str,
        headers: &Headers,
        body: &str,
        _timeout: Duration,
    ) -> Result<(u16, Headers), IoError> {
        assert_eq!(headers.get("authorization"), Some("Bearer cf-token"));
        let body = serde_json::from_str(body).unwrap();
        self.calls.borrow_mut().push((self.now.get(), body));
        let next = {
            let mut a = self.answers.borrow_mut();
            (!a.is_empty()).then(|| a.remove(0))
        };
        let (status, retry_after) = next.unwrap_or((200, None));
        let mut h = Headers::new();
        if let Some(r) = retry_after {
            h.append("retry-after", r);
        }
        Ok((status, h))
    }
}

/// A hard purge by webhook `id` of `tags`, its zone work on `plan`.
fn handoff(id: &str, tags: &[&str], plan: ZonePlan) -> Handoff {
    // The receipt echoes what was asked; one tag is enough here.
    let body = serde_json::json!({ "tags": &tags[..1] }).to_string();
    let request = parse_purge_body(body.as_bytes()).unwrap();
    let mut receipt = Receipt::new(id, UnixSecs(T0 / 1000), &request, 70);
    receipt.layers.zone_purge.status = ZonePurgeStatus::Queued;
    Handoff {
        at: UnixMillis(T0),
        keys: tags.iter().map(|t| format!("g:tag:{t}")).collect(),
        soft: false,
        nonce: 7,
        names: Vec::new(),
        log: false,
        receipt: Some(ReceiptHandoff {
            key: receipt_key(id),
            ttl_ms: 3_600_000,
            json: receipt.to_json(),
        }),
        zone: Some(ZoneWork {
            endpoint: "https://api.test/zones/z/purge_cache".into(),
            limits: limits(plan),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            everything: false,
        }),
    }
}

fn hand(f: &Fake, h: &Handoff) {
    let a = accept(f, h).now_or_never().unwrap().unwrap();
    assert!(matches!(a, Accepted::Stored(_)), "{a:?}");
}

#[test]
fn zone_names_of_several_webhooks_go_in_one_call_each_once() {
    let f = Fake::at(T0);
    hand(&f, &handoff("a", &["x", "y"], ZonePlan::Free));
    hand(&f, &handoff("b", &["y", "z"], ZonePlan::Free));
    hand(&f, &handoff("c", &["x"], ZonePlan::Free));
    assert_eq!(
        f.receipt("b").layers.zone_purge.status,
        ZonePurgeStatus::Queued
    );
    f.fire().unwrap();
    assert_eq!(f.tags_sent(), [["x", "y", "z"]]);
    for id in ["a", "b", "c"] {
        assert_eq!(f.receipt(id).layers.zone_purge.status, ZonePurgeStatus::Ok);
    }
    assert!(f.zone.borrow().as_ref().unwrap().jobs.is_empty());
}

#[test]
fn a_call_carries_at_most_the_plans_items_oldest_first() {
    let f = Fake::at(T0);
    let many: Vec<String> = (0..150).map(|i| format!("t{i}")).collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    hand(&f, &handoff("a", &refs, ZonePlan::Free));
    hand(&f, &handoff("b", &["late"], ZonePlan::Free));
    f.fire().unwrap();
    let sent = f.tags_sent();
    assert_eq!(sent.iter().map(Vec::len).collect::<Vec<_>>(), [100, 51]);
    assert_eq!(sent[1].last().map(String::as_str), Some("late"));
}

#[test]
fn every_webhook_shares_one_rate_limit_for_the_account() {
    // Free: a bucket of 25, then one call every 12 s, however many
    // webhooks (from however many isolates) hand zone work to the writer.
    let f = Fake::at(T0);
    for i in 0..30 {
        let id = format!("w{i}");
        let tag = format!("t{i}");
        hand(&f, &handoff(&id, &[&tag], ZonePlan::Free));
        f.fire().unwrap();
    }
    assert_eq!(f.calls.borrow().len(), 25);
    f.run_until(T0 + 11_999);
    assert_eq!(f.calls.borrow().len(), 25, "the limit holds");
    f.run_until(T0 + 12_000);
    // The one call the limit allows now carries the five waiting tags.
    assert_eq!(f.call_times()[25], T0 + 12_000);
    assert_eq!(f.tags_sent()[25], ["t25", "t26", "t27", "t28", "t29"]);
    assert_eq!(f.calls.borrow().len(), 26);
}

#[test]
fn a_429_is_retried_after_its_retry_after_and_nothing_is_lost() {
    let f = Fake::at(T0);
    f.answers.borrow_mut().push((429, Some("7")));
    hand(&f, &handoff("a", &["x"], ZonePlan::Pro));
    f.fire().unwrap();
    assert_eq!(f.calls.borrow().len(), 1);
    assert_eq!(
        f.receipt("a").layers.zone_purge.status,
        ZonePurgeStatus::Queued
    );
    // A webhook during the wait joins the retried call.
    hand(&f, &handoff("b", &["y"], ZonePlan::Pro));
    f.run_until(T0 + 6_999);
    assert_eq!(f.calls.borrow().len(), 1, "Retry-After is honoured");
    f.run_until(T0 + 7_000);
    assert_eq!(f.tags_sent(), [vec!["x"], vec!["x", "y"]]);
    assert_eq!(f.call_times()[1], T0 + 7_000);
    assert_eq!(f.receipt("a").layers.zone_purge.status, ZonePurgeStatus::Ok);
    assert_eq!(f.receipt("b").layers.zone_purge.status, ZonePurgeStatus::Ok);
}

#[test]
fn server_errors_back_off_and_are_retried_without_end() {
    let f = Fake::at(T0);
    for _ in 0..6 {
        f.answers.borrow_mut().push((503, None));
    }
    hand(&f, &handoff("a", &["x"], ZonePlan::Business));
    f.run_until(T0 + 60_000);
    let times = f.call_times();
    let waits: Vec<u64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(waits, [500, 1000, 2000, 4000, 8000, 16000]);
    assert_eq!(f.calls.borrow().len(), 7);
    assert_eq!(f.receipt("a").layers.zone_purge.status, ZonePurgeStatus::Ok);
}

#[test]
fn a_refusal_that_would_repeat_fails_the_receipts_zone_layer() {
    let f = Fake::at(T0);
    f.answers.borrow_mut().push((403, None));
    hand(&f, &handoff("a", &["x"], ZonePlan::Pro));
    f.fire().unwrap();
    assert_eq!(
        f.receipt("a").layers.zone_purge.status,
        ZonePurgeStatus::Failed
    );
    assert!(f.events.borrow().contains(&"zone_purge_failed".to_string()));
}

#[test]
fn a_full_queue_degrades_to_purge_everything_and_loses_no_receipt() {
    let f = Fake::at(T0);
    // Every call refused with a long Retry-After while the queue fills.
    f.answers.borrow_mut().push((429, Some("600")));
    let long: Vec<String> = (0..60).map(|i| format!("{i:0>200}")).collect();
    let refs: Vec<&str> = long.iter().map(String::as_str).collect();
    for i in 0..10 {
        hand(&f, &handoff(&format!("w{i}"), &refs, ZonePlan::Free));
        f.fire().unwrap();
    }
    assert!(f
        .events
        .borrow()
        .contains(&"zone_purge_overflow".to_string()));
    let q = f.zone.borrow().clone().unwrap();
    let bytes = serde_json::to_string(&q).unwrap().len();
    assert!(bytes < 128 * 1024, "{bytes} bytes stored");
    assert_eq!(q.jobs.len(), 10);
    f.run_until(T0 + 600_000);
    let calls = f.calls.borrow();
    assert_eq!(
        calls.last().unwrap().1,
        serde_json::json!({ "purge_everything": true })
    );
    drop(calls);
    for i in 0..10 {
        let r = f.receipt(&format!("w{i}"));
        assert_eq!(r.layers.zone_purge.status, ZonePurgeStatus::Ok, "w{i}");
    }
}

#[test]
fn an_alarm_that_fails_after_the_call_sends_it_again_and_loses_nothing() {
    let f = Fake::at(T0);
    hand(&f, &handoff("a", &["x"], ZonePlan::Pro));
    // The store before the call succeeds; the one recording its outcome fails.
    f.fail_zone_store.set(Some(2));
    assert!(f.fire().is_err());
    assert_eq!(f.calls.borrow().len(), 1);
    let q = f.zone.borrow().clone().unwrap();
    assert_eq!(q.jobs[0].tags, ["x"], "still queued");
    // The runtime retries the alarm.
    f.fail_zone_store.set(None);
    f.alarm.set(Some(T0));
    f.advance_to(T0 + 1000);
    f.fire().unwrap();
    assert_eq!(f.tags_sent(), [vec!["x"], vec!["x"]]);
    assert_eq!(f.receipt("a").layers.zone_purge.status, ZonePurgeStatus::Ok);
}

#[test]
fn the_alarm_writes_the_records_and_a_redelivery_gets_the_first_receipt() {
    let f = Fake::at(T0);
    let mut h = handoff("a", &["x"], ZonePlan::Pro);
    h.zone = None;
    hand(&f, &h);
    assert_eq!(f.alarm.get(), Some(T0));
    f.fire().unwrap();
    assert!(f.kv.borrow().contains_key("g:tag:x"));
    let again = accept(&f, &h).now_or_never().unwrap().unwrap();
    let Accepted::Stored(stored) = again else {
        panic!("{again:?}")
    };
    assert!(stored.replayed);
}

fn status_of(r: Reply<(), ()>) -> (u16, Option<String>) {
    let d = r.delivery;
    (d.status, d.headers.get("retry-after").map(str::to_string))
}

#[test]
fn the_writer_answers_a_full_queue_503_with_retry_after_and_a_bad_body_400() {
    let f = Fake::at(T0);
    let keys: Vec<String> = (0..MAX_PENDING).map(|i| format!("k{i}")).collect();
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let mut h = handoff("a", &refs, ZonePlan::Pro);
    h.zone = None;
    hand(&f, &h);
    let mut more = handoff("b", &["other"], ZonePlan::Pro);
    more.zone = None;
    let text = serde_json::to_string(&more).unwrap();
    let full = serve(&f, WriterRequest::Handoff(&text)).now_or_never();
    let full = full.unwrap().unwrap();
    assert_eq!(status_of(full), (503, Some("1".into())));
    let bad = serve(&f, WriterRequest::Handoff("{")).now_or_never();
    assert_eq!(status_of(bad.unwrap().unwrap()).0, 400);
    let log = serve(&f, WriterRequest::Log { window_ms: None }).now_or_never();
    assert_eq!(status_of(log.unwrap().unwrap()).0, 200);
}
