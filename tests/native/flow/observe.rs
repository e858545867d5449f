//! The request log line (schema v1), its outcome and tier read from our own
//! `Cache-Status`, sampling, `Server-Timing`, the Analytics Engine data point
//! and the purge line.

use edgecache::flow::observe::{
    classify, key_hash, sampled, server_timing, OriginSeen, Outcome, PurgeLine, RequestFacts,
    RequestLine, Tier,
};
use edgecache::http::cache_status::{CacheStatus, Detail, Fwd};
use edgecache::http::time::{UnixMillis, UnixSecs};
use edgecache::purge::body::parse_purge_body;
use edgecache::purge::receipt::Receipt;
use edgecache::request::key::BypassReason;
use edgecache::response::store::NotStoredReason;
use serde_json::{json, Value};

fn class(cs: CacheStatus, asked: bool) -> (Outcome, Tier) {
    let s = cs.to_string();
    let (o, t, _) = classify(Some(&s), asked);
    (o, t)
}

#[test]
fn every_cache_status_the_worker_sends_has_one_outcome_and_tier() {
    use Outcome::*;
    use Tier::*;
    let cases = [
        (CacheStatus::hit().ttl(60), false, Hit, Cache),
        (
            CacheStatus::hit().ttl(60).detail(Detail::Memory),
            false,
            Hit,
            Memory,
        ),
        (
            CacheStatus::hit()
                .ttl(-3)
                .detail(Detail::StaleWhileRevalidate),
            false,
            Stale,
            Cache,
        ),
        // A soft-purged entry served while it revalidates is stale, not a hit.
        (
            CacheStatus::hit().ttl(-5).detail(Detail::SoftPurged),
            false,
            Stale,
            Cache,
        ),
        // A collapsed follower is answered from what its leader stored.
        (
            CacheStatus::hit().ttl(60).detail(Detail::Collapsed),
            false,
            Hit,
            Cache,
        ),
        // A 304 revalidation asked the origin: a miss that cost no body.
        (
            CacheStatus::forward(Fwd::Stale)
                .fwd_status(304)
                .stored()
                .ttl(60),
            true,
            Miss,
            Origin,
        ),
        (
            CacheStatus::forward(Fwd::Stale)
                .ttl(-9)
                .detail(Detail::OriginError),
            true,
            Stale,
            Cache,
        ),
        (
            CacheStatus::forward(Fwd::Miss)
                .fwd_status(200)
                .stored()
                .ttl(900),
            true,
            Miss,
            Origin,
        ),
        (
            CacheStatus::forward(Fwd::Miss)
                .fwd_status(200)
                .detail(Detail::Purged),
            true,
            Miss,
            Origin,
        ),
        (
            CacheStatus::forward(Fwd::Miss)
                .fwd_status(200)
                .detail((&NotStoredReason::NoStore).into()),
            true,
            Miss,
            Origin,
        ),
        (
            CacheStatus::forward(Fwd::Miss).detail(Detail::OriginTimeout),
            true,
            Miss,
            Edge,
        ),
        (
            CacheStatus::forward(Fwd::Miss).detail(Detail::OriginUnreachable),
            true,
            Miss,
            Edge,
        ),
        (
            CacheStatus::forward(Fwd::Bypass).detail(BypassReason::Credentials.into()),
            true,
            Bypass,
            Origin,
        ),
        (
            CacheStatus::forward(Fwd::Bypass).detail(Detail::Limits),
            false,
            Bypass,
            Edge,
        ),
        (
            CacheStatus::forward(Fwd::UriMiss).detail(Detail::NoRoute),
            true,
            Pass,
            Origin,
        ),
        (
            CacheStatus::forward(Fwd::Method).fwd_status(204),
            true,
            Pass,
            Origin,
        ),
    ];
    for (cs, asked, outcome, tier) in cases {
        let shown = cs.to_string();
        assert_eq!(class(cs, asked), (outcome, tier), "{shown}");
    }
    // No Cache-Status at all: forwarded as sent.
    assert_eq!(classify(None, true).0, Outcome::Pass);
}

fn facts<'a>(cs: &'a str, origin: Option<OriginSeen>) -> RequestFacts<'a> {
    RequestFacts {
        time: UnixMillis(1_764_500_000_123),
        route: Some("course-list"),
        method: "GET",
        status: 200,
        cache_status: Some(cs),
        key: Some("https://api.example.com/api/courses/?page=2#u=0123456789abcdef"),
        origin,
        total_ms: 30,
        bytes: Some(512),
    }
}

