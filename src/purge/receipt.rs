//! The purge webhook's answer: what was done in each layer, the staleness
//! bound, and replay handling (a redelivered `webhook-id` gets the first
//! receipt back).

use serde::{Deserialize, Serialize};

use super::body::PurgeRequest;
use super::generations::kv_expiration_ttl;
use crate::http::text::sha256_hex;
use crate::http::time::UnixSecs;

/// Outcome of writing generations (the global layer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GenerationsStatus {
    /// Not attempted yet (the glue has not filled the layer in).
    Pending,
    Ok,
    Failed,
}

/// Outcome of the Cloudflare zone purge layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZonePurgeStatus {
    /// No zone id / API token configured.
    Off,
    /// Calls planned and handed to `wait_until`; their results are logged, not awaited.
    Queued,
    Ok,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenerationsLayer {
    /// Generation keys written.
    pub bumped: usize,
    pub status: GenerationsStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZonePurgeLayer {
    pub status: ZonePurgeStatus,
    /// API calls planned.
    pub requests: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalDeleteLayer {
    /// `cache.delete` calls that found an entry in the receiving data centre.
    pub deleted: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layers {
    pub generations: GenerationsLayer,
    pub zone_purge: ZonePurgeLayer,
    pub local_delete: LocalDeleteLayer,
}

/// What was asked for, echoed back as received (prefixes in their raw form).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invalidated {
    pub tags: Vec<String>,
    pub urls: Vec<String>,
    pub prefixes: Vec<String>,
    pub everything: bool,
    /// A soft purge: matching entries were marked stale, not removed (absent
    /// in receipts stored by earlier versions: hard).
    #[serde(default)]
    pub soft: bool,
}

/// The webhook's answer. Built by [`Receipt::new`] with every layer pending/off; the glue
/// fills each layer in as it runs it, then stores the receipt under [`receipt_key`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The `webhook-id`.
    pub id: String,
    /// When this worker received the webhook (Unix seconds in the JSON).
    pub received_at: UnixSecs,
    pub invalidated: Invalidated,
    pub layers: Layers,
    /// After this many seconds every data centre serves fresh content
    /// (see [`crate::purge::writer::staleness_bound`]).
    pub staleness_bound_seconds: u64,
    /// True when this is the stored answer to an earlier delivery of the same id.
    pub replayed: bool,
    /// The fast path's bound and the KV backstop's, and which one
    /// `staleness_bound_seconds` is (absent in receipts of earlier releases).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bounds: Option<Bounds>,
}

/// Which bound a purge is held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Applies {
    /// The fast path (the writer's log): `fast_ms`.
    Fast,
    /// Workers KV alone: `backstop_seconds`.
    Backstop,
}

/// The two bounds a purge has, and which applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bounds {
    /// `purge.poll` + one read of the log + `purge.clock_skew`, ms
    /// (`purge::fastview::fast_bound_ms`); `None` when the fast path is off.
    pub fast_ms: Option<u64>,
    /// The KV path's bound (`purge::writer::staleness_bound`), seconds.
    pub backstop_seconds: u64,
    pub applies: Applies,
}

impl Bounds {
    /// The fast bound applies when the fast path is on and the purge was
    /// logged (a writer answered so); else the backstop.
    pub fn new(fast_ms: Option<u64>, backstop_seconds: u64, logged: bool) -> Bounds {
        let applies = match (fast_ms, logged) {
            (Some(_), true) => Applies::Fast,
            _ => Applies::Backstop,
        };
        Bounds {
            fast_ms,
            backstop_seconds,
            applies,
        }
    }

    /// The bound that applies, whole seconds (rounded up).
    pub fn seconds(&self) -> u64 {
        match (self.applies, self.fast_ms) {
            (Applies::Fast, Some(ms)) => ms.div_ceil(1000),
            _ => self.backstop_seconds,
        }
    }
}

