//! The fast path's read sequence (`flow::fastpath`), natively over a small
//! platform: one read of the writer per data centre and interval (the other
//! isolates take the shared copy), the entries applied to the memo in the
//! log's order, and a read dropped unfinished counted as failed.

use edgecache::config::Config;
use edgecache::flow::fastpath::ensure;
use edgecache::flow::isolate::Isolate;
use edgecache::flow::platform::{
    Background, Completion, Fetch, IoError, Matched, OriginRequest, Platform, Source,
};
use edgecache::http::cache_status::Detail;
use edgecache::http::headers::Headers;
use edgecache::http::time::UnixMillis;
use edgecache::purge::fastview::{Behind, Step};
use edgecache::purge::generations::{Gen, GenName};
use edgecache::purge::log::{LogEntry, LogRead};
use edgecache::purge::writer::{Handoff, Stored};
use futures_util::FutureExt;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

#[derive(Default)]
struct World {
    now: Cell<u64>,
    copies: RefCell<HashMap<String, String>>,
    log: RefCell<Option<LogRead>>,
    /// Reads of the writer's log; with `hang`, they never answer.
    reads: Cell<u32>,
    hang: Cell<bool>,
    background: RefCell<Vec<Background>>,
    behind: RefCell<Vec<Detail>>,
}

#[derive(Clone, Default)]
struct Dc(Rc<World>);

impl Platform for Dc {
    type Body = Vec<u8>;
    type Whole = Vec<u8>;

    fn now(&self) -> UnixMillis {
        UnixMillis(self.0.now.get())
    }
    async fn sleep(&self, ms: u64) {
        self.0.now.set(self.0.now.get() + ms);
    }
    /// Runs `work` as far as it goes now; what is left waits.
    fn wait_until(&self, mut work: Background) {
        if (&mut work).now_or_never().is_none() {
            self.0.background.borrow_mut().push(work);
        }
    }
    fn nonce(&self) -> u64 {
        7
    }
    fn log(&self, _: &str, _: serde_json::Value) {}
    async fn cache_match(&self, _: &str) -> Option<Matched<Vec<u8>>> {
        None
    }
    async fn cache_put(
        &self,
        _: &str,
        _: u16,
        _: &Headers,
        _: Source<Vec<u8>, Vec<u8>>,
    ) -> Result<(), IoError> {
        Ok(())
    }
    async fn cache_delete(&self, _: &str) -> bool {
        false
    }
    async fn kv_get(&self, _: &str) -> Result<Option<String>, IoError> {
        Ok(None)
    }
    async fn kv_put(&self, _: &str, _: &str, _: u64) -> Result<(), IoError> {
        Ok(())
    }
    fn has_writer(&self) -> bool {
        true
    }
    async fn hand_off(&self, _: &Handoff) -> Result<Stored, IoError> {
        Err(IoError("not in this test".into()))
    }
    async fn log_copy(&self, key: &str) -> Option<String> {
        self.0.copies.borrow().get(key).cloned()
    }
    async fn put_log_copy(&self, key: &str, text: &str, _: u64) {
        self.0.copies.borrow_mut().insert(key.into(), text.into());
    }
    async fn read_log(&self, _: u64, _: u64) -> Result<String, IoError> {
        self.0.reads.set(self.0.reads.get() + 1);
        if self.0.hang.get() {
            std::future::pending::<()>().await;
        }
        let read = self.0.log.borrow().clone().expect("a log");
        Ok(read.to_json())
    }
    fn behind(&self, detail: Detail) {
        self.0.behind.borrow_mut().push(detail);
    }
    async fn fetch(&self, _: OriginRequest<'_, Vec<u8>>) -> Fetch<Vec<u8>> {
        unreachable!("no origin in these tests")
    }
    fn tee(&self, body: &mut Vec<u8>) -> Result<Vec<u8>, IoError> {
        Ok(body.clone())
    }
    async fn read_whole(
        &self,
        body: Vec<u8>,
        _: Option<u64>,
        _: u64,
    ) -> Result<Option<(Vec<u8>, u64)>, IoError> {
        let n = body.len() as u64;
        Ok(Some((body, n)))
    }
    async fn read_upto(&self, body: Vec<u8>, _: usize) -> Option<Vec<u8>> {
        Some(body)
    }
    fn guard(&self, body: Vec<u8>, _: Option<u64>) -> (Vec<u8>, Option<Completion>) {
        (body, None)
    }
}

