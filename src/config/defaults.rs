//! Defaults and bounds of the configuration, in one place (docs/config.md
//! lists them).

use super::duration::Secs;

/// Default clock-skew allowance between data centres (`purge.clock_skew`).
/// Cloudflare's machines are NTP-synchronized far tighter than this; the
/// margin mostly absorbs `Date.now()` coarseness inside Workers (see
/// `purge::generations`).
pub const DEFAULT_CLOCK_SKEW: Secs = 2;

/// How long a Workers KV write may take to be visible in other locations
/// (`purge.kv_propagation`): "up to 60 seconds or more"
/// (<https://developers.cloudflare.com/kv/concepts/how-kv-works/>); reads are
/// cached per location for at least 60 s. The documented typical bound, not a
/// guarantee; it is what receipts report.
pub const DEFAULT_KV_PROPAGATION: Secs = 60;
/// Largest `purge.kv_propagation` accepted (1 h).
pub const MAX_KV_PROPAGATION: Secs = 3600;

/// Bodies up to this size are read whole for the cache's copy (4 MiB: API
/// responses); larger ones stream (`flow::copy`). The memory tier holds only
/// bodies read whole, so `memory.max_entry_bytes` is at most this.
pub const BUFFERED_COPY_LIMIT: u64 = 4 * 1024 * 1024;

/// Tracking parameters dropped from every key by default. A trailing `*` is a
/// prefix match. Analytics and ad-click ids: they never change an API response,
/// and each click carries a unique value, so keeping them would make every
/// request a miss.
pub const DEFAULT_TRACKING_PARAMS: &[&str] = &[
    "utm_*",
    "fbclid",
    "gclid",
    "dclid",
    "gbraid",
    "wbraid",
    "msclkid",
    "mc_cid",
    "mc_eid",
    "_ga",
    "_gl",
    "yclid",
    "igshid",
    "twclid",
    "ttclid",
    "li_fat_id",
];

/// Request headers forwarded to the origin by default (on cacheable routes,
/// only those also named in the route's `vary` are sent: see `key::origin_headers`).
pub const DEFAULT_FORWARD_HEADERS: &[&str] = &["accept", "accept-language"];

/// Headers that let a client rewrite the host, path or method the origin sees
/// (cache poisoning / routing confusion): refused in `forward_headers`.
pub const FORBIDDEN_FORWARD_HEADERS: &[&str] = &[
    "host",
    "x-forwarded-host",
    "forwarded",
    "x-host",
    "x-original-url",
    "x-rewrite-url",
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
    "connection",
    "transfer-encoding",
    "te",
    "upgrade",
];

/// Credential headers: never in `vary` or `forward_headers`; per-user routes
/// handle them (keyed by HMAC, forwarded only there).
pub const CREDENTIAL_HEADERS: &[&str] = &["authorization", "cookie", "proxy-authorization"];

pub const DEFAULT_TAG_HEADERS: &[&str] = &["cache-tag", "surrogate-key"];

pub const DEFAULT_CREDENTIALS: &[&str] = &["authorization", "cookie:sessionid"];

pub const DEFAULT_API_BASE: &str = "https://api.cloudflare.com/client/v4";

/// Most `memory.max_bytes`: an isolate has 128 MB in all.
pub const MAX_MEMORY_BYTES: u64 = 64 * 1024 * 1024;

/// Longest `memory.max_age`.
pub const MAX_MEMORY_AGE: Secs = 3600;

/// Default route `keep`: how long past freshness (and past its stale windows,
/// when they are shorter) an entry with a validator stays in the Cache API to
/// be revalidated with a conditional request, which a 304 answers without a
/// body. A day covers the gaps short-TTL API answers meet most (overnight, a
/// reader coming back the next day); the copy costs only cache space, which
/// Cloudflare's cache reclaims least recently used first when it needs room,
/// so a kept copy nobody reads again does not push out one in use.
pub const DEFAULT_KEEP: Secs = 86_400;

/// Longest route `keep` (30 days): the bound on how long a route's copies
/// hold cache space past freshness; past a month a kept copy is seldom read
/// again, and it would only delay the space coming back.
pub const MAX_KEEP: Secs = 30 * 86_400;

/// Longest an entry may be kept and served: its TTL plus its longer stale
/// window (365 days). Routes are refused beyond it and the origin's stale
/// windows are cut to fit (`response::store`), so purge records, which live
/// longer than this (`purge::webhook::generation_ttl`), outlive every entry
/// they cover, whatever the config was when the entry was stored.
pub const MAX_ENTRY_LIFETIME: Secs = 365 * 86_400;
