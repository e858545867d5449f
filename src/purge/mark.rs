//! A purge *mark*: what identifies one write of a name's value in Workers KV
//! (the value itself, with hard and soft purge times, is
//! [`crate::purge::record`]), its text, and what two marks being equal proves.
//!
//! A mark is `<purged_at_ms>.<nonce>`: the value's latest purge time (Unix
//! milliseconds, the purging worker's clock) and 16 lower-case hex digits drawn
//! at random by the writing worker, once per write. Values written before the
//! nonce existed are a bare `<purged_at_ms>` and stay readable
//! ([`PurgeMark::nonce`] is `None`). A hard purge's KV value is its mark's text.
//!
//! # Why a nonce: equality is the safe comparison
//!
//! A stored entry records the marks its worker read *before* the origin fetch
//! (`generations::Stamp`). Finding the very same mark later proves no purge of
//! that name has been written since the read: every purge writes a new nonce.
//! The time alone would not prove it — two purges may share a millisecond, and
//! a purge from a machine whose clock is behind writes a *smaller* time than
//! the one before, so neither equality nor ordering of times is safe. Only
//! marks with a nonce take part in the equality rule ([`PurgeMark::same_purge`]);
//! a bare legacy value falls back to the time comparison.
//!
//! HAZARD for any writer that combines purges (a coalescing writer, a merge of
//! several fields): after a purge is written, the name's value must carry that
//! purge's nonce (or another fresh one). A merge that keeps the old value when
//! the new purge's time is smaller would let an entry fetched before that purge
//! pass as current.

use crate::http::text::canonical_u64;
use crate::http::time::UnixMillis;

/// Hex digits of a nonce.
const NONCE_HEX: usize = 16;

/// One purge of one name, as written in KV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PurgeMark {
    pub at: UnixMillis,
    /// Random per purge; `None` for a legacy bare-time value.
    pub nonce: Option<u64>,
}

impl From<UnixMillis> for PurgeMark {
    /// A legacy mark: a time without a nonce.
    fn from(at: UnixMillis) -> PurgeMark {
        PurgeMark { at, nonce: None }
    }
}

impl PurgeMark {
    /// A purge at `at` with the purging worker's random `nonce`.
    pub fn new(at: UnixMillis, nonce: u64) -> PurgeMark {
        PurgeMark {
            at,
            nonce: Some(nonce),
        }
    }

    /// True only if both marks carry a nonce and are the same write: then no
    /// purge of the name was written between the two reads. Marks without a
    /// nonce never compare equal here (two legacy purges may share a time).
    pub fn same_purge(&self, other: &PurgeMark) -> bool {
        self.nonce.is_some() && self == other
    }
}

/// The text of `mark`: `<ms>.<nonce as 16 hex>`, or `<ms>` without a nonce.
pub fn encode_mark(mark: &PurgeMark) -> String {
    match mark.nonce {
        Some(n) => format!("{}.{n:016x}", mark.at.0),
        None => mark.at.0.to_string(),
    }
}

/// Strict inverse of [`encode_mark`]: canonical decimal time, then
/// optionally `.` and exactly 16 lower-case hex digits. Anything else is `None`
/// (the name is unreadable: entries it applies to are misses).
pub fn parse_mark(s: &str) -> Option<PurgeMark> {
    let (at, nonce) = match s.split_once('.') {
        None => (s, None),
        Some((at, hex)) => (at, Some(parse_nonce(hex)?)),
    };
    Some(PurgeMark {
        at: UnixMillis(canonical_u64(at)?),
        nonce,
    })
}

pub(super) fn parse_nonce(hex: &str) -> Option<u64> {
    let ok = hex.len() == NONCE_HEX && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    ok.then(|| u64::from_str_radix(hex, 16).ok()).flatten()
}

/// Most marks one stamp records: a request checks at most a dozen names before
/// its fetch in practice (`all`, its URL, path prefixes, route tags); the rest
/// fall back to the time rule, which is always safe.
pub const MAX_SEEN_MARKS: usize = 16;
/// Hex digits of a name's id in a stamp: the start of the SHA-256 of the name
/// (the same hash its KV key uses). 48 bits: a clash between two of an
/// entry's dozen names is not a practical concern, and would only matter if
/// the two also shared a nonce.
pub const NAME_ID_HEX: usize = 12;

/// Marks read before an origin fetch, by name id (see [`NAME_ID_HEX`]):
/// sorted by id, one per id, at most [`MAX_SEEN_MARKS`], each with a nonce.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeenMarks(Vec<(String, PurgeMark)>);

impl SeenMarks {
    /// Records `mark` under `id`; ignored when it has no nonce (it could not
    /// prove anything), the id is malformed, or the list is full.
    pub fn insert(&mut self, id: &str, mark: PurgeMark) {
        if mark.nonce.is_none() || !is_name_id(id) || self.0.len() >= MAX_SEEN_MARKS {
            return;
        }
        if let Err(i) = self.0.binary_search_by(|(k, _)| k.as_str().cmp(id)) {
            self.0.insert(i, (id.to_string(), mark));
        }
    }

    /// The mark recorded for the name with this id.
    pub fn get(&self, id: &str) -> Option<&PurgeMark> {
        let i = self.0.binary_search_by(|(k, _)| k.as_str().cmp(id)).ok()?;
        self.0.get(i).map(|(_, m)| m)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// `<id>=<value>` pairs joined by `,` (values as [`encode_mark`]).
    pub fn encode(&self) -> String {
        let pairs: Vec<String> = self
            .0
            .iter()
            .map(|(id, m)| format!("{id}={}", encode_mark(m)))
            .collect();
        pairs.join(",")
    }

    /// Strict inverse of [`SeenMarks::encode`]: ids sorted and distinct,
    /// every mark with a nonce, at most [`MAX_SEEN_MARKS`].
    pub fn parse(s: &str) -> Option<SeenMarks> {
        let mut out = SeenMarks::default();
        if s.is_empty() {
            return Some(out);
        }
        for pair in s.split(',') {
            let (id, value) = pair.split_once('=')?;
            let mark = parse_mark(value)?;
            let sorted = out.0.last().is_none_or(|(last, _)| last.as_str() < id);
            if mark.nonce.is_none() || !is_name_id(id) || !sorted || out.0.len() >= MAX_SEEN_MARKS {
                return None;
            }
            out.0.push((id.to_string(), mark));
        }
        Some(out)
    }
}

fn is_name_id(id: &str) -> bool {
    id.len() == NAME_ID_HEX && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}
