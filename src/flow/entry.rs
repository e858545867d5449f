//! The stored-entry format, in one place: every internal header a stored
//! response carries, its version, and its parser.
//!
//! An entry in the Cache API (and in the memory tier) is the origin's answer
//! with these fields added (all under [`INTERNAL_PREFIX`], stripped before a
//! response leaves the worker: see `flow::stored::client_headers`):
//!
//! | header | carries | format |
//! |---|---|---|
//! | [`META_HEADER`] `x-edgecache-meta` | when stored, age then, TTL and stale windows ([`StoredMeta`]) | `v2;at=<s>;age=<s>;ttl=<s>;swr=<s>;sie=<s>` (`v1` without `age=` is still read, as age 0) |
//! | [`STAMP_HEADER`] `x-edgecache-gen` | fetch start, tags and the purge marks read before the fetch, for purges ([`Stamp`]) | `1;<fetched_at_ms>;<tag>,<tag>…` without marks, `2;<fetched_at_ms>;<tag>,<tag>…;<name id>=<mark>,…` with them |
//! | [`STATUS_HEADER`] `x-edgecache-status` | the origin's status (the entry is stored as [`STORED_AS`]) | decimal 200..=599 |
//! | [`ORIGIN_CC_HEADER`] `x-edgecache-origin-cc` | the origin's own `Cache-Control` | as received |
//! | [`CODING_HEADER`] `x-edgecache-coding` | the origin's `Content-Encoding` (the body is stored as the origin coded it) | as received |
//! | [`ORIGIN_TAG_HEADER`] `x-edgecache-origin-tag` | the origin's own `Cache-Tag`; present (empty when the origin sent none) exactly when the entry's `cache-tag` is the worker's ([`tag_entry`]) | as received |
//!
//! And one field that is not internal: `cache-tag`, the entry's purge names as
//! Cloudflare cache tags ([`tag_entry`], `purge::cache_tag`), so that a zone
//! purge by tag reaches the entry (every variant of a URL) in every data
//! centre. It never reaches a client as such: [`restore_origin_tag`] puts the
//! origin's own field back before the tag fields are removed (or exposed).
//!
//! Every parser is strict: a value in any other shape is `None`, and the entry
//! is a miss (`detail=unreadable_entry`). Guessing at damaged metadata could
//! serve an entry forever. To change a format, give it a new version tag and
//! parse the old one until every entry written with it has expired.

use crate::config::MAX_ENTRY_LIFETIME;
use crate::http::fields::{connection_nominated, frames_body, HOP_BY_HOP};
use crate::http::headers::Headers;
pub use crate::http::reserved::INTERNAL_PREFIX;
use crate::http::text::{canonical_u64, pct_byte};
use crate::http::time::{UnixMillis, UnixSecs};
use crate::purge::cache_tag;
use crate::purge::generations::{GenName, SeenMarks, Stamp};
use crate::response::freshness::StoredMeta;
use crate::response::revalidation::validator;
use crate::response::store::StorePlan;

/// Name of the header holding [`StoredMeta`].
pub const META_HEADER: &str = "x-edgecache-meta";
/// Name of the header holding the [`Stamp`].
pub const STAMP_HEADER: &str = "x-edgecache-gen";
/// The origin's own `Cache-Control`, kept on stored entries (the stored copy's
/// `Cache-Control` is rewritten for the Cache API's expiry).
pub const ORIGIN_CC_HEADER: &str = "x-edgecache-origin-cc";

/// The origin's `Content-Encoding`, kept on stored entries under this name
/// instead of its own. The body is stored exactly as the origin coded it
/// (gzip bytes for a gzip answer), and the runtime must not know it is coded:
/// workerd decodes a body whose `Content-Encoding` it understands whenever
/// the body is read (`getContentEncoding` in workerd's `system-streams.c++`),
/// so a visible field would make every read of a stored copy (its length
/// guard, the memory tier, a 304's re-store) see other bytes than the
/// stored `Content-Length` counts. `flow::stored::client_headers` gives the
/// field back its name; the glue sends such bodies unchanged
/// (`encodeBody: "manual"`). See docs/caching.md, "Compressed answers".
pub const CODING_HEADER: &str = "x-edgecache-coding";

