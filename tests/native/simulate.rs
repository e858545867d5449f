//! `simulate`: log parsing, the three key functions and the LRU+TTL model,
//! with exact counts on tiny fixture logs.

use edgecache::config::{load_wrangler_toml, Config};
use edgecache::simulate::log::parse_clf_time;
use edgecache::simulate::lru::{Lookup, LruTtl};
use edgecache::simulate::{
    parse_log, read_log, simulate, sorted_query_url, KeyFunction, LogError, LogFormat, LogOptions,
    SimOptions, Stats,
};

const COMBINED: &str = include_str!("../fixtures/simulate/tiny_combined.log");
const URLS: &str = include_str!("../fixtures/simulate/tiny_urls.txt");
/// Copied from the demo origin's own log (`make dev` writes it to
/// .wrangler/origin.log): run.sh's setup line, runserver's banner, requests.
const RUNSERVER: &str = include_str!("../fixtures/simulate/django_runserver.log");
const CONFIG: &str = include_str!("../fixtures/wrangler.toml");

fn config() -> Config {
    match load_wrangler_toml(CONFIG, None) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    }
}

fn run(text: &str, opts: &SimOptions) -> Vec<Stats> {
    let entries = match parse_log(text, &LogOptions::default()) {
        Ok(e) => e,
        Err(e) => panic!("{e}"),
    };
    simulate(&config(), &entries, &KeyFunction::ALL, opts)
}

/// (hits, misses, expired, uncacheable, distinct keys)
fn counts(s: &Stats) -> (u64, u64, u64, u64, u64) {
    (s.hits, s.misses, s.expired, s.uncacheable, s.distinct_keys)
}

#[test]
fn replays_the_tiny_log_with_exact_counts() {
    let stats = run(COMBINED, &SimOptions::default());
    let names: Vec<_> = stats.iter().map(|s| s.function.name()).collect();
    assert_eq!(names, ["raw-url", "sorted-query", "edgecache"]);
    assert!(stats.iter().all(|s| s.requests == 10));
    assert_eq!(counts(&stats[0]), (2, 5, 1, 2, 5), "raw-url");
    assert_eq!(counts(&stats[1]), (3, 4, 1, 2, 4), "sorted-query");
    // /other/ has no route: uncacheable for edgecache only.
    assert_eq!(counts(&stats[2]), (3, 2, 1, 4, 2), "edgecache");
    assert_eq!(stats[2].origin_requests(), 7);
}

#[test]
fn counts_authenticated_and_unsafe_requests_uncacheable_for_every_function() {
    let log = "1.2.3.4 - bob [02/Mar/2026:09:00:00 +0000] \"GET /api/courses/ HTTP/1.1\" 200 1\n\
               1.2.3.4 - bob [02/Mar/2026:09:00:01 +0000] \"GET /api/courses/ HTTP/1.1\" 200 1\n\
               1.2.3.4 - - [02/Mar/2026:09:00:02 +0000] \"DELETE /api/courses/1/ HTTP/1.1\" 204 0\n";
    for s in run(log, &SimOptions::default()) {
        assert_eq!(
            (s.uncacheable, s.hits, s.distinct_keys),
            (3, 0, 0),
            "{:?}",
            s.function
        );
    }
}

#[test]
fn url_lists_use_a_synthetic_clock_and_edgecache_applies_defaults_and_clamps() {
    let stats = run(URLS, &SimOptions::default());
    // All four are one edgecache key (page=1 default, perpage clamped to 10).
    assert_eq!(counts(&stats[2]), (3, 1, 0, 0, 1));
    // Sorting alone cannot see that page=1 and perpage=50 change nothing.
    assert_eq!(counts(&stats[1]), (1, 3, 0, 0, 3));
    // Raw: line 2 (absolute) and line 4 (path on the default host) are one URL.
    assert_eq!(counts(&stats[0]), (1, 3, 0, 0, 3));
}

#[test]
fn synthetic_clock_steps_expire_entries() {
    let entries = parse_log(
        "/x/\n/x/\n/x/\n",
        &LogOptions {
            synthetic_step: 200,
            ..LogOptions::default()
        },
    )
    .unwrap_or_default();
    let times: Vec<u64> = entries.iter().map(|e| e.time).collect();
    assert_eq!(times, [0, 200, 400]);
    let opts = SimOptions {
        default_ttl: 300,
        ..SimOptions::default()
    };
    let s = &simulate(&config(), &entries, &[KeyFunction::RawUrl], &opts)[0];
    // Stored at 0 (fresh until 300): hit at 200, expired at 400.
    assert_eq!((s.misses, s.hits, s.expired), (1, 1, 1));
}

#[test]
fn evicts_the_least_recently_used_entry_at_capacity() {
    let mut c = LruTtl::new(2);
    assert_eq!(c.access("a", 0, 100), Lookup::Miss);
    assert_eq!(c.access("b", 0, 100), Lookup::Miss);
    assert_eq!(c.access("a", 1, 100), Lookup::Hit); // b is now the oldest
    assert_eq!(c.access("c", 2, 100), Lookup::Miss); // evicts b
    assert_eq!(c.access("a", 3, 100), Lookup::Hit);
    assert_eq!(c.access("b", 4, 100), Lookup::Miss);
    assert_eq!((c.len(), c.evictions()), (2, 2));
}

