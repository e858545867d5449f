use edgecache::config::DEFAULT_CLOCK_SKEW;
use edgecache::flow::entry::{encode_stamp, parse_stamp};
use edgecache::http::time::{UnixMillis, UnixSecs};
use edgecache::purge::generations::{
    after_purge, is_current, parse_value, prefix_paths, purge_names, request_names, Currency, Gen,
    GenName, Generations, PurgeKind, Stamp, StampError, MAX_PATH_DEPTH, MAX_STAMP_TAGS,
};
use edgecache::purge::memo::{plan_reads, Memo, MEMO_MAX_BYTES};
const DEFAULT_SKEW_MS: u64 = DEFAULT_CLOCK_SKEW * 1000;
use edgecache::purge::body::parse_purge_body;
use proptest::prelude::*;

const HOST: &str = "api.example.com";
const BASE: &str = "https://api.example.com/api/courses/12/";

fn names_for(path: &str, tags: &[String]) -> Vec<GenName> {
    request_names(HOST, path, BASE, tags)
}

/// Applies a purge body the way the glue does and reports whether an entry for `path`
/// (fetched at `fetched_at`) survives a purge at `purged_at`.
fn survives(body: &str, path: &str, tags: &[&str], fetched_at: u64, purged_at: u64) -> Currency {
    let req = parse_purge_body(body.as_bytes()).unwrap();
    let key_urls: Vec<String> = req.urls.clone();
    let mut gens = Generations::new();
    let tags: Vec<String> = tags.iter().map(|t| t.to_string()).collect();
    let stamp = Stamp::new(UnixMillis(fetched_at), &tags).unwrap();
    let names = request_names(HOST, path, &format!("https://{HOST}{path}"), stamp.tags());
    for n in &names {
        gens.insert(n.clone(), Gen::Never);
    }
    for n in purge_names(&req, &key_urls, HOST) {
        if names.contains(&n) {
            gens.insert(n, Gen::hard(UnixMillis(purged_at)));
        }
    }
    is_current(&stamp, &names, &gens, 0)
}

#[test]
fn prefix_paths_stop_at_segment_boundaries() {
    assert_eq!(
        prefix_paths("/api/courses/12/"),
        ["/", "/api", "/api/courses", "/api/courses/12"]
    );
    assert_eq!(prefix_paths("/"), ["/"]);
    assert_eq!(prefix_paths(""), ["/"]);
    assert_eq!(prefix_paths("/a//b"), ["/", "/a", "/a//b"]);
}

#[test]
fn prefix_paths_are_bounded_by_depth() {
    let deep = "/s".repeat(100);
    let p = prefix_paths(&deep);
    assert_eq!(p.len(), MAX_PATH_DEPTH + 1);
    assert_eq!(p.last().unwrap(), &"/s".repeat(MAX_PATH_DEPTH));
}

#[test]
fn request_names_cover_all_url_prefixes_and_tags() {
    let names = names_for(
        "/api/courses/12/",
        &["Course:12".into(), "course_list".into()],
    );
    let s: Vec<&str> = names.iter().map(GenName::as_str).collect();
    assert_eq!(
        s,
        [
            "all",
            "url:https://api.example.com/api/courses/12/",
            "prefix:api.example.com/",
            "prefix:api.example.com/api",
            "prefix:api.example.com/api/courses",
            "prefix:api.example.com/api/courses/12",
            "tag:course:12",
            "tag:course_list",
        ]
    );
}

#[test]
fn prefix_purge_covers_entries_below_it() {
    let p = r#"{"prefixes": ["/api/courses"]}"#;
    for path in [
        "/api/courses",
        "/api/courses/",
        "/api/courses/12/",
        "/api/courses/12/lessons",
    ] {
        assert!(
            matches!(survives(p, path, &[], 100, 200), Currency::Moved { .. }),
            "{path}"
        );
    }
}

#[test]
fn prefix_purge_with_trailing_slash_also_covers_the_collection() {
    let p = r#"{"prefixes": ["/api/courses/"]}"#;
    assert!(matches!(
        survives(p, "/api/courses", &[], 100, 200),
        Currency::Moved { .. }
    ));
}

