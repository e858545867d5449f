//! Generation-based invalidation: the arithmetic, not the storage.
//!
//! `cache.delete` reaches one data centre. To purge everywhere, every purgeable *name*
//! (a tag, a URL, a path prefix, or "everything") has a value in Workers KV, and a cached
//! entry is served only if none of the names that apply to it moved after the entry was
//! fetched. The glue does the KV reads and writes; this module says which keys, how to
//! read the values, and what to decide.
//!
//! # Scheme: purge timestamps, not counters
//!
//! A purge writes, for each name, the **time of the purge** (Unix milliseconds, from the
//! receiving worker's clock). A stored entry records in its [`Stamp`] the time its origin
//! fetch **started** (`fetched_at_ms`, taken before the fetch by the serving worker) and
//! the tags it carries. On a hit, the entry is current only if, for every applicable name,
//! `purged_at + skew < fetched_at`.
//!
//! Why not counters ("generation N", stamped before the fetch)?
//! - Tags sent by the origin (`Cache-Tag`, `Surrogate-Key`) are known only *after* the
//!   fetch. With counters their generation can only be read after the fetch, so a purge
//!   landing during the fetch is recorded as already seen and a stale response survives
//!   it. With timestamps nothing needs reading before the fetch: the fetch start time
//!   bounds every name, including ones learned later. This is the sound option.
//! - Counters need read-modify-write on an eventually consistent store: a purge in a data
//!   centre whose KV cache still holds `4` (the true value is `5`) writes `5` — no bump at
//!   all for entries stamped `5`. A timestamp write is blind and cannot be lost that way.
//!
//! Hazard — clock skew: the purge time comes from one machine, the fetch start from
//! another. If the purging machine's clock is behind, a purge that really happened after a
//! fetch started could carry an earlier time. The `skew_ms` allowance (see
//! `config::DEFAULT_CLOCK_SKEW`) widens the comparison: anything fetched up to `skew_ms` after a
//! purge also counts as stale. The price is a few extra misses right after a purge.
//! (Workers' `Date.now()` only advances across I/O, so the serving side's fetch start can
//! only be *early*, which is the safe direction.)
//!
//! # Names
//!
//! `tag:<tag lower-cased>`, `url:<base key URL>` (the key URL without variant dimensions,
//! supplied by the caller), `prefix:<host><path prefix>`, and `all`. Names are hashed into
//! KV keys ([`GenName::kv_key`]) because a URL can exceed KV's 512-byte key limit.
//!
//! # Prefixes
//!
//! A request for `https://h/api/courses/12/?x=1` checks `prefix:h/`, `prefix:h/api`,
//! `prefix:h/api/courses`, `prefix:h/api/courses/12` — one name per segment boundary, at
//! most [`MAX_PATH_DEPTH`] + 1 names. Purge prefixes are normalized the same way (no
//! trailing slash, no empty segments, at most `MAX_PATH_DEPTH` segments; see
//! [`crate::purge::body::Prefix`]), so every accepted prefix is one of the names some request
//! checks. Consequence: prefixes match whole segments — `/api/courses` covers
//! `/api/courses/…` but not `/api/courses-archive`.

use std::collections::{BTreeMap, BTreeSet};

use crate::http::text::{canonical_u64, sha256_hex};
use crate::http::time::UnixMillis;
use crate::purge::body::{PurgeRequest, MAX_PREFIX_DEPTH};

/// Deepest path for which prefix names are checked (segments). Equal to the deepest prefix
/// a purge may name.
pub const MAX_PATH_DEPTH: usize = MAX_PREFIX_DEPTH;
/// Most tags an entry may carry. Each is a KV read on a (memo-missing) hit; an entry with
/// more cannot be stamped and must not be stored.
pub const MAX_STAMP_TAGS: usize = 64;
/// How long a Workers KV write may take to be visible in other locations: "up to 60
/// seconds or more" (<https://developers.cloudflare.com/kv/concepts/how-kv-works/>). Not a
/// hard guarantee; it is the documented typical bound, and what receipts report.
pub const KV_PROPAGATION_SECS: u64 = 60;
/// Shortest `expirationTtl` Workers KV accepts, seconds
/// (<https://developers.cloudflare.com/kv/api/write-key-value-pairs/>): shorter
/// ones are refused, so every write asks for at least this.
pub const KV_MIN_EXPIRATION_TTL: u64 = 60;

