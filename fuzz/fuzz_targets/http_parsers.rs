//! The small HTTP parsers and the two header encodings the worker stores.
//!
//! The first input byte picks the parser (ASCII letters, so seeds are readable);
//! the rest is its input:
//! - `c` Cache-Control value: never panics; parsing is deterministic and a
//!   one-line list parses as the same list split over two field lines; the
//!   what clients are sent is the origin's value unchanged; a targeted
//!   (`CDN-Cache-Control`) value never panics, and a valid one re-parses the same;
//! - `r` `<total>\n<Range value>`: a 206 range lies inside the representation,
//!   and its canonical `bytes=start-end` form gives the same answer;
//! - `d` HTTP-date text: `parse(format(t)) == t` for every date parsed;
//! - `D` Unix seconds (8 bytes): `parse(format(x)) == x` for x up to 9999-12-31;
//! - `s` Stamp text / `m` StoredMeta text: when parsing succeeds, encoding gives the
//!   input back (canonical; a `v1` meta gives its `v2` form, which parses the same);
//! - `S` / `M` values: `parse(encode(x)) == x`;
//! - `p` purge record text (a name's KV value): when parsing succeeds, encoding gives
//!   the input back; `P` records: `parse(encode(x)) == x` once normalized, and the
//!   merge rule is commutative in the times, associative and idempotent, and
//!   carries the newer purge's nonce.
#![no_main]

use std::collections::BTreeMap;

use arbitrary::Unstructured;
use edgecache::config::{ParamFilter, PathPattern, QueryRules, Route, RouteKind, TtlMode};
use edgecache::flow::entry::{encode_meta, encode_stamp, parse_meta, parse_stamp};
use edgecache::http::cache_control::{split_directives, CacheControl};
use edgecache::http::date as httpdate;
use edgecache::http::targeted::parse_targeted;
use edgecache::http::time::{UnixMillis, UnixSecs};
use edgecache::purge::generations::{GenName, PurgeMark, Stamp, MAX_STAMP_TAGS};
use edgecache::purge::mark::{encode_mark, parse_mark, SeenMarks};
use edgecache::purge::record::PurgeRecord;
use edgecache::response::freshness::{downstream_cache_control, StoredMeta};
use edgecache::response::range::{parse_range, RangeOutcome};
use libfuzzer_sys::fuzz_target;

use httpdate::MAX_SECS as MAX_DATE;

fn route() -> Route {
    Route {
        name: "r".into(),
        path: PathPattern {
            source: "/*".into(),
            segments: vec![],
            trailing_slash: false,
            wildcard: true,
        },
        kind: RouteKind::Api,
        ttl: 60,
        ttl_mode: TtlMode::Respect,
        status_ttl: BTreeMap::new(),
        tags: vec![],
        query: QueryRules {
            filter: ParamFilter::All,
            defaults: BTreeMap::new(),
            clamp: BTreeMap::new(),
            lowercase: vec![],
        },
        vary: vec![],
        per_user: false,
        credentials: vec![],
        stale_while_revalidate: 0,
        stale_if_error: 0,
        keep: 86_400,
        timeout: 10,
        browser_cache_control: None,
        honor_request_cache_control: false,
    }
}

fn cache_control(s: &str) {
    let cc = CacheControl::parse(s);
    assert_eq!(cc, CacheControl::parse(s));
    for d in split_directives(s) {
        assert!(s.contains(d.raw));
        assert!(!d.name.is_empty());
    }
    // A list split over two field lines at a top-level comma means the same.
    if !s.contains('"') {
        if let Some((a, b)) = s.split_once(',') {
            assert_eq!(CacheControl::parse_lines([a, b]), cc, "{a:?} + {b:?}");
        }
    }
    let r = route();
    let once = downstream_cache_control(&r, Some(s));
    assert_eq!(once.as_deref(), Some(s), "downstream of {s:?}");
    assert_eq!(CacheControl::parse(s), cc);
    if let Some(t) = parse_targeted(s) {
        assert_eq!(parse_targeted(s), Some(t), "targeted {s:?}");
    }
}

fn range(s: &str) {
    let (total, value) = s.split_once('\n').unwrap_or(("1000", s));
    let Ok(total) = total.trim().parse::<u64>() else {
        return;
    };
    let outcome = parse_range(value, total);
    match outcome {
        RangeOutcome::Full => assert_eq!(outcome.content_range(), None),
        RangeOutcome::Unsatisfiable { total: t } => assert_eq!(t, total),
        RangeOutcome::Partial {
            start,
            end,
            total: t,
        } => {
            assert_eq!(t, total);
            assert!(start <= end && end < total, "{outcome:?}");
            let canonical = format!("bytes={start}-{end}");
            assert_eq!(parse_range(&canonical, total), outcome, "{canonical}");
            assert_eq!(
                outcome.content_range(),
                Some(format!("bytes {start}-{end}/{total}"))
            );
        }
    }
}

fn date_text(s: &str) {
    if let Some(t) = httpdate::parse(s) {
        let f = httpdate::format(t);
        assert_eq!(httpdate::parse(&f), Some(t), "{s:?} -> {t} -> {f:?}");
        assert!(t <= UnixSecs(MAX_DATE));
        assert_eq!(f.len(), 29, "{f:?}");
    }
}