#[test]
fn expired_entries_are_refetched_and_fresh_again() {
    let mut c = LruTtl::new(10);
    assert_eq!(c.access("a", 0, 10), Lookup::Miss);
    assert_eq!(c.access("a", 9, 10), Lookup::Hit);
    assert_eq!(c.access("a", 10, 10), Lookup::Expired);
    assert_eq!(c.access("a", 19, 10), Lookup::Hit);
}

#[test]
fn sorts_query_pieces_without_decoding_or_dropping() {
    assert_eq!(
        sorted_query_url("https://h/p?b=2&a=1&utm_source=x&a=0"),
        "https://h/p?a=0&a=1&b=2&utm_source=x"
    );
    assert_eq!(sorted_query_url("https://h/p"), "https://h/p");
}

#[test]
fn reads_clf_timestamps_with_their_offset() {
    assert_eq!(
        parse_clf_time("10/Oct/2000:13:55:36 -0700"),
        Some(971_211_336)
    );
    assert_eq!(
        parse_clf_time("02/Mar/2026:10:16:10 +0100"),
        Some(1_772_442_970)
    );
    assert_eq!(parse_clf_time("31/Feb/2026:00:00:00 +0000"), None);
    assert_eq!(parse_clf_time("02/Mar/2026:24:00:00 +0000"), None);
}

#[test]
fn names_the_line_of_a_malformed_combined_entry() {
    let log = "/ok/\n1.2.3.4 - - [02/Mar/2026:09:00:00 +0000] \"GET\n";
    assert_eq!(
        parse_log(log, &LogOptions::default()),
        Err(LogError::BadLine {
            line: 2,
            reason: "unterminated request"
        })
    );
    let log = "1.2.3.4 - - [yesterday] \"GET / HTTP/1.1\" 200 1\n";
    assert!(matches!(
        parse_log(log, &LogOptions::default()),
        Err(LogError::BadTimestamp { line: 1, .. })
    ));
}

#[test]
fn clock_never_runs_backwards() {
    let log = "1.2.3.4 - - [02/Mar/2026:09:00:10 +0000] \"GET /a HTTP/1.1\" 200 1\n\
               1.2.3.4 - - [02/Mar/2026:09:00:05 +0000] \"GET /b HTTP/1.1\" 200 1\n";
    let e = parse_log(log, &LogOptions::default()).unwrap_or_default();
    assert_eq!(e[0].time, e[1].time);
}

#[test]
fn reads_a_django_runserver_log_and_skips_the_servers_own_lines() {
    let log = read_log(RUNSERVER, &LogOptions::default()).unwrap();
    assert_eq!(log.format, LogFormat::DjangoRunserver);
    assert_eq!((log.entries.len(), log.skipped), (15, 9));
    let first = &log.entries[0];
    assert_eq!(first.line, 12);
    assert_eq!(first.url, "https://api.example.com/api/courses/");
    assert_eq!(
        first.time,
        parse_clf_time("30/Nov/2026:14:56:00 +0000").unwrap()
    );
    assert!(log.entries.iter().all(|e| !e.authenticated));
    let methods: Vec<_> = log.entries.iter().map(|e| e.method.as_str()).collect();
    assert_eq!(methods.iter().filter(|m| **m == "HEAD").count(), 1);
    assert_eq!(methods.iter().filter(|m| **m == "POST").count(), 1);
}

#[test]
fn replays_the_runserver_log_with_exact_counts() {
    let stats = run(RUNSERVER, &SimOptions::default());
    assert!(stats.iter().all(|s| s.requests == 15));
    // The POST is uncacheable; ?utm_source and the query order only split raw keys.
    assert_eq!(
        (stats[0].hits, stats[0].distinct_keys, stats[0].uncacheable),
        (4, 10, 1)
    );
    assert_eq!(
        (stats[2].hits, stats[2].distinct_keys, stats[2].uncacheable),
        (6, 8, 1)
    );
}

#[test]
fn a_malformed_line_names_the_formats_simulate_reads() {
    let err = parse_log("[30/Nov/2026 14:02:03] \"GET\n", &LogOptions::default()).unwrap_err();
    assert_eq!(
        err,
        LogError::BadLine {
            line: 1,
            reason: "unterminated request"
        }
    );
    let text = err.to_string();
    assert!(text.contains("Django runserver log"), "{text}");
    assert!(text.contains("combined or common"), "{text}");
    let bad_time = parse_log(
        "[30/Nov/2026 25:02:03] \"GET / HTTP/1.1\" 200 1\n",
        &LogOptions::default(),
    );
    assert!(matches!(
        bad_time,
        Err(LogError::BadTimestamp { line: 1, .. })
    ));
}

#[test]
fn combined_logs_still_read_url_lines_among_them() {
    let log = "/ok/\n1.2.3.4 - - [02/Mar/2026:09:00:00 +0000] \"GET /a HTTP/1.1\" 200 1\n";
    let parsed = read_log(log, &LogOptions::default()).unwrap();
    assert_eq!(
        (parsed.format, parsed.entries.len(), parsed.skipped),
        (LogFormat::Combined, 2, 0)
    );
}
