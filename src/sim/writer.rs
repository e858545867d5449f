//! The purge writer (the `PurgeWriter` Durable Object of `glue/writer.rs`)
//! in one location: the simulator's `flow::writer::WriterHost`, so the
//! writer's real sequence (`flow::writer`: the hand-off, the log read, the
//! alarm's flush to KV and zone purge calls) runs here, on the virtual
//! clock. The object's storage is [`WriterModel`] (its operations take no
//! time: Durable Object storage is local to the object); a hand-off or a
//! log read from location L pays L's round trip; KV writes take the time
//! the world's KV takes. The zone purge API is a stand-in
//! ([`WriterModel::zone_calls`]) that answers 429 while
//! [`WriterModel::zone_refusing`] holds.

use super::world::World;
use crate::flow::platform::IoError;
use crate::flow::writer::{
    accept, alarm as run_alarm, read_log as core_read, Accepted, WriterHost,
};
use crate::http::headers::Headers;
use crate::http::time::UnixMillis;
use crate::purge::log::{LogEntry, LogIndex, LogRead};
use crate::purge::writer::{Handoff, Slot, Stored};
use crate::purge::zone_queue::ZoneQueue;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

#[derive(Debug)]
pub struct WriterModel {
    /// Where the object lives.
    pub loc: usize,
    /// The object's durable storage.
    pub slots: BTreeMap<String, Slot>,
    /// The alarm set (writer clock), if any.
    pub alarm: Option<UnixMillis>,
    pub flushes: u64,
    /// The fast path's log: its index and entries (the object's storage).
    pub log: LogIndex,
    pub entries: BTreeMap<u64, LogEntry>,
    /// Reads of the log the object answered.
    pub log_reads: u64,
    /// Receipts: key → (kept until, JSON).
    pub receipts: BTreeMap<String, (UnixMillis, String)>,
    /// The zone purge queue.
    pub zone: Option<ZoneQueue>,
    /// Calls the zone API stand-in took (each one's JSON body).
    pub zone_calls: Vec<String>,
    /// The zone API stand-in answers 429 (a fault).
    pub zone_refusing: bool,
}

impl WriterModel {
    pub fn new(loc: usize) -> WriterModel {
        WriterModel {
            loc,
            slots: BTreeMap::new(),
            alarm: None,
            flushes: 0,
            log: LogIndex::default(),
            entries: BTreeMap::new(),
            log_reads: 0,
            receipts: BTreeMap::new(),
            zone: None,
            zone_calls: Vec::new(),
            zone_refusing: false,
        }
    }

    /// Names waiting to be written.
    pub fn pending(&self) -> usize {
        self.slots.values().filter(|s| s.pending.is_some()).count()
    }
}

/// The writer as `flow::writer` sees it: the world, and the invocation its
/// KV operations count against.
pub struct SimWriter {
    pub w: Rc<World>,
    pub inv: u64,
}

impl SimWriter {
    pub fn new(w: &Rc<World>) -> SimWriter {
        SimWriter {
            w: w.clone(),
            inv: w.id(),
        }
    }
}

/// A hand-off from location `from`: the stored answer once the object
/// recorded it (the webhook may then answer 200); Err when unreachable or
/// full.
pub async fn hand_off(w: &Rc<World>, from: usize, handoff: &Handoff) -> Result<Stored, String> {
    let rtt = w.locs[from].rtt_ms;
    if w.faults.get().writer_unreachable {
        w.exec.sleep(rtt.max(1)).await;
        return Err("purge writer unreachable".into());
    }
    w.exec.sleep(rtt / 2).await;
    let result = match accept(&SimWriter::new(w), handoff).await {
        Ok(Accepted::Stored(s)) => Ok(s),
        Ok(Accepted::Full { .. }) => Err("purge writer full (503)".to_string()),
        Err(e) => Err(e.0),
    };
    w.exec.sleep(rtt - rtt / 2).await;
    result
}

/// A read of the log's last `window_ms` from location `from` (the object's
/// `GET /log`): it pays the round trip, and more while the writer is slow;
/// Err when unreachable (after `give_up_ms`, as the glue's read gives up).
pub async fn read_log(
    w: &Rc<World>,
    from: usize,
    window_ms: u64,
    give_up_ms: u64,
) -> Result<LogRead, String> {
    let rtt = w.locs[from].rtt_ms;
    let faults = w.faults.get();
    if faults.writer_unreachable {
        w.exec.sleep(rtt.max(1)).await;
        return Err("purge writer unreachable".into());
    }
    let slow = if faults.writer_slow {
        w.draw(500, 2 * give_up_ms)
    } else {
        0
    };
    if rtt / 2 + slow > give_up_ms {
        w.exec.sleep(give_up_ms).await;
        return Err("purge writer: the log read timed out".into());
    }
    w.exec.sleep(rtt / 2 + slow).await;
    w.writer.borrow_mut().log_reads += 1;
    let read = core_read(&SimWriter::new(w), window_ms)
        .await
        .map_err(|e| e.0)?;
    w.exec.sleep(rtt - rtt / 2).await;
    Ok(read)
}