/// The origin's own `Cache-Tag`, kept on stored entries under this name when
/// the stored copy's `cache-tag` is the worker's ([`tag_entry`]): empty when
/// the origin sent none. Its presence is what says the stored `cache-tag` is
/// derived; an entry without it (written before entries were tagged) still
/// has the origin's own `cache-tag` there.
pub const ORIGIN_TAG_HEADER: &str = "x-edgecache-origin-tag";

/// The field the Cache API reads tags from on `put` (Cloudflare's `Cache-Tag`).
pub const CACHE_TAG: &str = "cache-tag";

/// The origin's status, kept on stored entries. Every entry is stored as a 200:
/// the Cache API (and Miniflare's, which follows RFC 9111's list of understood
/// statuses) silently refuses to store some statuses (503...) that a route's
/// `status_ttl` may name, so the real status travels in this header.
pub const STATUS_HEADER: &str = "x-edgecache-status";

/// Status of every object handed to the Cache API (see [`STATUS_HEADER`]).
pub const STORED_AS: u16 = 200;

/// The parts of a stored entry the decision needs, parsed once.
#[derive(Debug)]
pub struct StoredEntry {
    pub meta: StoredMeta,
    pub stamp: Stamp,
    /// The origin's status (from [`STATUS_HEADER`]).
    pub status: u16,
}

impl StoredEntry {
    /// `None` when the internal headers are missing or garbled: treat as a miss.
    /// Also `None` for an entry with a visible `Content-Encoding`: no release
    /// since [`CODING_HEADER`] writes one, and the runtime would decode such a
    /// body on every read (see there).
    pub fn parse(headers: &Headers) -> Option<StoredEntry> {
        if headers.contains("content-encoding") {
            return None;
        }
        Some(StoredEntry {
            meta: parse_meta(headers.get(META_HEADER)?)?,
            stamp: parse_stamp(headers.get(STAMP_HEADER)?)?,
            status: headers
                .get(STATUS_HEADER)
                .and_then(canonical_u64)
                .and_then(|s| u16::try_from(s).ok())
                .filter(|s| (200..=599).contains(s))?,
        })
    }
}

/// Serializes as `v2;at=<stored_at>;age=<initial_age>;ttl=<ttl>;swr=<swr>;sie=<sie>`.
pub fn encode_meta(meta: &StoredMeta) -> String {
    format!(
        "v2;at={};age={};ttl={};swr={};sie={}",
        meta.stored_at.0,
        meta.initial_age,
        meta.ttl,
        meta.stale_while_revalidate,
        meta.stale_if_error
    )
}

/// Strict inverse of [`encode_meta`]: exactly that shape, keys in that order,
/// canonical decimal numbers (no sign, no leading zeros, no spaces, fits u64).
/// The previous format, `v1` (the same without `age=`, written before the
/// origin's age was recorded), is read with an initial age of 0, which is
/// what those entries were served with. Anything else is `None`, which
/// callers must treat as a miss.
pub fn parse_meta(s: &str) -> Option<StoredMeta> {
    let mut parts = s.split(';');
    let has_age = match parts.next()? {
        "v2" => true,
        "v1" => false,
        _ => return None,
    };
    let mut field = |key: &str| -> Option<u64> {
        let (k, v) = parts.next()?.split_once('=')?;
        if k != key {
            return None;
        }
        canonical_u64(v)
    };
    let stored_at = UnixSecs(field("at")?);
    let initial_age = if has_age { field("age")? } else { 0 };
    let meta = StoredMeta {
        stored_at,
        initial_age,
        ttl: field("ttl")?,
        stale_while_revalidate: field("swr")?,
        stale_if_error: field("sie")?,
    };
    if parts.next().is_some() {
        return None;
    }
    Some(meta)
}