/// The `expirationTtl` to write a value that must live `ttl` seconds.
pub fn kv_expiration_ttl(ttl: u64) -> u64 {
    ttl.max(KV_MIN_EXPIRATION_TTL)
}

/// A purgeable name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GenName(String);

impl GenName {
    /// `tag:<tag>`; tags compare case-insensitively (as Cloudflare's cache tags do).
    pub fn tag(tag: &str) -> GenName {
        GenName(format!("tag:{}", tag.to_ascii_lowercase()))
    }
    /// `url:<base key URL>`; the caller passes the key URL without variant dimensions.
    pub fn url(base_url: &str) -> GenName {
        GenName(format!("url:{base_url}"))
    }
    /// `prefix:<host><path>`; `path` is `/` or `/seg/…` without a trailing slash.
    pub fn prefix(host: &str, path: &str) -> GenName {
        GenName(format!("prefix:{}{path}", host.to_ascii_lowercase()))
    }
    /// `all`: bumped by `everything`, checked by every entry.
    pub fn all() -> GenName {
        GenName("all".to_string())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The Workers KV key holding this name's last purge time: `gen:<sha256 hex>`.
    pub fn kv_key(&self) -> String {
        format!("gen:{}", sha256_hex(self.0.as_bytes()))
    }
}

/// The prefix paths a request path is covered by: `/`, then the path up to each segment
/// boundary, then the whole path (trailing slash dropped). Empty segments (`//`) end no
/// candidate. At most [`MAX_PATH_DEPTH`] + 1 entries. `path` excludes the query.
pub fn prefix_paths(path: &str) -> Vec<String> {
    let mut out = vec!["/".to_string()];
    let mut depth = 0;
    let bytes = path.as_bytes();
    for i in 1..=bytes.len() {
        if depth >= MAX_PATH_DEPTH {
            break;
        }
        let boundary = i == bytes.len() || bytes[i] == b'/';
        if boundary && bytes[i - 1] != b'/' {
            // `path[..i]` ends just before a '/' or at the end: a whole segment.
            if let Some(p) = path.get(..i) {
                out.push(p.to_string());
                depth += 1;
            }
        }
    }
    out
}

/// Every name that applies to a cached entry: `all`, its URL, each prefix of its path on
/// its host, and its tags (route templates expanded and origin tags — in practice the tags
/// of its [`Stamp`]). Deduplicated, in that order.
pub fn request_names(host: &str, path: &str, base_url: &str, tags: &[String]) -> Vec<GenName> {
    let mut names = vec![GenName::all(), GenName::url(base_url)];
    names.extend(prefix_paths(path).iter().map(|p| GenName::prefix(host, p)));
    names.extend(tags.iter().map(|t| GenName::tag(t)));
    dedup(names)
}

/// Every name a purge bumps. `key_urls` are the request's `urls` mapped to base key URLs
/// by the key module; `/path` prefixes apply to `default_host` (the host the webhook was
/// received on). `everything` bumps only `all`, which every entry checks.
pub fn purge_names(req: &PurgeRequest, key_urls: &[String], default_host: &str) -> Vec<GenName> {
    if req.everything {
        return vec![GenName::all()];
    }
    let mut names: Vec<GenName> = req.tags.iter().map(|t| GenName::tag(t)).collect();
    names.extend(key_urls.iter().map(|u| GenName::url(u)));
    names.extend(
        req.prefixes
            .iter()
            .map(|p| GenName::prefix(p.host_or(default_host), &p.path)),
    );
    dedup(names)
}

fn dedup(names: Vec<GenName>) -> Vec<GenName> {
    let mut seen = BTreeSet::new();
    names
        .into_iter()
        .filter(|n| seen.insert(n.clone()))
        .collect()
}

/// Workers KV takes at most one write per second to the same key
/// (<https://developers.cloudflare.com/kv/platform/limits/>); a faster one gets 429.
pub const KV_WRITE_INTERVAL_MS: u64 = 1000;

/// Two purge records of one name as one: the later purge wins (it covers
/// everything fetched before it, so it covers what the earlier one did). The
/// single writer coalesces a name's purges with this (`purge::writer`); a value
/// that grows (a soft-purge flag, say) extends this rule, with
/// [`encode_value`] and [`parse_value`].
pub fn merge_values(a: UnixMillis, b: UnixMillis) -> UnixMillis {
    a.max(b)
}

/// The KV value written for a purge at `purged_at_ms`.
pub fn encode_value(purged_at: UnixMillis) -> String {
    purged_at.0.to_string()
}

/// Parses a KV value strictly (decimal digits only, canonical, fits `u64`).
pub fn parse_value(s: &str) -> Option<UnixMillis> {
    canonical_u64(s).map(UnixMillis)
}

/// The state of one name, as read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gen {
    /// No KV value: never purged (or expired).
    Never,
    /// Last purged at this instant.
    PurgedAt(UnixMillis),
    /// The read failed or the stored value is garbage. Fails safe: the entry is a miss.
    Unreadable,
}