#[test]
fn the_request_line_has_the_documented_schema() {
    let cs = CacheStatus::forward(Fwd::Miss)
        .fwd_status(200)
        .stored()
        .ttl(900)
        .detail(Detail::Expired)
        .to_string();
    let line = RequestLine::new(&facts(
        &cs,
        Some(OriginSeen {
            status: Some(200),
            ms: 25,
        }),
    ));
    let v: Value = serde_json::from_str(&line.to_json()).unwrap();
    assert_eq!(
        v,
        json!({
            "edgecache": "request", "v": 1, "time": 1_764_500_000_123u64,
            "route": "course-list", "method": "GET", "status": 200,
            "outcome": "miss", "tier": "origin",
            "key": key_hash("https://api.example.com/api/courses/?page=2#u=0123456789abcdef"),
            "origin_status": 200, "origin_ms": 25, "edge_ms": 5, "bytes": 512,
            "detail": "expired"
        })
    );
    // The documented field order (docs/observability.md).
    let names: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    let text = line.to_json();
    let mut at = 0;
    for n in [
        "edgecache",
        "v",
        "time",
        "route",
        "method",
        "status",
        "outcome",
        "tier",
        "key",
        "origin_status",
        "origin_ms",
        "edge_ms",
        "bytes",
        "detail",
    ] {
        assert!(names.contains(&n), "{n}");
        let i = text.find(&format!("\"{n}\":")).unwrap();
        assert!(i >= at, "{n} out of order in {text}");
        at = i;
    }
    assert_eq!(names.len(), 14);
    // It reads back as it was written (the report's reader).
    assert_eq!(serde_json::from_str::<RequestLine>(&text).unwrap(), line);
}

