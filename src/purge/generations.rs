//! Generation-based invalidation: the arithmetic, not the storage.
//!
//! `cache.delete` reaches one data centre. To purge everywhere, every purgeable *name*
//! (a tag, a URL, a path prefix, or "everything") has a value in Workers KV, and a cached
//! entry is served only if none of the names that apply to it moved after the entry was
//! fetched. The glue does the KV reads and writes; this module says which keys, how to
//! read the values, and what to decide.
//!
//! # Scheme: purge marks, not counters
//!
//! A purge writes, for each name, a **mark** ([`PurgeMark`], format in
//! [`crate::purge::mark`]): the time of the purge (Unix milliseconds, from the receiving
//! worker's clock) and a random nonce. A stored entry records in its [`Stamp`] the time its
//! origin fetch **started** (`fetched_at_ms`, taken before the fetch by the serving worker),
//! the tags it carries, and the marks its worker had read, *before the fetch*, for the names
//! that apply to it (`seen`). On a hit, each applicable name is checked in turn:
//!
//! 1. never purged (no value): current for this name;
//! 2. its mark is the very one the stamp recorded ([`PurgeMark::same_purge`]): current for
//!    this name, whatever the times say;
//! 3. otherwise the time rule: current only if `purged_at + skew < fetched_at`.
//!
//! The entry is current when every name is.
//!
//! **Why rule 2 is sound.** The recorded mark was returned by a read that finished before
//! the fetch started, so the purge that wrote it happened before the fetch: the entry's
//! body is from after that purge. Every later purge of the name writes a new nonce, so
//! finding the same mark again means no later purge is visible to this reader — exactly
//! what the time rule tries to establish, without trusting two machines' clocks. It is
//! equality, not ordering: a purge from a machine whose clock is behind may write a
//! *smaller* time than the one recorded, and it is still a different mark. Legacy marks
//! without a nonce never satisfy rule 2 (two purges may share a millisecond). A mark never
//! comes back once replaced (every purge draws a new nonce), so the only way to see a
//! recorded mark after a later purge is a KV location that has not received that purge
//! yet — the propagation delay every rule here is bounded by. What rule 2
//! cannot cover: names learned only after the fetch (tags the origin sends) and names whose
//! value the worker had not read before the fetch — those keep the time rule.
//!
//! **Its bound.** Rule 2 is what makes caching work again right after a purge: before it,
//! every entry fetched within `skew` after a purge of one of its names was treated as
//! purged on every read, so during a burst of edits a tag was effectively uncached. With
//! it, the first read after a purge fetches (collapsed to one origin request per key per
//! isolate, `flow::collapse`) and stores an entry recording the new mark; later reads hit.
//! Staleness is unchanged: a purge is seen by a data centre once its KV value reaches it
//! and the isolate memo has expired ([`crate::purge::writer::staleness_bound`]), as before.
//!
//! Why not counters ("generation N", stamped before the fetch)?
//! - Tags sent by the origin (`Cache-Tag`, `Surrogate-Key`) are known only *after* the
//!   fetch. With counters their generation can only be read after the fetch, so a purge
//!   landing during the fetch is recorded as already seen and a stale response survives
//!   it. With timestamps nothing needs reading before the fetch: the fetch start time
//!   bounds every name, including ones learned later. This is the sound option.
//! - Counters need read-modify-write on an eventually consistent store: a purge in a data
//!   centre whose KV cache still holds `4` (the true value is `5`) writes `5` — no bump at
//!   all for entries stamped `5`. A mark write is blind and cannot be lost that way.
//!
//! A value holds the last hard and last soft purge and its write's nonce ([`PurgeRecord`],
//! whose mark is [`PurgeRecord::mark`]). A hard purge after the fetch makes the entry a miss;
//! a soft one makes it stale from the purge on ([`Currency::SoftPurged`]). Rule 2 covers both.
//!
//! Hazard — clock skew (the time rule): the purge time comes from one machine, the fetch
//! start from another. If the purging machine's clock is behind, a purge that really
//! happened after a fetch started could carry an earlier time. The `skew_ms` allowance (see
//! `config::DEFAULT_CLOCK_SKEW`) widens the comparison: anything fetched up to `skew_ms`
//! after a purge also counts as stale unless rule 2 proves it current.
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

use super::mark::NAME_ID_HEX;
pub use super::mark::{PurgeMark, SeenMarks};
use crate::http::text::sha256_hex;
use crate::http::time::UnixMillis;
use crate::purge::body::{PurgeRequest, MAX_PREFIX_DEPTH};
pub use crate::purge::record::{after_purge, parse_value, PurgeKind, PurgeRecord};