impl Gen {
    /// From a KV read result (`None` = key absent).
    pub fn from_kv(value: Option<&str>) -> Gen {
        match value {
            None => Gen::Never,
            Some(s) => parse_value(s).map_or(Gen::Unreadable, Gen::PurgedAt),
        }
    }
}

/// Current values of the names a decision needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Generations(BTreeMap<GenName, Gen>);

impl Generations {
    pub fn new() -> Generations {
        Generations::default()
    }
    pub fn insert(&mut self, name: GenName, g: Gen) {
        self.0.insert(name, g);
    }
    pub fn get(&self, name: &GenName) -> Option<Gen> {
        self.0.get(name).copied()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// What an entry was fetched under: when its origin fetch started, and its tags.
///
/// Serialized into one header value: `1;<fetched_at_ms>;<tag>,<tag>…` — tags lower-cased,
/// sorted, deduplicated, with `%`, `,`, `;`, and bytes outside `!`..=`~` percent-encoded
/// (upper-case hex). [`Stamp::parse`] accepts only this canonical form, so
/// `parse(encode(s)) == s` and anything else is `None` (= treat the entry as a miss).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    pub fetched_at_ms: UnixMillis,
    tags: Vec<String>,
}

/// Why an entry cannot be stamped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StampError {
    /// More than [`MAX_STAMP_TAGS`] distinct tags: the entry must not be stored.
    TooManyTags { got: usize },
    /// An empty tag.
    EmptyTag,
}

impl std::fmt::Display for StampError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StampError::TooManyTags { got } => {
                write!(f, "{got} tags; at most {MAX_STAMP_TAGS} per entry")
            }
            StampError::EmptyTag => f.write_str("empty tag"),
        }
    }
}

impl std::error::Error for StampError {}

impl Stamp {
    /// `fetched_at_ms` must be read **before** the origin fetch starts. `tags` are the route
    /// tags and origin tags of the response.
    pub fn new(fetched_at_ms: UnixMillis, tags: &[String]) -> Result<Stamp, StampError> {
        let set: BTreeSet<String> = tags.iter().map(|t| t.to_ascii_lowercase()).collect();
        if set.contains("") {
            return Err(StampError::EmptyTag);
        }
        if set.len() > MAX_STAMP_TAGS {
            return Err(StampError::TooManyTags { got: set.len() });
        }
        Ok(Stamp {
            fetched_at_ms,
            tags: set.into_iter().collect(),
        })
    }

    /// Sorted, lower-cased, distinct.
    pub fn tags(&self) -> &[String] {
        &self.tags
    }
}
/// Whether a stored entry may be served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Currency {
    Current,
    /// `name` was purged at or after the entry's fetch started (allowing for skew).
    Moved {
        name: String,
    },
    /// `name` was not read, or its read failed: treat as a miss.
    Unknown {
        name: String,
    },
}

/// Decides whether an entry stamped `recorded` is current, given the values of every name
/// in `names` (from [`request_names`] with the stamp's tags). Fails safe: a name missing
/// from `current` or [`Gen::Unreadable`] gives `Unknown`. Purges at
/// `purged_at >= fetched_at - skew_ms` count as after the fetch.
pub fn is_current(
    recorded: &Stamp,
    names: &[GenName],
    current: &Generations,
    skew_ms: u64,
) -> Currency {
    for name in names {
        match current.get(name) {
            Some(Gen::Never) => {}
            Some(Gen::PurgedAt(t)) => {
                if t.saturating_add(skew_ms) >= recorded.fetched_at_ms {
                    return Currency::Moved {
                        name: name.as_str().to_string(),
                    };
                }
            }
            Some(Gen::Unreadable) | None => {
                return Currency::Unknown {
                    name: name.as_str().to_string(),
                }
            }
        }
    }
    Currency::Current
}
