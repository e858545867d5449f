//! The purge writer (the `PurgeWriter` Durable Object of `glue/writer.rs`)
//! in one location: the simulator's `flow::writer::WriterHost`, so the
//! writer's real sequence (`flow::writer`: the hand-off, the log read, the
//! alarm's flush to KV and zone purge calls) runs here, on the virtual
//! clock. The object's storage is [`WriterModel`] (its operations take no
//! time: Durable Object storage is local to the object); a hand-off or a
//! log read from location L pays L's round trip; KV writes take the time
//! the world's KV takes. The zone purge API is a stand-in ([`zone_api`])
//! with the account's rate limit, refusing while the fault says so;
//! [`zone_check`] holds the writer to sending every tag handed to it.

use super::world::World;
use crate::flow::platform::IoError;
use crate::flow::writer::{
    accept, alarm as run_alarm, read_log as core_read, Accepted, WriterHost,
};
use crate::http::headers::Headers;
use crate::http::time::UnixMillis;
use crate::purge::log::{LogEntry, LogIndex, LogRead};
use crate::purge::writer::{Handoff, Slot, Stored};
use crate::purge::zone::RateLimit;
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
    /// Zone work the writer accepted, in order: (event number, tags,
    /// everything).
    pub zone_handed: Vec<(u64, Vec<String>, bool)>,
    /// Calls the zone API stand-in took: (event number, tags, everything).
    pub zone_calls: Vec<(u64, Vec<String>, bool)>,
    /// Events so far (hand-offs and calls), to order them.
    pub zone_events: u64,
    /// The account's rate limit as the API stand-in keeps it.
    pub zone_api_limit: Option<RateLimit>,
    /// Calls the stand-in refused for passing the account's limit.
    pub zone_over_limit: u64,
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
            zone_handed: Vec::new(),
            zone_calls: Vec::new(),
            zone_events: 0,
            zone_api_limit: None,
            zone_over_limit: 0,
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
        Ok(Accepted::Stored(s)) => {
            if let (Some(z), false) = (&handoff.zone, s.replayed) {
                let mut writer = w.writer.borrow_mut();
                writer.zone_events += 1;
                let n = writer.zone_events;
                writer.zone_handed.push((n, z.tags.clone(), z.everything));
            }
            Ok(s)
        }
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
        let loc = self.w.writer.borrow().loc;
        self.w
            .kv_put(loc, key, value, ttl, self.inv)
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

    /// The zone API stand-in ([`zone_api`]).
    async fn api_post(
        &self,
        _url: &str,
        _headers: &Headers,
        body: &str,
        _timeout: Duration,
    ) -> Result<(u16, Headers), IoError> {
        Ok(zone_api(&self.w, body).await)
    }
}

/// The zone purge API on the simulated edge: the account's rate limit (the
/// configured plan's; a call past it is counted, and refused 429), about
/// 150 ms, then 429 or 503 while the fault "zone API refusing" holds; else
/// 200, and ~150 ms later every location's Cache API drops the entries
/// whose `Cache-Tag` names one of the call's tags (all of them for
/// `purge_everything`).
async fn zone_api(w: &Rc<World>, body: &str) -> (u16, Headers) {
    let mut headers = Headers::new();
    let value: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let everything = value["purge_everything"] == serde_json::Value::Bool(true);
    let tags: Vec<String> = value["tags"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let plan = w.config.purge.zone_plan;
    let now = UnixMillis(w.now());
    let within = {
        let mut writer = w.writer.borrow_mut();
        let limit = writer
            .zone_api_limit
            .get_or_insert_with(|| RateLimit::for_plan(plan));
        limit.reserve(now, 0).is_some()
    };
    w.exec.sleep(w.draw(100, 200)).await;
    if !within {
        w.writer.borrow_mut().zone_over_limit += 1;
        headers.append("retry-after", "1");
        return (429, headers);
    }
    if w.faults.get().zone_refusing {
        if w.chance(0.5) {
            headers.append("retry-after", &w.draw(1, 5).to_string());
            return (429, headers);
        }
        return (503, headers);
    }
    {
        let mut writer = w.writer.borrow_mut();
        writer.zone_events += 1;
        let n = writer.zone_events;
        writer.zone_calls.push((n, tags.clone(), everything));
    }
    let world = w.clone();
    w.exec.spawn(Box::pin(async move {
        world.exec.sleep(world.draw(100, 200)).await;
        for loc in &world.locs {
            loc.cache.borrow_mut().retain(|_, c| {
                let tagged = c.headers.get_joined("cache-tag").unwrap_or_default();
                !(everything
                    || tagged
                        .split(',')
                        .any(|t| tags.iter().any(|x| x == t.trim())))
            });
        }
    }));
    (200, headers)
}

/// At the end of a run: the zone queue is empty, every tag handed to the
/// writer was in a call the API took after the hand-off (or a
/// `purge_everything` was), and no call passed the account's rate limit.
pub fn zone_check(w: &World) -> Result<(), String> {
    let writer = w.writer.borrow();
    if writer.zone_over_limit > 0 {
        return Err(format!(
            "zone purge: {} calls past the account's rate limit",
            writer.zone_over_limit
        ));
    }
    if let Some(q) = writer.zone.as_ref().filter(|q| !q.jobs.is_empty()) {
        return Err(format!("zone purge: {} jobs never sent", q.jobs.len()));
    }
    for (n, tags, everything) in &writer.zone_handed {
        let later = writer.zone_calls.iter().filter(|c| c.0 > *n);
        let sent: Vec<&(u64, Vec<String>, bool)> = later.collect();
        if sent.iter().any(|c| c.2) {
            continue;
        }
        let missing = tags.iter().find(|t| !sent.iter().any(|c| c.1.contains(t)));
        if *everything || missing.is_some() {
            return Err(format!(
                "zone purge: hand-off {n} ({missing:?}, everything {everything}) never sent"
            ));
        }
    }
    Ok(())
}
