//! The purge writer (the `PurgeWriter` Durable Object of `glue/writer.rs`)
//! in one location: a hand-off is admitted by `purge::writer::admit` into
//! the object's durable slots, an alarm flushes them to KV by
//! `purge::writer::flush_plan`, and `after_write` / `next_flush` decide what
//! stays pending and when the next flush runs — the same core decisions the
//! Durable Object makes. A hand-off from location L pays L's round trip.
//! The fast path's log is kept by `purge::log::append` and read by
//! `purge::log::read_plan`, as the object does (`glue/writer.rs`).

use super::world::World;
use crate::http::time::UnixMillis;
use crate::purge::generations::kv_expiration_ttl;
use crate::purge::log::{append, read_plan, Append, LogEntry, LogIndex, LogRead};
use crate::purge::record::merge_over;
use crate::purge::webhook::generation_ttl;
use crate::purge::writer::{
    admit, after_write, flush_plan, next_flush, Admission, Handoff, Slot, WriteOutcome,
};
use std::collections::BTreeMap;
use std::rc::Rc;

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
        }
    }

    /// Names waiting to be written.
    pub fn pending(&self) -> usize {
        self.slots.values().filter(|s| s.pending.is_some()).count()
    }
}

/// A hand-off from location `from`: Ok once the object stored it (the
/// webhook may then answer 200), with whether it went into the log; Err
/// when unreachable or full.
pub async fn hand_off(w: &Rc<World>, from: usize, handoff: &Handoff) -> Result<bool, String> {
    let rtt = w.locs[from].rtt_ms;
    if w.faults.get().writer_unreachable {
        w.exec.sleep(rtt.max(1)).await;
        return Err("purge writer unreachable".into());
    }
    w.exec.sleep(rtt / 2).await;
    let loc = w.writer.borrow().loc;
    let now = w.clock_ms(loc);
    let admitted = admit(&w.writer.borrow().slots, handoff, now);
    let result = match admitted {
        Admission::Full { .. } => Err("purge writer full (503)".to_string()),
        Admission::Accept(updates) => {
            let updates: BTreeMap<String, Slot> = updates.into_iter().collect();
            w.writer.borrow_mut().slots.extend(updates.clone());
            if let Some(at) = next_flush(&updates, now) {
                schedule(w, at);
            }
            Ok(handoff.log && log_append(w, handoff, now))
        }
    };
    w.exec.sleep(rtt - rtt / 2).await;
    result
}

/// Appends `handoff` to the log (`purge::log::append`); whether it was logged.
fn log_append(w: &World, handoff: &Handoff, now: UnixMillis) -> bool {
    let mut writer = w.writer.borrow_mut();
    let names = handoff.names.clone();
    let (at, soft, nonce) = (handoff.at, handoff.soft, handoff.nonce);
    let Append::Logged { entry, index, drop } = append(&writer.log, names, at, soft, nonce, now)
    else {
        return false;
    };
    for seq in drop {
        writer.entries.remove(&seq);
    }
    writer.entries.insert(entry.seq, entry);
    writer.log = index;
    true
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
    let read = {
        let mut writer = w.writer.borrow_mut();
        writer.log_reads += 1;
        let now = w.clock_ms(writer.loc);
        let plan = read_plan(&writer.log, window_ms, now);
        let entries = plan
            .seqs
            .iter()
            .filter_map(|s| writer.entries.get(s).cloned())
            .collect();
        LogRead {
            head: plan.head,
            first: plan.first,
            complete: plan.complete,
            entries,
        }
    };
    w.exec.sleep(rtt - rtt / 2).await;
    Ok(read)
}

/// Sets the object's alarm to `at` (writer clock) unless an earlier one is
/// set (`edgecache_writer_schedule` in glue/js/writer.js).
fn schedule(w: &Rc<World>, at: UnixMillis) {
    if w.writer.borrow().alarm.is_some_and(|a| a <= at) {
        return;
    }
    w.writer.borrow_mut().alarm = Some(at);
    let loc = w.writer.borrow().loc;
    let wait = w.true_ms(loc, at).saturating_sub(w.now());
    w.log(|| format!("writer alarm in {wait} ms"));
    let world = w.clone();
    w.exec.spawn(async move {
        world.exec.sleep(wait).await;
        if world.writer.borrow().alarm == Some(at) {
            world.writer.borrow_mut().alarm = None;
            alarm(&world).await;
        }
    });
}

/// The alarm: one flush (its writes concurrent, as `join_all` makes them),
/// then the next alarm if anything is still pending.
async fn alarm(w: &Rc<World>) {
    let loc = w.writer.borrow().loc;
    let inv = w.id();
    let now = w.clock_ms(loc);
    let plan = flush_plan(&w.writer.borrow().slots, now);
    w.writer.borrow_mut().flushes += 1;
    for k in &plan.forget {
        w.writer.borrow_mut().slots.remove(k);
    }
    let ttl = kv_expiration_ttl(generation_ttl());
    let mut outcomes = Vec::with_capacity(plan.writes.len());
    // All writes start together; each takes its own time.
    let took = w.draw(20, 300);
    w.exec.sleep(took).await;
    for write in &plan.writes {
        let current = if write.read_first {
            let prop = w.propagation_ms();
            let now = w.now();
            w.kv.borrow_mut().get(loc, &write.key, now, prop, inv)
        } else {
            Ok(None)
        };
        let outcome = match current {
            Ok(current) => {
                let value = merge_over(current.as_deref(), write.record);
                let refusing = w.faults.get().kv_refuses_writes;
                let now = w.now();
                let put =
                    w.kv.borrow_mut()
                        .put(&write.key, &value, ttl, now, inv, refusing);
                match put {
                    Ok(()) => WriteOutcome::Written,
                    Err(_) => WriteOutcome::Failed,
                }
            }
            Err(_) => WriteOutcome::Failed,
        };
        outcomes.push(outcome);
    }
    let done = w.clock_ms(loc);
    w.log(|| format!("writer flush: {:?}, forgot {}", outcomes, plan.forget.len()));
    let mut writer = w.writer.borrow_mut();
    for (write, outcome) in plan.writes.iter().zip(outcomes) {
        if let Some(slot) = writer.slots.get(&write.key).copied() {
            let slot = after_write(slot, &write.record, outcome, done);
            writer.slots.insert(write.key.clone(), slot);
        }
    }
    let next = next_flush(&writer.slots, done);
    drop(writer);
    if let Some(at) = next {
        schedule(w, at);
    }
}