/// Serializes as `1;<fetched_at_ms>;<tag>,<tag>…`: tags as the stamp holds
/// them (lower-cased, sorted, distinct), with `%`, `,`, `;` and bytes outside
/// `!`..=`~` percent-encoded (upper-case hex). A stamp with recorded purge
/// marks is `2;<fetched_at_ms>;<tags>;<marks>` (`purge::mark::SeenMarks`);
/// without marks it stays version 1, which every earlier release reads.
pub fn encode_stamp(stamp: &Stamp) -> String {
    let tags: Vec<String> = stamp.tags().iter().map(|t| pct_encode(t)).collect();
    let (at, tags) = (stamp.fetched_at_ms.0, tags.join(","));
    if stamp.seen().is_empty() {
        format!("1;{at};{tags}")
    } else {
        format!("2;{at};{tags};{}", stamp.seen().encode())
    }
}

/// Strict: only the canonical form [`encode_stamp`] produces (version 1 or
/// 2), so `parse_stamp(encode_stamp(s)) == s` and anything else is `None`.
pub fn parse_stamp(s: &str) -> Option<Stamp> {
    let mut parts = s.split(';');
    let (version, at, tags) = (parts.next()?, parts.next()?, parts.next()?);
    let seen = match version {
        "1" => SeenMarks::default(),
        "2" => SeenMarks::parse(parts.next()?)?,
        _ => return None,
    };
    if parts.next().is_some() {
        return None;
    }
    let fetched_at_ms = UnixMillis(canonical_u64(at)?);
    let tags: Vec<String> = if tags.is_empty() {
        Vec::new()
    } else {
        tags.split(',')
            .map(pct_decode)
            .collect::<Option<Vec<String>>>()?
    };
    let stamp = Stamp::new(fetched_at_ms, &tags).ok()?.with_seen(seen);
    (encode_stamp(&stamp) == s).then_some(stamp)
}

fn needs_escape(b: u8) -> bool {
    !(0x21..=0x7e).contains(&b) || matches!(b, b'%' | b',' | b';')
}

fn pct_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if needs_escape(b) {
            out.extend(pct_byte(b).map(char::from));
        } else {
            out.push(char::from(b));
        }
    }
    out
}

fn pct_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The stored copy's header fields: the origin's, less what must not be
/// stored, plus every internal field above. The Cache API expires the object
/// itself, so its `Cache-Control` keeps it through the stale windows (and,
/// with a validator, long enough to revalidate: [`cache_api_keep`]); the
/// origin's own `Cache-Control` moves to [`ORIGIN_CC_HEADER`].
pub fn stored_headers(
    origin: &Headers,
    plan: &StorePlan,
    meta: &StoredMeta,
    stamp: &Stamp,
    status: u16,
) -> Headers {
    // RFC 9111 §3.1: hop-by-hop fields and those the origin's `Connection`
    // names are never stored (a stored `Transfer-Encoding` beside the length
    // of the stored body would frame a hit wrongly), nor a `Content-Length`
    // that `Transfer-Encoding` overrides (RFC 9112 §6.3).
    let nominated = connection_nominated(origin);
    let mut stored: Headers = origin
        .iter()
        .filter(|(n, _)| {
            !HOP_BY_HOP.contains(n)
                && !nominated.iter().any(|x| x == n)
                && frames_body(origin, n)
                && !n.starts_with(INTERNAL_PREFIX)
                && *n != "cache-control"
                && *n != "content-encoding"
                && *n != "age"
                && *n != "set-cookie"
                && !plan.strip_headers.iter().any(|s| s.eq_ignore_ascii_case(n))
        })
        .collect();
    if let Some(cc) = origin.get_joined("cache-control") {
        stored.append(ORIGIN_CC_HEADER, &cc);
    }
    if let Some(coding) = origin.get_joined("content-encoding") {
        stored.append(CODING_HEADER, &coding);
    }
    let keep = cache_api_keep(plan, validator(origin).is_some());
    stored.append("cache-control", &format!("max-age={keep}"));
    stored.append(META_HEADER, &encode_meta(meta));
    stored.append(STAMP_HEADER, &encode_stamp(stamp));
    stored.append(STATUS_HEADER, &status.to_string());
    stored
}

