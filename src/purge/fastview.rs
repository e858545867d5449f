//! An isolate's view of the purge log (`purge::log`): how recent it is, what
//! to do about it before a cached entry is served, and what a read of the log
//! adds to the isolate's memo. Pure: the glue (`glue::fastlog`) performs the
//! reads (shared per data centre through the Cache API, one key per poll
//! interval) and passes the time in.
//!
//! # The rule that keeps the fast bound honest
//!
//! A view was *asked* at some instant: the moment, by the asking isolate's
//! clock, its read of the log was sent. Every purge answered 200 before that
//! instant is in the read (the writer logs a purge before the webhook's 200).
//! An isolate serves cached entries on the strength of its view only while
//! the view is younger than `poll + READ_TIMEOUT_MS`: from `poll` on, the
//! next request starts a refresh in the background; past the limit, a
//! request waits for a refresh first (at most [`READ_TIMEOUT_MS`]; a slower
//! read goes on in the background and updates the view when it lands). So a purge answered at `T` is in every
//! view used after `T + poll + READ_TIMEOUT_MS` (plus the skew between the
//! clocks of a data centre's machines, which share reads): the fast bound
//! ([`fast_bound_ms`]).
//!
//! When the refresh fails (the writer down or slower than the timeout), the
//! isolate does not pretend: it serves under the KV bound only (what it would
//! do without the fast path), says so (`Cache-Status` detail
//! `fast_path_unreachable`, a log line), and backs off (1 s doubling to
//! 30 s, with jitter) so a down writer is not sent every request. A read that
//! shows part of the log was dropped before this isolate saw it ([`Gap`])
//! marks the isolate behind (`fast_path_gap`) for the backstop bound: the
//! purges it missed reach it only through KV.
//!
//! The fast path never makes an entry *more* servable than KV alone would:
//! it only adds purges to the memo (`purge::memo::Memo::put` keeps the later
//! of what it holds and what it is given). Missing part of the log can
//! therefore only delay a purge to the KV bound, never resurrect an entry.

use super::generations::{GenName, PurgeRecord};
use super::log::{LogEntry, LogOrder, LogRead};
use crate::config::PurgeSettings;
use crate::http::cache_status::Detail;
use crate::http::time::UnixMillis;

/// Longest a read of the log may take (the "one round trip to the writer"
/// of the bound): a slower one counts as failed.
pub use crate::config::FAST_READ_TIMEOUT_MS as READ_TIMEOUT_MS;
/// Longest a read is left to finish in the background before it counts as
/// failed: a read slower than [`READ_TIMEOUT_MS`] still updates the view when
/// it arrives (it was asked when it was sent), only the requests that waited
/// for it were told they are behind.
pub const READ_GIVE_UP_MS: u64 = 10_000;
/// First back-off after a failed read; doubled per failure up to the max.
pub const BACKOFF_MIN_MS: u64 = 1000;
pub const BACKOFF_MAX_MS: u64 = 30_000;

/// The KV path's bound (`purge::writer::staleness_bound`) in ms.
pub fn backstop_ms(backstop_secs: u64) -> u64 {
    backstop_secs.saturating_mul(1000)
}

/// The fast bound: `purge.poll` + [`READ_TIMEOUT_MS`] + `purge.clock_skew`;
/// `None` when the fast path is off (`poll` 0).
pub fn fast_bound_ms(settings: &PurgeSettings) -> Option<u64> {
    settings.fast_bound_ms()
}

/// How far back a read of the log reaches (writer's clock): the backstop
/// bound plus the clock skew, a poll and a read, so any purge older than the
/// window is one KV already shows everywhere.
pub fn read_window_ms(settings: &PurgeSettings, backstop_secs: u64) -> u64 {
    backstop_ms(backstop_secs)
        .saturating_add(settings.clock_skew.saturating_mul(1000))
        .saturating_add(settings.poll_ms)
        .saturating_add(READ_TIMEOUT_MS)
}

/// The poll interval `now` falls in: the key of the data centre's shared read.
pub fn interval(now: UnixMillis, poll_ms: u64) -> u64 {
    now.0 / poll_ms.max(1)
}

/// Why an isolate serves under the KV bound only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behind {
    /// Its view is older than the limit and the last read failed (backing off).
    Unreachable,
    /// A read showed entries dropped from the log before this isolate saw them.
    Gap,
}

impl Behind {
    /// The `Cache-Status` detail a request served under the KV bound carries.
    pub fn detail(self) -> Detail {
        match self {
            Behind::Unreachable => Detail::FastPathUnreachable,
            Behind::Gap => Detail::FastPathGap,
        }
    }
}

/// What to do before serving a cached entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The fast path is off (`purge.poll = 0`).
    Off,
    /// The view is fresh enough: serve.
    Fresh,
    /// Read the log (or join the read in flight); `wait`: before serving.
    Refresh { wait: bool },
    /// Serve under the KV bound and say so.
    Behind(Behind),
}

/// The isolate's view of the log.
#[derive(Debug, Clone, Default)]
pub struct FastView {
    /// The last sequence number applied.
    since: Option<u64>,
    asked_at: Option<UnixMillis>,
    failures: u32,
    retry_at: UnixMillis,
    gap_until: UnixMillis,
    /// When the read in flight started. A read is over by
    /// [`READ_GIVE_UP_MS`]; one that never reported (cancelled) stops counting
    /// a second after that, so it cannot hold the isolate up.
    reading: Option<UnixMillis>,
    /// The writer's order of the purges in the window last read.
    order: LogOrder,
}