impl Receipt {
    pub fn new(
        id: &str,
        now: UnixSecs,
        req: &PurgeRequest,
        staleness_bound_seconds: u64,
    ) -> Receipt {
        Receipt {
            id: id.to_string(),
            received_at: now,
            invalidated: Invalidated {
                tags: req.tags.clone(),
                urls: req.urls.clone(),
                prefixes: req.prefixes.iter().map(|p| p.raw.clone()).collect(),
                everything: req.everything,
                soft: req.soft,
            },
            layers: Layers {
                generations: GenerationsLayer {
                    bumped: 0,
                    status: GenerationsStatus::Pending,
                },
                zone_purge: ZonePurgeLayer {
                    status: ZonePurgeStatus::Off,
                    requests: 0,
                },
                local_delete: LocalDeleteLayer { deleted: 0 },
            },
            staleness_bound_seconds,
            replayed: false,
            bounds: None,
        }
    }

    /// A receipt as JSON (`to_json`); `None` when it does not parse.
    pub fn parse(text: &str) -> Option<Receipt> {
        serde_json::from_str(text).ok()
    }

    /// This receipt once the writer has said whether it logged the purge:
    /// the fast bound applies only then.
    pub fn settled(mut self, logged: bool) -> Receipt {
        if let Some(b) = self.bounds {
            self.set_bounds(Bounds::new(b.fast_ms, b.backstop_seconds, logged));
        }
        self
    }

    /// States `bounds`: `staleness_bound_seconds` becomes the one that applies.
    pub fn set_bounds(&mut self, bounds: Bounds) {
        self.staleness_bound_seconds = bounds.seconds();
        self.bounds = Some(bounds);
    }

    /// HTTP status for the receipt: 200 only when the global layer (generations) is done.
    /// Otherwise 503, so a Standard Webhooks sender retries.
    pub fn status(&self) -> u16 {
        match self.layers.generations.status {
            GenerationsStatus::Ok => 200,
            GenerationsStatus::Pending | GenerationsStatus::Failed => 503,
        }
    }

    /// `Retry-After` (seconds) for a receipt that is not a success: the
    /// purge did not happen and the sender must send it again. Workers KV
    /// takes one write per second per key, so a retry after a second can
    /// succeed where this one met the limit.
    pub fn retry_after(&self) -> Option<u64> {
        (self.status() != 200).then_some(RETRY_AFTER_SECS)
    }

    /// Only a successful receipt is stored for replay; a failed one must let the sender's
    /// retry do the work again.
    pub fn storable(&self) -> bool {
        self.status() == 200
    }

    pub fn to_json(&self) -> String {
        // Serializing plain structs of strings, numbers and bools cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// [`Receipt::retry_after`] on a failed purge: KV's per-key write limit is one
/// per second.
pub const RETRY_AFTER_SECS: u64 = 1;

/// The KV key under which the first receipt for `webhook_id` is stored. Hashed so any id
/// fits Workers KV's 512-byte key limit and cannot collide with generation keys.
pub fn receipt_key(webhook_id: &str) -> String {
    format!("receipt:{}", sha256_hex(webhook_id.as_bytes()))
}

/// How long (seconds) to keep a receipt: a message verifies only while its timestamp is
/// within `now ± tolerance`, so one signed message can arrive during at most
/// `2 × tolerance` seconds. Workers KV refuses `expirationTtl` below 60 s.
///
/// Replay detection is best effort: KV is eventually consistent, so a redelivery to
/// another data centre within ~60 s may not see the receipt and does the work again.
/// That is harmless — every layer of a purge is idempotent.
pub fn receipt_ttl(tolerance: u64) -> u64 {
    kv_expiration_ttl(tolerance.saturating_mul(2))
}

/// What to do with a delivery whose id may have been seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replay {
    /// No (readable) stored receipt: do the work.
    Fresh,
    /// Return this stored receipt (with `replayed: true`) and do nothing.
    Replayed(Receipt),
}

/// Decides from the value stored under [`receipt_key`]. A stored value that does not
/// parse, or belongs to another id, counts as absent: redoing a purge is safe, skipping
/// one is not.
pub fn replay_decision(webhook_id: &str, stored: Option<&str>) -> Replay {
    let Some(s) = stored else {
        return Replay::Fresh;
    };
    match serde_json::from_str::<Receipt>(s) {
        Ok(mut r) if r.id == webhook_id => {
            r.replayed = true;
            Replay::Replayed(r)
        }
        _ => Replay::Fresh,
    }
}