#[test]
fn the_line_never_holds_the_raw_key() {
    let cs = CacheStatus::hit().ttl(5).to_string();
    let text = RequestLine::new(&facts(&cs, None)).to_json();
    assert!(!text.contains("0123456789abcdef"), "{text}");
    assert!(!text.contains("page=2"), "{text}");
    let h = key_hash("https://api.example.com/a");
    assert_eq!(h.len(), 16);
    assert!(h.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_ne!(h, key_hash("https://api.example.com/b"));
}

#[test]
fn a_hit_has_no_origin_fields_and_all_its_time_is_the_edge_s() {
    let cs = CacheStatus::hit().ttl(5).detail(Detail::Memory).to_string();
    let line = RequestLine::new(&facts(&cs, None));
    assert_eq!((line.outcome, line.tier), (Outcome::Hit, Tier::Memory));
    assert_eq!(
        (line.origin_status, line.origin_ms, line.edge_ms),
        (None, None, 30)
    );
    assert_eq!(line.detail.as_deref(), Some("memory"));
}

#[test]
fn sampling_keeps_errors_and_the_drawn_fraction() {
    assert!(sampled(1.0, 0.999, false));
    assert!(!sampled(0.0, 0.0, false));
    assert!(sampled(0.0, 0.5, true), "errors are always logged");
    assert!(sampled(0.25, 0.2, false));
    assert!(!sampled(0.25, 0.3, false));
    let cs = CacheStatus::forward(Fwd::Miss)
        .detail(Detail::OriginTimeout)
        .to_string();
    let mut f = facts(
        &cs,
        Some(OriginSeen {
            status: None,
            ms: 10_000,
        }),
    );
    f.status = 504;
    assert!(RequestLine::new(&f).is_error());
}

#[test]
fn server_timing_names_the_origin_only_when_it_was_asked() {
    assert_eq!(server_timing(7, None), "edge;dur=7");
    assert_eq!(server_timing(30, Some(25)), "edge;dur=5, origin;dur=25");
    // A clock that moved backwards never underflows.
    assert_eq!(server_timing(3, Some(9)), "edge;dur=0, origin;dur=9");
}

#[test]
fn the_data_point_has_the_documented_layout() {
    let cs = CacheStatus::forward(Fwd::Miss).fwd_status(404).to_string();
    let mut f = facts(
        &cs,
        Some(OriginSeen {
            status: Some(404),
            ms: 12,
        }),
    );
    f.status = 404;
    f.bytes = None;
    let p = RequestLine::new(&f).data_point();
    assert_eq!(p.indexes, ["course-list"]);
    assert_eq!(
        p.blobs,
        [
            "course-list",
            "miss",
            "origin",
            "GET",
            "",
            &key_hash(f.key.unwrap())
        ]
    );
    assert_eq!(p.doubles, [404.0, 404.0, 12.0, 18.0, 0.0]);
    // A hit: no origin (-1 ms, status 0).
    let cs = CacheStatus::hit().to_string();
    let p = RequestLine::new(&facts(&cs, None)).data_point();
    assert_eq!(p.doubles, [200.0, 0.0, -1.0, 30.0, 512.0]);
}

#[test]
fn the_purge_line_summarizes_the_receipt() {
    let body = br#"{"tags": ["course:1", "course_list"], "urls": ["https://api.example.com/a"]}"#;
    let req = parse_purge_body(body).unwrap();
    let mut r = Receipt::new("msg_1", UnixSecs(1_764_500_000), &req, 7);
    r.layers.generations.bumped = 3;
    r.layers.generations.status = edgecache::purge::receipt::GenerationsStatus::Ok;
    r.layers.local_delete.deleted = 1;
    let v: Value =
        serde_json::from_str(&PurgeLine::new(UnixMillis(1_764_500_000_500), &r).to_json()).unwrap();
    assert_eq!(
        v,
        json!({
            "edgecache": "purge", "v": 1, "time": 1_764_500_000_500u64, "id": "msg_1",
            "status": 200, "tags": ["course:1", "course_list"], "urls": 1, "prefixes": 0,
            "everything": false, "bumped": 3, "deleted": 1, "zone": "off", "replayed": false
        })
    );
}

#[test]
fn check_accepts_workers_logs_and_the_analytics_binding() {
    use edgecache::config::load_wrangler_toml;
    let shipped = include_str!("../../../wrangler.toml");
    assert!(shipped.contains("[observability]\nenabled = true\nhead_sampling_rate = 1\n"));
    load_wrangler_toml(shipped, None).unwrap();
    let on = shipped.replace(
        "# [[analytics_engine_datasets]]\n# binding = \"EDGECACHE_ANALYTICS\"\n# dataset = \"edgecache\"",
        "[[analytics_engine_datasets]]\nbinding = \"EDGECACHE_ANALYTICS\"\ndataset = \"edgecache\"",
    );
    assert_ne!(
        on, shipped,
        "the shipped file shows the binding to uncomment"
    );
    load_wrangler_toml(&on, None).unwrap();
    assert_eq!(
        edgecache::flow::observe::ANALYTICS_BINDING,
        "EDGECACHE_ANALYTICS"
    );
    // The EDGECACHE side, with both fields.
    let c = load_wrangler_toml(
        "[vars.EDGECACHE]\norigin = \"http://127.0.0.1:8000\"\n\
         [vars.EDGECACHE.observability]\nserver_timing = false\nlog_sample = 0.25\n",
        None,
    )
    .unwrap();
    assert!(!c.observability.server_timing);
    assert_eq!(c.observability.log_sample, 0.25);
}

#[test]
fn the_documented_example_lines_are_lines_of_the_schema() {
    let doc = include_str!("../../../docs/observability.md");
    let mut blocks = 0;
    for block in doc.split("```jsonl\n").skip(1) {
        let body = block.split("```").next().unwrap();
        let read = edgecache::report::read_lines(body);
        assert_eq!(read.skipped, 0, "{body}");
        assert_eq!(
            read.requests.len() + read.purges.len(),
            body.lines().count()
        );
        for r in &read.requests {
            // Written again, each reads the same: no field the schema lacks.
            let again: Value = serde_json::from_str(&r.to_json()).unwrap();
            assert!(body
                .lines()
                .any(|l| serde_json::from_str::<Value>(l).unwrap() == again));
        }
        for p in &read.purges {
            let again: Value = serde_json::from_str(&p.to_json()).unwrap();
            assert!(body
                .lines()
                .any(|l| serde_json::from_str::<Value>(l).unwrap() == again));
        }
        blocks += 1;
    }
    assert_eq!(blocks, 2);
}

#[test]
fn a_failed_handler_s_line_is_a_500_from_the_edge() {
    let f = facts(
        "",
        Some(OriginSeen {
            status: Some(200),
            ms: 4,
        }),
    );
    let line = RequestLine::failed(&f);
    assert_eq!(
        (line.status, line.outcome, line.tier),
        (500, Outcome::Miss, Tier::Edge)
    );
    assert_eq!(line.detail.as_deref(), Some("worker_error"));
    assert!(line.is_error());
    let unkeyed = RequestFacts { key: None, ..f };
    assert_eq!(RequestLine::failed(&unkeyed).outcome, Outcome::Pass);
}

#[test]
fn a_sample_rate_of_all_or_nothing_needs_no_random_draw() {
    use edgecache::flow::observe::{fixed_draw, is_error_status};
    assert!(sampled(1.0, fixed_draw(1.0).unwrap(), false));
    assert!(!sampled(0.0, fixed_draw(0.0).unwrap(), false));
    assert!(sampled(0.0, fixed_draw(0.0).unwrap(), is_error_status(502)));
    assert_eq!(fixed_draw(0.5), None);
    assert!(!is_error_status(499));
}