/// How long the Cache API keeps an entry (seconds): its TTL and its longer stale
/// window; with a validator (`with_validator`), for the route's `keep`
/// (`plan.keep`) past freshness when that is longer, so that once stale it can still be
/// revalidated with a conditional request (a 304 costs the origin no body)
/// instead of fetched again (Varnish's `beresp.keep`). Without one, a stale
/// copy could only be fetched again whole, so it is not kept past its windows.
/// Never past [`MAX_ENTRY_LIFETIME`]: purge records outlive every entry.
pub fn cache_api_keep(plan: &StorePlan, with_validator: bool) -> u64 {
    let window = plan.stale_while_revalidate.max(plan.stale_if_error);
    let past_freshness = if with_validator {
        window.max(plan.keep)
    } else {
        window
    };
    plan.ttl
        .saturating_add(past_freshness)
        .min(MAX_ENTRY_LIFETIME)
}

/// Tags a stored copy (`stored`, as [`stored_headers`] built it) for the zone
/// purge API: its `cache-tag` becomes the tags of `names`, the purge names the
/// entry is checked against on lookup (`Lookup::names` with its stamp), so a
/// purge by any of them (route and origin tags as themselves, URL and prefix
/// names as `ec-<id>`: `purge::cache_tag`) reaches it. The origin's own
/// `cache-tag`, if it was stored, moves to [`ORIGIN_TAG_HEADER`]. Unchanged
/// when no name has a tag.
pub fn tag_entry(stored: &mut Headers, names: &[GenName]) {
    let Some(tags) = cache_tag::header(names) else {
        return;
    };
    let origin = stored.get_joined(CACHE_TAG).unwrap_or_default();
    stored.remove(CACHE_TAG);
    stored.append(ORIGIN_TAG_HEADER, &origin);
    stored.append(CACHE_TAG, &tags);
}

/// Gives `out` (fields copied from the stored entry `stored`, internal ones
/// left out) the origin's own `cache-tag` instead of the worker's
/// ([`tag_entry`]): what a client may see (when tag fields are exposed) and
/// what a revalidation compares and updates. Nothing changes for fields
/// without [`ORIGIN_TAG_HEADER`] (an origin answer, or an untagged entry).
pub fn restore_origin_tag(stored: &Headers, out: &mut Headers) {
    let Some(origin) = stored.get(ORIGIN_TAG_HEADER) else {
        return;
    };
    out.remove(CACHE_TAG);
    if !origin.is_empty() {
        out.append(CACHE_TAG, origin);
    }
}

/// The origin's fields as [`stored_headers`] kept them: the internal fields
/// and the Cache API's `Cache-Control` taken off, the origin's own
/// `Cache-Control` ([`ORIGIN_CC_HEADER`]), `Content-Encoding`
/// ([`CODING_HEADER`]) and `Cache-Tag` ([`ORIGIN_TAG_HEADER`]) put back (the
/// worker's tags fed back as the origin's would add `ec-…` tags to the stamp). What a revalidation compares and updates
/// (`flow::revalidate`).
pub fn origin_fields(stored: &Headers) -> Headers {
    let mut out: Headers = stored
        .iter()
        .filter(|(n, _)| !n.starts_with(INTERNAL_PREFIX) && *n != "cache-control")
        .collect();
    if let Some(cc) = stored.get(ORIGIN_CC_HEADER) {
        out.append("cache-control", cc);
    }
    if let Some(coding) = stored.get(CODING_HEADER) {
        out.append("content-encoding", coding);
    }
    restore_origin_tag(stored, &mut out);
    out
}