fn isolate() -> Rc<Isolate<Dc>> {
    let config = Config::from_json_str(
        r#"{"origin":"http://origin.test","routes":[{"name":"api","path":"/api/*","ttl":"1m"}]}"#,
    )
    .unwrap();
    Rc::new(Isolate::new(config, None))
}

fn entry(seq: u64, at: u64, nonce: u64) -> LogEntry {
    LogEntry {
        seq,
        at: UnixMillis(at),
        soft: false,
        nonce,
        names: vec!["tag:course".into()],
    }
}

const NOW: u64 = 1_800_000_000_000;

fn dc(entries: Vec<LogEntry>) -> Dc {
    let p = Dc::default();
    p.0.now.set(NOW + 100);
    let head = entries.last().map_or(0, |e| e.seq);
    *p.0.log.borrow_mut() = Some(LogRead {
        head,
        first: 1,
        complete: true,
        entries,
    });
    p
}

#[test]
fn a_data_centre_reads_the_writer_once_per_interval_and_shares_the_copy() {
    let p = dc(vec![entry(1, NOW - 5_000, 0xa)]);
    let (one, two) = (isolate(), isolate());
    assert_eq!(ensure(&p, &one).now_or_never(), Some(None));
    assert_eq!(p.0.reads.get(), 1);
    assert_eq!(p.0.copies.borrow().len(), 1);
    // The second isolate of the data centre, same interval: the copy.
    assert_eq!(ensure(&p, &two).now_or_never(), Some(None));
    assert_eq!(p.0.reads.get(), 1, "the writer was read once");
    for iso in [&one, &two] {
        assert_eq!(iso.fast.borrow().step(p.now(), 1000), Step::Fresh);
        let now = p.now_secs();
        let held = iso.memo.borrow().get(&GenName::tag("course"), now);
        assert!(matches!(held, Some(Gen::Purged(r)) if r.nonce == Some(0xa)));
    }
}

/// Two purges of a name 500 ms apart with the later one stamped earlier (a
/// clock behind): the log's order, not the clocks, picks the nonce the memo
/// keeps (without it, no nonce: every entry of the name refetched).
#[test]
fn the_entries_of_a_read_go_into_the_memo_in_the_log_order() {
    let p = dc(vec![entry(1, NOW - 4_000, 0xa), entry(2, NOW - 4_500, 0xb)]);
    let iso = isolate();
    ensure(&p, &iso).now_or_never().unwrap();
    let held = iso.memo.borrow().get(&GenName::tag("course"), p.now_secs());
    let Some(Gen::Purged(r)) = held else {
        panic!("{held:?}")
    };
    assert_eq!(
        (r.nonce, r.hard),
        (Some(0xb), Some(UnixMillis(NOW - 4_000)))
    );
}

/// A read that never reports (its request cancelled, its isolate gone) is a
/// failed read: the view backs off and says it serves under the KV bound,
/// rather than waiting on it.
#[test]
fn a_read_dropped_unfinished_counts_as_failed() {
    let p = dc(vec![]);
    p.0.hang.set(true);
    let iso = isolate();
    // The first request waits for the read (at most its timeout), in vain.
    let detail = ensure(&p, &iso).now_or_never().unwrap();
    assert_eq!(detail, Some(Detail::FastPathUnreachable));
    assert_eq!(iso.fast.borrow().failures(), 0, "the read is still running");
    // Dropped unfinished.
    p.0.background.borrow_mut().clear();
    let view = iso.fast.borrow();
    assert_eq!(view.failures(), 1);
    assert_eq!(
        view.step(p.now(), 1000),
        Step::Behind(Behind::Unreachable),
        "backing off, not waiting on a read that will never come"
    );
    assert_eq!(
        p.0.behind.borrow().as_slice(),
        &[Detail::FastPathUnreachable]
    );
}