impl FastView {
    pub fn new() -> FastView {
        FastView::default()
    }

    /// The step before serving at `now`, with `purge.poll` = `poll_ms`.
    pub fn step(&self, now: UnixMillis, poll_ms: u64) -> Step {
        if poll_ms == 0 {
            return Step::Off;
        }
        let limit = poll_ms.saturating_add(READ_TIMEOUT_MS);
        let age = self.asked_at.map(|a| now.saturating_sub(a));
        let backing_off = now < self.retry_at;
        let reading = self.is_reading(now);
        let step = match age {
            Some(a) if a < poll_ms => Step::Fresh,
            Some(a) if a < limit => match reading || backing_off {
                true => Step::Fresh,
                false => Step::Refresh { wait: false },
            },
            // Wait for a read in flight only while it is within its timeout.
            _ if reading => match self.read_age(now) < READ_TIMEOUT_MS {
                true => Step::Refresh { wait: true },
                false => Step::Behind(Behind::Unreachable),
            },
            _ if backing_off => Step::Behind(Behind::Unreachable),
            _ => Step::Refresh { wait: true },
        };
        self.with_gap(step, now)
    }

    /// The step after waiting for a read: never another read.
    pub fn settled(&self, now: UnixMillis, poll_ms: u64) -> Step {
        match self.step(now, poll_ms) {
            Step::Refresh { wait: false } => self.with_gap(Step::Fresh, now),
            Step::Refresh { wait: true } => Step::Behind(Behind::Unreachable),
            s => s,
        }
    }

    fn with_gap(&self, step: Step, now: UnixMillis) -> Step {
        match step {
            Step::Fresh if now < self.gap_until => Step::Behind(Behind::Gap),
            s => s,
        }
    }

    /// A read starts at `now`; `false` if one is already in flight.
    pub fn begin_read(&mut self, now: UnixMillis) -> bool {
        if self.is_reading(now) {
            return false;
        }
        self.reading = Some(now);
        true
    }

    /// A read is in flight at `now` (and has not outlived its give-up time).
    pub fn is_reading(&self, now: UnixMillis) -> bool {
        self.reading
            .is_some_and(|at| now.saturating_sub(at) < READ_GIVE_UP_MS + 1000)
    }

    /// How long the read in flight has run (0 when none).
    fn read_age(&self, now: UnixMillis) -> u64 {
        self.reading.map_or(0, |at| now.saturating_sub(at))
    }

    /// A read sent at `asked_at` answered `read`; the entries to apply (new
    /// to this isolate). `backstop_ms`: how long a gap keeps it behind.
    pub fn on_read(
        &mut self,
        read: &LogRead,
        asked_at: UnixMillis,
        now: UnixMillis,
        backstop_ms: u64,
    ) -> Vec<LogEntry> {
        self.reading = None;
        self.failures = 0;
        self.retry_at = UnixMillis(0);
        if self.asked_at.is_some_and(|a| asked_at <= a) {
            // An older read than the one applied (a shared copy): nothing new.
            return Vec::new();
        }
        let reset = self.since.is_some_and(|s| read.head < s);
        let gap = match self.since {
            _ if reset => true,
            Some(s) => s.saturating_add(1) < read.first && !read.complete,
            None => !read.complete,
        };
        if gap {
            self.gap_until = now.saturating_add(backstop_ms);
        }
        let after = if reset { 0 } else { self.since.unwrap_or(0) };
        if reset {
            self.order.clear();
        }
        self.order.read(read, asked_at);
        self.since = Some(read.head);
        self.asked_at = Some(asked_at);
        read.entries
            .iter()
            .filter(|e| e.seq > after)
            .cloned()
            .collect()
    }

    /// A read failed (or timed out) at `now`: back off, `jitter` in `[0, 1)`
    /// adding up to a quarter of the wait.
    pub fn on_failure(&mut self, now: UnixMillis, jitter: f64) {
        self.reading = None;
        self.failures = self.failures.saturating_add(1);
        let shift = self.failures.saturating_sub(1).min(16);
        let wait = BACKOFF_MIN_MS
            .saturating_mul(1 << shift)
            .min(BACKOFF_MAX_MS);
        let extra = (wait as f64 * jitter.clamp(0.0, 1.0) / 4.0) as u64;
        self.retry_at = now.saturating_add(wait + extra);
    }

    /// The writer's order of the purges this view read
    /// (`purge::memo::Memo::put_ordered` merges by it).
    pub fn order(&self) -> &LogOrder {
        &self.order
    }

    /// This isolate handed the purge written with `nonce` to the writer,
    /// which logged it, at `now` ([`LogOrder::wrote`]).
    pub fn wrote(&mut self, nonce: u64, now: UnixMillis) {
        self.order.wrote(nonce, now);
    }

    /// Consecutive failed reads.
    pub fn failures(&self) -> u32 {
        self.failures
    }
}

/// The purges `entries` put on each name they carry (names that do not parse
/// are skipped: the writer only logs names a webhook built).
pub fn purges(entries: &[LogEntry]) -> Vec<(GenName, PurgeRecord)> {
    entries
        .iter()
        .flat_map(|e| {
            let record = e.record();
            e.names
                .iter()
                .filter_map(move |n| GenName::parse(n).map(|g| (g, record)))
        })
        .collect()
}
