//! Production hazards of the purge settings (`edgecache check --production`):
//! a fast-path poll the writer cannot serve at the bound receipts state, and
//! purge timings past what a deployment should run with. Native only; the
//! rest of the check is `production`.

use super::model::Config;
use super::production::Finding;
use super::wrangler::WranglerFile;

/// Shortest `purge.poll` `check --production` accepts (see `poll_finding`).
pub const PRODUCTION_MIN_POLL_MS: u64 = 500;

/// Longest `purge.tolerance` `check --production` lets pass (1 h; the
/// default, Standard Webhooks' recommendation, is 5 min): a signed webhook is
/// accepted that long before or after its timestamp, and its receipt is kept
/// for twice that.
pub const PRODUCTION_MAX_TOLERANCE: u64 = 3600;
/// Longest `purge.generation_memo` `check --production` lets pass (60 s,
/// default 5 s): every purge's staleness bound grows by it.
pub const PRODUCTION_MAX_GENERATION_MEMO: u64 = 60;
/// Longest `purge.clock_skew` `check --production` lets pass (60 s, default
/// 2 s): every entry fetched within it after a purge of one of its names is
/// refetched, so a long one turns every purge into a stampede.
pub const PRODUCTION_MAX_CLOCK_SKEW: u64 = 60;

impl WranglerFile<'_> {
    /// `purge.poll`: the fast bound a receipt states (poll + one read of the
    /// log + clock skew) holds only while the writer answers every location's
    /// read within the read's timeout. A Durable Object takes about 1,000
    /// requests a second; at one read per location per poll, a poll under
    /// [`PRODUCTION_MIN_POLL_MS`] lets 300 busy locations send it more than
    /// 600 a second, and reads that queue past the timeout fall back to the
    /// KV bound: the receipt's fast bound would not be the one that holds.
    pub(super) fn poll_finding(&self, config: &Config) -> Option<Finding> {
        let p = &config.purge;
        let fast = p.fast_bound_ms()?;
        (p.poll_ms < PRODUCTION_MIN_POLL_MS).then(|| Finding {
            message: format!(
                "purge: field `poll`: {} ms would have every busy location read the purge \
                 writer {} times a second (300 locations: {} requests/s, against a Durable \
                 Object's ~1,000/s); reads slowed past {} ms break the fast bound receipts state \
                 ({fast} ms); set at least \"{PRODUCTION_MIN_POLL_MS}ms\"",
                p.poll_ms,
                1000 / p.poll_ms.max(1),
                300 * 1000 / p.poll_ms.max(1),
                super::defaults::FAST_READ_TIMEOUT_MS
            ),
            at: self.at(&["vars", "EDGECACHE", "purge", "poll"], None),
        })
    }

    /// Purge timings past what a deployment should run with (the bounds in
    /// `config::defaults`, each with its reason).
    pub(super) fn timing_findings(&self, config: &Config) -> Vec<Finding> {
        let p = &config.purge;
        let checks = [
            (
                "tolerance",
                p.tolerance,
                PRODUCTION_MAX_TOLERANCE,
                "a signed purge webhook would be accepted that long before or after it was \
                 signed, and every receipt kept for twice that",
            ),
            (
                "generation_memo",
                p.generation_memo,
                PRODUCTION_MAX_GENERATION_MEMO,
                "a purge could take that much longer to hold in an isolate that read its \
                 names before, and every receipt's staleness bound grows by it",
            ),
            (
                "clock_skew",
                p.clock_skew,
                PRODUCTION_MAX_CLOCK_SKEW,
                "every entry fetched that long after a purge of one of its names would be \
                 fetched again, so each purge becomes a stampede on the origin",
            ),
        ];
        checks
            .into_iter()
            .filter(|(_, value, max, _)| value > max)
            .map(|(field, value, max, why)| Finding {
                message: format!(
                    "purge: field `{field}`: {value} s is over {max} s: {why}; shorten it or \
                     remove it (the default is far shorter)"
                ),
                at: self.at(&["vars", "EDGECACHE", "purge", field], None),
            })
            .collect()
    }
}