fn date_value(u: &mut Unstructured) {
    let Ok(x) = u.int_in_range(0..=MAX_DATE).map(UnixSecs) else {
        return;
    };
    let f = httpdate::format(x);
    assert_eq!(f.len(), 29, "{f:?}");
    assert_eq!(httpdate::parse(&f), Some(x), "{x} -> {f:?}");
}

fn stamp_text(s: &str) {
    if let Some(st) = parse_stamp(s) {
        assert_eq!(encode_stamp(&st), s);
        assert!(st.tags().len() <= MAX_STAMP_TAGS);
    }
    // The same text as a purge mark (KV value).
    if let Some(m) = parse_mark(s) {
        assert_eq!(encode_mark(&m), s);
    }
}

fn stamp_value(u: &mut Unstructured) -> arbitrary::Result<()> {
    let at = UnixMillis(u.arbitrary()?);
    let tags: Vec<String> = u.arbitrary()?;
    let marks: Vec<(u64, Option<u64>)> = u.arbitrary()?;
    if let Ok(st) = Stamp::new(at, &tags) {
        let mut seen = SeenMarks::default();
        for (i, (at, nonce)) in marks.into_iter().enumerate() {
            let mark = PurgeMark {
                at: UnixMillis(at),
                nonce,
            };
            seen.insert(&GenName::tag(&i.to_string()).mark_id(), mark);
        }
        let st = st.with_seen(seen);
        let enc = encode_stamp(&st);
        assert_eq!(parse_stamp(&enc).as_ref(), Some(&st), "{enc:?}");
        // Lower-cased, sorted, distinct.
        let t = st.tags();
        assert!(t.windows(2).all(|w| w[0] < w[1]));
        assert!(t.iter().all(|x| *x == x.to_ascii_lowercase()));
    }
    Ok(())
}

fn meta_text(s: &str) {
    if let Some(m) = parse_meta(s) {
        let encoded = encode_meta(&m);
        if s.starts_with("v1;") {
            assert_eq!(parse_meta(&encoded), Some(m));
        } else {
            assert_eq!(encoded, s);
        }
    }
}

fn meta_value(u: &mut Unstructured) -> arbitrary::Result<()> {
    let m = StoredMeta {
        stored_at: UnixSecs(u.arbitrary()?),
        initial_age: u.arbitrary()?,
        ttl: u.arbitrary()?,
        stale_while_revalidate: u.arbitrary()?,
        stale_if_error: u.arbitrary()?,
    };
    assert_eq!(parse_meta(&encode_meta(&m)), Some(m));
    Ok(())
}

fn record_text(s: &str) {
    if let Some(r) = PurgeRecord::parse(s) {
        assert_eq!(r.encode().as_deref(), Some(s));
    }
}

fn any_record(u: &mut Unstructured) -> arbitrary::Result<PurgeRecord> {
    let hard: Option<u64> = u.arbitrary()?;
    let soft: Option<u64> = u.arbitrary()?;
    let nonce: Option<u64> = u.arbitrary()?;
    Ok(PurgeRecord {
        hard: hard.map(UnixMillis),
        soft: soft.map(UnixMillis),
        nonce,
    })
}

/// The times only: the merge's nonce is the newer purge's, by design.
fn times(r: PurgeRecord) -> (Option<UnixMillis>, Option<UnixMillis>) {
    (r.hard, r.soft)
}

fn record_value(u: &mut Unstructured) -> arbitrary::Result<()> {
    let (a, b, c) = (any_record(u)?, any_record(u)?, any_record(u)?);
    if let Some(enc) = a.encode() {
        // Normalized: a soft purge at or before the hard one is dropped.
        assert_eq!(PurgeRecord::parse(&enc), Some(a.merge(a)), "{enc:?}");
    }
    assert_eq!(times(a.merge(b)), times(b.merge(a)));
    assert_eq!(a.merge(b).merge(c), a.merge(b.merge(c)));
    assert_eq!(a.merge(b).merge(b), a.merge(b));
    // Whatever the times, the merge carries the newer purge's nonce.
    assert_eq!(a.merge(b).nonce, b.nonce);
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    // Any other first byte maps onto one of the parsers.
    let which = match which {
        b'c' | b'r' | b'd' | b'D' | b's' | b'S' | b'm' | b'M' | b'p' | b'P' => which,
        other => b"crdDsSmMpP"[usize::from(other) % 10],
    };
    let text = std::str::from_utf8(rest).ok();
    let mut u = Unstructured::new(rest);
    match which {
        b'c' => text.map_or((), cache_control),
        b'r' => text.map_or((), range),
        b'd' => text.map_or((), date_text),
        b'D' => date_value(&mut u),
        b's' => text.map_or((), stamp_text),
        b'S' => {
            let _ = stamp_value(&mut u);
        }
        b'm' => text.map_or((), meta_text),
        b'M' => {
            let _ = meta_value(&mut u);
        }
        b'p' => text.map_or((), record_text),
        b'P' => {
            let _ = record_value(&mut u);
        }
        _ => {}
    }
});