/// Deepest path for which prefix names are checked (segments). Equal to the deepest prefix
/// a purge may name.
pub const MAX_PATH_DEPTH: usize = MAX_PREFIX_DEPTH;
/// Most tags an entry may carry. Each is a KV read on a (memo-missing) hit; an entry with
/// more cannot be stamped and must not be stored.
pub const MAX_STAMP_TAGS: usize = 64;
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
    /// A name from its text ([`GenName::as_str`]), as the purge log carries
    /// it: `all`, or `tag:`, `url:` or `prefix:` and something; else `None`.
    pub fn parse(text: &str) -> Option<GenName> {
        let known = ["tag:", "url:", "prefix:"]
            .iter()
            .any(|p| text.len() > p.len() && text.starts_with(p));
        (known || text == "all").then(|| GenName(text.to_string()))
    }
    /// The Workers KV key holding this name's last purge mark: `gen:<sha256 hex>`.
    pub fn kv_key(&self) -> String {
        format!("gen:{}", sha256_hex(self.0.as_bytes()))
    }
    /// The name's id in a stamp's recorded marks: the first
    /// [`NAME_ID_HEX`] hex digits of the hash [`GenName::kv_key`] uses.
    pub fn mark_id(&self) -> String {
        let mut h = sha256_hex(self.0.as_bytes());
        h.truncate(NAME_ID_HEX);
        h
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

/// The state of one name, as read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gen {
    /// No KV value: never purged (or expired).
    Never,
    /// Last purged (hard, soft or both) at these instants.
    Purged(PurgeRecord),
    /// The read failed or the stored value is garbage. Fails safe: the entry is a miss.
    Unreadable,
}

impl Gen {
    /// From a KV read result (`None` = key absent).
    pub fn from_kv(value: Option<&str>) -> Gen {
        match value {
            None => Gen::Never,
            Some(s) => PurgeRecord::parse(s).map_or(Gen::Unreadable, Gen::Purged),
        }
    }

    /// A name last purged hard at `at` (and never soft after it).
    pub fn hard(at: UnixMillis) -> Gen {
        Gen::Purged(PurgeRecord::new(PurgeKind::Hard, at))
    }

    /// A name last purged soft at `at` (and never hard).
    pub fn soft(at: UnixMillis) -> Gen {
        Gen::Purged(PurgeRecord::new(PurgeKind::Soft, at))
    }
}

/// Current values of the names a decision needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Generations(BTreeMap<GenName, Gen>);

impl Generations {
    pub const fn new() -> Generations {
        Generations(BTreeMap::new())
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

/// What an entry was fetched under: when its origin fetch started, its tags, and the
/// purge marks read before the fetch (module doc, rule 2). Its header format is in
/// `flow::entry` (`encode_stamp`, `parse_stamp`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    pub fetched_at_ms: UnixMillis,
    tags: Vec<String>,
    seen: SeenMarks,
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
            seen: SeenMarks::default(),
        })
    }

    /// Sorted, lower-cased, distinct.
    pub fn tags(&self) -> &[String] {
        &self.tags
    }

    /// The marks recorded as read before the fetch.
    pub fn seen(&self) -> &SeenMarks {
        &self.seen
    }

    /// With these recorded marks (as parsed from a stored entry).
    pub fn with_seen(mut self, seen: SeenMarks) -> Stamp {
        self.seen = seen;
        self
    }

    /// Records the marks of `names` found in `before`. HAZARD: `before` must hold only
    /// values whose reads finished before the origin fetch started (module doc, rule 2):
    /// a value read during or after the fetch could be a purge the body predates.
    pub fn record_seen(&mut self, names: &[GenName], before: &Generations) {
        for name in names {
            if let Some(Gen::Purged(record)) = before.get(name) {
                self.seen.insert(&name.mark_id(), record.mark());
            }
        }
    }

    /// Rule 2 of the module doc: `name`'s current mark is the one recorded.
    fn saw(&self, name: &GenName, current: &PurgeMark) -> bool {
        !self.seen.is_empty()
            && current.nonce.is_some()
            && self
                .seen
                .get(&name.mark_id())
                .is_some_and(|m| m.same_purge(current))
    }
}
/// Whether a stored entry may be served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Currency {
    Current,
    /// `name` was purged hard at or after the entry's fetch started (allowing for skew).
    Moved {
        name: String,
    },
    /// No hard purge applies, but a soft one does: the entry is stale since
    /// `at` (the earliest soft purge that applies).
    SoftPurged {
        at: UnixMillis,
    },
    /// `name` was not read, or its read failed: treat as a miss.
    Unknown {
        name: String,
    },
}

/// Decides whether an entry stamped `recorded` is current, given the values of every name
/// in `names` (from [`request_names`] with the stamp's tags). Fails safe: a name missing
/// from `current` or [`Gen::Unreadable`] gives `Unknown`. A mark the stamp recorded is
/// current (rule 2); any other purge at `purged_at >= fetched_at - skew_ms` counts as
/// after the fetch; a hard one wins over every soft one.
pub fn is_current(
    recorded: &Stamp,
    names: &[GenName],
    current: &Generations,
    skew_ms: u64,
) -> Currency {
    let after_fetch =
        |t: Option<UnixMillis>| t.filter(|t| t.saturating_add(skew_ms) >= recorded.fetched_at_ms);
    let mut soft: Option<UnixMillis> = None;
    for name in names {
        match current.get(name) {
            Some(Gen::Never) => {}
            Some(Gen::Purged(record)) => {
                if recorded.saw(name, &record.mark()) {
                    continue;
                }
                if after_fetch(record.hard).is_some() {
                    return Currency::Moved {
                        name: name.as_str().to_string(),
                    };
                }
                if let Some(t) = after_fetch(record.soft) {
                    soft = Some(soft.map_or(t, |s| s.min(t)));
                }
            }
            Some(Gen::Unreadable) | None => {
                return Currency::Unknown {
                    name: name.as_str().to_string(),
                }
            }
        }
    }
    match soft {
        Some(at) => Currency::SoftPurged { at },
        None => Currency::Current,
    }
}