#[test]
fn prefix_purge_does_not_cover_sibling_with_same_string_prefix() {
    let p = r#"{"prefixes": ["/api/courses"]}"#;
    assert_eq!(
        survives(p, "/api/courses-archive/", &[], 100, 200),
        Currency::Current
    );
    assert_eq!(survives(p, "/api/course", &[], 100, 200), Currency::Current);
}

#[test]
fn prefix_purge_on_another_host_does_not_apply() {
    let p = r#"{"prefixes": ["https://media.example.com/api"]}"#;
    assert_eq!(survives(p, "/api/x", &[], 100, 200), Currency::Current);
    let p = r#"{"prefixes": ["https://API.example.com/api"]}"#;
    assert!(matches!(
        survives(p, "/api/x", &[], 100, 200),
        Currency::Moved { .. }
    ));
}

#[test]
fn root_prefix_covers_the_whole_host() {
    let p = r#"{"prefixes": ["/"]}"#;
    assert!(matches!(
        survives(p, "/anything/at/all", &[], 100, 200),
        Currency::Moved { .. }
    ));
}

#[test]
fn deepest_allowed_prefix_is_reachable() {
    let deep = "/s".repeat(MAX_PATH_DEPTH);
    let body = format!(r#"{{"prefixes": ["{deep}"]}}"#);
    let path = format!("{deep}/more/segments");
    assert!(matches!(
        survives(&body, &path, &[], 100, 200),
        Currency::Moved { .. }
    ));
}

#[test]
fn tag_purge_is_case_insensitive_and_reaches_origin_tags() {
    let t = r#"{"tags": ["COURSE:12"]}"#;
    assert_eq!(
        survives(t, "/api/courses/12/", &["course:12"], 100, 200),
        Currency::Moved {
            name: "tag:course:12".into()
        }
    );
    assert_eq!(
        survives(t, "/api/courses/12/", &["course:13"], 100, 200),
        Currency::Current
    );
}

#[test]
fn everything_moves_every_entry() {
    assert_eq!(
        survives(r#"{"everything": true}"#, "/x", &[], 100, 200),
        Currency::Moved { name: "all".into() }
    );
    let req = parse_purge_body(br#"{"everything": true, "tags": ["a"]}"#).unwrap();
    assert_eq!(purge_names(&req, &[], HOST), [GenName::all()]);
}

#[test]
fn url_purge_uses_the_callers_key_urls() {
    let req =
        parse_purge_body(br#"{"urls": ["https://API.example.com/api/courses/12/?utm_source=x"]}"#)
            .unwrap();
    let names = purge_names(&req, &[BASE.to_string()], HOST);
    assert_eq!(names, [GenName::url(BASE)]);
}

#[test]
fn purge_before_fetch_start_keeps_entry_current() {
    assert_eq!(
        survives(r#"{"tags": ["a"]}"#, "/x", &["a"], 5_000, 4_999),
        Currency::Current
    );
}

#[test]
fn purge_at_fetch_start_moves_entry() {
    assert!(matches!(
        survives(r#"{"tags": ["a"]}"#, "/x", &["a"], 5_000, 5_000),
        Currency::Moved { .. }
    ));
}

#[test]
fn skew_allowance_treats_recent_purges_as_after_the_fetch() {
    let stamp = Stamp::new(UnixMillis(10_000), &[]).unwrap();
    let names = [GenName::all()];
    let mut g = Generations::new();
    g.insert(
        GenName::all(),
        Gen::hard(UnixMillis(10_000 - DEFAULT_SKEW_MS)),
    );
    assert!(matches!(
        is_current(&stamp, &names, &g, DEFAULT_SKEW_MS),
        Currency::Moved { .. }
    ));
    g.insert(
        GenName::all(),
        Gen::hard(UnixMillis(10_000 - DEFAULT_SKEW_MS - 1)),
    );
    assert_eq!(
        is_current(&stamp, &names, &g, DEFAULT_SKEW_MS),
        Currency::Current
    );
}

#[test]
fn a_soft_purge_after_the_fetch_makes_the_entry_stale_from_the_purge() {
    let stamp = Stamp::new(UnixMillis(10_000), &[]).unwrap();
    let names = [GenName::all(), GenName::url(BASE)];
    let mut g = Generations::new();
    g.insert(GenName::all(), Gen::soft(UnixMillis(12_000)));
    g.insert(GenName::url(BASE), Gen::soft(UnixMillis(11_000)));
    // The earliest soft purge that applies: the entry is stale from then on.
    assert_eq!(
        is_current(&stamp, &names, &g, 0),
        Currency::SoftPurged {
            at: UnixMillis(11_000)
        }
    );
    // A soft purge before the fetch changes nothing.
    g.insert(GenName::all(), Gen::soft(UnixMillis(9_000)));
    g.insert(GenName::url(BASE), Gen::Never);
    assert_eq!(is_current(&stamp, &names, &g, 0), Currency::Current);
    // ...unless within the skew allowance.
    assert_eq!(
        is_current(&stamp, &names, &g, DEFAULT_SKEW_MS),
        Currency::SoftPurged {
            at: UnixMillis(9_000)
        }
    );
}

#[test]
fn a_hard_purge_wins_over_a_soft_one() {
    let stamp = Stamp::new(UnixMillis(10_000), &[]).unwrap();
    let names = [GenName::all(), GenName::url(BASE)];
    let mut g = Generations::new();
    g.insert(GenName::all(), Gen::soft(UnixMillis(12_000)));
    g.insert(GenName::url(BASE), Gen::hard(UnixMillis(11_000)));
    assert!(matches!(
        is_current(&stamp, &names, &g, 0),
        Currency::Moved { .. }
    ));
    // One value holding both: a hard purge before the fetch, a soft one after.
    g.insert(GenName::url(BASE), Gen::from_kv(Some("v2;h=9000;s=11000")));
    g.insert(GenName::all(), Gen::Never);
    assert_eq!(
        is_current(&stamp, &names, &g, 0),
        Currency::SoftPurged {
            at: UnixMillis(11_000)
        }
    );
}

#[test]
fn unread_or_unreadable_names_fail_safe() {
    let stamp = Stamp::new(UnixMillis(10), &[]).unwrap();
    let names = [GenName::all(), GenName::url(BASE)];
    let mut g = Generations::new();
    g.insert(GenName::all(), Gen::Never);
    assert_eq!(
        is_current(&stamp, &names, &g, 0),
        Currency::Unknown {
            name: format!("url:{BASE}")
        }
    );
    g.insert(GenName::url(BASE), Gen::from_kv(Some("garbage")));
    assert!(matches!(
        is_current(&stamp, &names, &g, 0),
        Currency::Unknown { .. }
    ));
}

#[test]
fn kv_values_parse_strictly() {
    assert_eq!(
        parse_value(&after_purge(
            None,
            PurgeKind::Hard,
            UnixMillis(1_700_000_000_123),
            1
        ))
        .and_then(|r| r.hard),
        Some(UnixMillis(1_700_000_000_123))
    );
    for bad in [
        "",
        " 1",
        "1 ",
        "+1",
        "01",
        "1e3",
        "-1",
        "18446744073709551616",
    ] {
        assert_eq!(parse_value(bad), None, "{bad:?}");
    }
    assert_eq!(Gen::from_kv(None), Gen::Never);
    assert_eq!(Gen::from_kv(Some("42")), Gen::hard(UnixMillis(42)));
    assert_eq!(Gen::from_kv(Some("x")), Gen::Unreadable);
}

#[test]
fn kv_keys_are_hashed_and_fit_kv_limits() {
    let long = GenName::url(&format!("https://a.example/{}", "x".repeat(9000)));
    assert_eq!(long.kv_key().len(), "gen:".len() + 64);
    assert_ne!(GenName::tag("a").kv_key(), GenName::tag("b").kv_key());
    assert_eq!(GenName::tag("A").kv_key(), GenName::tag("a").kv_key());
}

#[test]
fn stamp_round_trips_with_escaped_tags() {
    let tags = vec![
        "b".to_string(),
        "A,1".into(),
        "x;y%z".into(),
        "sp ace".into(),
        "a".into(),
    ];
    let s = Stamp::new(UnixMillis(1_700_000_000_123), &tags).unwrap();
    let enc = encode_stamp(&s);
    assert_eq!(enc, "1;1700000000123;a,a%2C1,b,sp%20ace,x%3By%25z");
    assert_eq!(parse_stamp(&enc), Some(s));
    assert_eq!(
        parse_stamp("1;0;"),
        Some(Stamp::new(UnixMillis(0), &[]).unwrap())
    );
}

#[test]
fn stamp_rejects_garbage_and_non_canonical_forms() {
    for bad in [
        "",
        "1",
        "1;",
        "1;;",
        "2;5;",
        "1;5",
        "1;5;;",
        "1;5;a;",
        "1;05;",
        "1;+5;",
        "1;5;b,a",
        "1;5;a,a",
        "1;5;A",
        "1;5;a,",
        "1;5;,a",
        "1;5;a%2c1",
        "1;5;a%2",
        "1;5;a%zz",
        "1;5;a%61",
        "1;5;a b",
        "1;5;%FF",
        " 1;5;",
        "1;99999999999999999999999;",
    ] {
        assert_eq!(parse_stamp(bad), None, "{bad:?}");
    }
}

#[test]
fn stamp_refuses_too_many_tags() {
    let tags: Vec<String> = (0..=MAX_STAMP_TAGS).map(|i| format!("t{i}")).collect();
    assert_eq!(
        Stamp::new(UnixMillis(1), &tags),
        Err(StampError::TooManyTags {
            got: MAX_STAMP_TAGS + 1
        })
    );
    assert!(Stamp::new(UnixMillis(1), &tags[..MAX_STAMP_TAGS]).is_ok());
    assert_eq!(
        Stamp::new(UnixMillis(1), &["".into()]),
        Err(StampError::EmptyTag)
    );
}

#[test]
fn memo_values_expire_after_ttl() {
    let mut m = Memo::new(10, MEMO_MAX_BYTES);
    m.put(GenName::all(), Gen::hard(UnixMillis(7)), UnixSecs(1000));
    assert_eq!(
        m.get(&GenName::all(), UnixSecs(1000)),
        Some(Gen::hard(UnixMillis(7)))
    );
    assert_eq!(
        m.get(&GenName::all(), UnixSecs(1009)),
        Some(Gen::hard(UnixMillis(7)))
    );
    assert_eq!(m.get(&GenName::all(), UnixSecs(1010)), None);
    assert_eq!(m.get(&GenName::all(), UnixSecs(999)), None);
}

#[test]
fn memo_evicts_oldest_when_full() {
    // Room for two one-letter tags.
    let mut m = Memo::new(60, 2 * Memo::entry_cost(&GenName::tag("a")));
    m.put(GenName::tag("a"), Gen::Never, UnixSecs(1));
    m.put(GenName::tag("b"), Gen::Never, UnixSecs(2));
    m.put(GenName::tag("a"), Gen::hard(UnixMillis(5)), UnixSecs(3)); // refresh: "b" is now oldest
    m.put(GenName::tag("c"), Gen::Never, UnixSecs(4));
    assert_eq!(m.len(), 2);
    assert_eq!(m.get(&GenName::tag("b"), UnixSecs(4)), None);
    assert_eq!(
        m.get(&GenName::tag("a"), UnixSecs(4)),
        Some(Gen::hard(UnixMillis(5)))
    );
    assert_eq!(m.get(&GenName::tag("c"), UnixSecs(4)), Some(Gen::Never));
}

#[test]
fn memo_never_stores_unreadable_or_when_disabled() {
    let mut m = Memo::new(60, MEMO_MAX_BYTES);
    m.put(GenName::all(), Gen::Unreadable, UnixSecs(1));
    assert!(m.is_empty());
    let mut off = Memo::new(0, MEMO_MAX_BYTES);
    off.put(GenName::all(), Gen::Never, UnixSecs(1));
    assert_eq!(off.get(&GenName::all(), UnixSecs(1)), None);
}

#[test]
fn plan_reads_asks_kv_only_for_names_not_memoized() {
    let mut m = Memo::new(60, MEMO_MAX_BYTES);
    m.put(GenName::all(), Gen::Never, UnixSecs(100));
    let names = [GenName::all(), GenName::tag("a")];
    let (known, to_read) = plan_reads(&names, &m, UnixSecs(110));
    assert_eq!(known.get(&GenName::all()), Some(Gen::Never));
    assert_eq!(to_read, [GenName::tag("a")]);
    let (_, to_read) = plan_reads(&names, &m, UnixSecs(200));
    assert_eq!(to_read.len(), 2);
}

proptest! {
    #[test]
    fn stamp_encode_parse_round_trips(at in any::<u64>(), tags in proptest::collection::vec(".{1,12}", 0..8)) {
        let s = Stamp::new(UnixMillis(at), &tags).unwrap();
        let enc = encode_stamp(&s);
        prop_assert_eq!(parse_stamp(&enc), Some(s));
        prop_assert!(enc.bytes().all(|b| (0x21..=0x7e).contains(&b)));
    }

    #[test]
    fn stamp_parse_accepts_only_canonical(s in ".{0,40}") {
        if let Some(st) = parse_stamp(&s) {
            prop_assert_eq!(encode_stamp(&st), s);
        }
    }

    #[test]
    fn every_accepted_prefix_is_checked_by_requests_below_it(
        segs in proptest::collection::vec("[a-z0-9_-]{1,6}", 0..40),
        extra in proptest::collection::vec("[a-z0-9_-]{1,6}", 0..4),
    ) {
        let prefix = format!("/{}", segs.join("/"));
        let body = serde_json::json!({"prefixes": [prefix]}).to_string();
        if let Ok(req) = parse_purge_body(body.as_bytes()) {
            let path = format!("{}/{}", prefix.trim_end_matches('/'), extra.join("/"));
            let names = request_names(HOST, &path, "https://x/", &[]);
            for n in purge_names(&req, &[], HOST) {
                prop_assert!(names.contains(&n), "{} not checked for {}", n.as_str(), path);
            }
        } else {
            prop_assert!(segs.len() > MAX_PATH_DEPTH);
        }
    }
}

#[test]
fn kv_writes_never_ask_for_less_than_the_kv_minimum() {
    use edgecache::purge::generations::{kv_expiration_ttl, KV_MIN_EXPIRATION_TTL};
    assert_eq!(KV_MIN_EXPIRATION_TTL, 60);
    assert_eq!(kv_expiration_ttl(0), 60);
    assert_eq!(kv_expiration_ttl(59), 60);
    assert_eq!(kv_expiration_ttl(61), 61);
    assert_eq!(kv_expiration_ttl(86_400), 86_400);
}

#[test]
fn memo_is_bounded_in_bytes_whatever_the_names() {
    let max = 64 * 1024;
    let mut m = Memo::new(60, max);
    for i in 0..100 {
        // 8 KiB URL names: a bound by count would hold 800 KiB of them.
        let name = GenName::url(&format!("https://h/{i}/{}", "x".repeat(8 * 1024)));
        m.put(name, Gen::Never, UnixSecs(i));
        assert!(m.used_bytes() <= max, "{} > {max}", m.used_bytes());
    }
    assert!(m.len() < 8, "{}", m.len());
    // Short names: many more fit in the same bytes, oldest evicted first.
    let mut short = Memo::new(60, max);
    for i in 0..10_000u64 {
        short.put(GenName::tag(&format!("t{i}")), Gen::Never, UnixSecs(i));
    }
    assert!(short.used_bytes() <= max);
    assert!(short.len() > 500, "{}", short.len());
    assert_eq!(short.get(&GenName::tag("t0"), UnixSecs(10_000)), None);
    assert_eq!(
        short.get(&GenName::tag("t9999"), UnixSecs(10_000)),
        Some(Gen::Never)
    );
}

#[test]
fn memo_accounting_returns_to_zero_as_entries_are_replaced() {
    let mut m = Memo::new(60, MEMO_MAX_BYTES);
    let n = GenName::tag("a");
    m.put(n.clone(), Gen::Never, UnixSecs(1));
    m.put(n.clone(), Gen::hard(UnixMillis(9)), UnixSecs(2));
    assert_eq!(m.used_bytes(), Memo::entry_cost(&n));
    assert_eq!(m.len(), 1);
}

#[test]
fn a_name_larger_than_the_whole_memo_is_not_memoized() {
    let n = GenName::url(&"x".repeat(1000));
    let mut m = Memo::new(60, Memo::entry_cost(&n) - 1);
    m.put(n.clone(), Gen::Never, UnixSecs(1));
    assert!(m.is_empty());
    assert_eq!(m.used_bytes(), 0);
}