/// The alarm, when it fires (the host runs `flow::writer::alarm`).
async fn fire(w: Rc<World>, at: UnixMillis, wait: u64) {
    w.exec.sleep(wait).await;
    if w.writer.borrow().alarm != Some(at) {
        return;
    }
    w.writer.borrow_mut().alarm = None;
    w.writer.borrow_mut().flushes += 1;
    if let Err(e) = run_alarm(&SimWriter::new(&w)).await {
        // The runtime retries a failed alarm.
        w.log(|| format!("writer alarm failed: {e}"));
        let again = w.clock_ms(w.writer.borrow().loc).saturating_add(1000);
        let _ = SimWriter::new(&w).schedule(again).await;
    }
}

impl WriterHost for SimWriter {
    fn now(&self) -> UnixMillis {
        self.w.clock_ms(self.w.writer.borrow().loc)
    }

    fn log(&self, event: &str, fields: serde_json::Value) {
        self.w.log(|| format!("writer: {event} {fields}"));
    }

    async fn load(&self) -> Result<BTreeMap<String, Slot>, IoError> {
        Ok(self.w.writer.borrow().slots.clone())
    }

    async fn load_some(&self, keys: &[String]) -> Result<BTreeMap<String, Slot>, IoError> {
        let writer = self.w.writer.borrow();
        let some = keys
            .iter()
            .filter_map(|k| writer.slots.get(k).map(|s| (k.clone(), *s)))
            .collect();
        Ok(some)
    }

    async fn store(&self, slots: &BTreeMap<String, Slot>) -> Result<(), IoError> {
        let mut writer = self.w.writer.borrow_mut();
        writer
            .slots
            .extend(slots.iter().map(|(k, s)| (k.clone(), *s)));
        Ok(())
    }

    async fn forget(&self, keys: &[String]) -> Result<(), IoError> {
        let mut writer = self.w.writer.borrow_mut();
        for k in keys {
            writer.slots.remove(k);
        }
        Ok(())
    }

    /// Sets the alarm unless an earlier one is set
    /// (`edgecache_writer_schedule` in glue/js/writer.js).
    async fn schedule(&self, at: UnixMillis) -> Result<(), IoError> {
        let w = &self.w;
        if w.writer.borrow().alarm.is_some_and(|a| a <= at) {
            return Ok(());
        }
        w.writer.borrow_mut().alarm = Some(at);
        let loc = w.writer.borrow().loc;
        let wait = w.true_ms(loc, at).saturating_sub(w.now());
        w.log(|| format!("writer alarm in {wait} ms"));
        w.exec.spawn(Box::pin(fire(w.clone(), at, wait)));
        Ok(())
    }

    async fn log_index(&self) -> Result<LogIndex, IoError> {
        Ok(self.w.writer.borrow().log.clone())
    }

    async fn log_append(
        &self,
        index: &LogIndex,
        entry: &LogEntry,
        drop: &[u64],
    ) -> Result<(), IoError> {
        let mut writer = self.w.writer.borrow_mut();
        writer.entries.insert(entry.seq, entry.clone());
        writer.log = index.clone();
        for seq in drop {
            writer.entries.remove(seq);
        }
        Ok(())
    }

    async fn log_entries(&self, seqs: &[u64]) -> Result<Vec<LogEntry>, IoError> {
        let writer = self.w.writer.borrow();
        Ok(seqs
            .iter()
            .filter_map(|s| writer.entries.get(s).cloned())
            .collect())
    }

    async fn receipt_get(&self, key: &str, now: UnixMillis) -> Result<Option<String>, IoError> {
        let writer = self.w.writer.borrow();
        Ok(writer
            .receipts
            .get(key)
            .filter(|(until, _)| *until > now)
            .map(|(_, body)| body.clone()))
    }

    async fn receipt_put(
        &self,
        key: &str,
        until: UnixMillis,
        body: &str,
        now: UnixMillis,
    ) -> Result<(), IoError> {
        let mut writer = self.w.writer.borrow_mut();
        writer.receipts.retain(|_, (u, _)| *u > now);
        writer
            .receipts
            .insert(key.to_string(), (until, body.to_string()));
        Ok(())
    }

    async fn kv_get(&self, key: &str) -> Result<Option<String>, IoError> {
        let loc = self.w.writer.borrow().loc;
        self.w.kv_get(loc, key, self.inv).await.map_err(IoError)
    }

    async fn kv_put(&self, key: &str, value: &str, ttl: u64) -> Result<(), IoError> {
        self.w
            .kv_put(key, value, ttl, self.inv)
            .await
            .map_err(IoError)
    }

    async fn zone_load(&self) -> Result<Option<ZoneQueue>, IoError> {
        Ok(self.w.writer.borrow().zone.clone())
    }

    async fn zone_store(&self, queue: &ZoneQueue) -> Result<(), IoError> {
        self.w.writer.borrow_mut().zone = Some(queue.clone());
        Ok(())
    }

    fn zone_token(&self) -> Option<String> {
        Some("simulated-zone-token".into())
    }

    /// The zone API stand-in: about 150 ms, then 429 (`Retry-After: 1`)
    /// while [`WriterModel::zone_refusing`] holds, else 200.
    async fn api_post(
        &self,
        _url: &str,
        _headers: &Headers,
        body: &str,
        _timeout: Duration,
    ) -> Result<(u16, Headers), IoError> {
        self.w.exec.sleep(self.w.draw(100, 200)).await;
        let mut headers = Headers::new();
        if self.w.writer.borrow().zone_refusing {
            headers.append("retry-after", "1");
            return Ok((429, headers));
        }
        self.w.writer.borrow_mut().zone_calls.push(body.to_string());
        Ok((200, headers))
    }
}
