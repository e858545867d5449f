//! The zone purge layer's pure parts (`purge::zone`): the work a webhook
//! hands the writer, the plans' limits, the retry schedule, the account's
//! rate limit. The writer's queue is `zone_queue.rs`; its sequence
//! `flow/writer_zone.rs`.
use edgecache::config::{Config, PurgeSettings, ZonePlan};
use edgecache::http::time::UnixMillis;
use edgecache::purge::cache_tag::cache_tag;
use edgecache::purge::generations::GenName;
use edgecache::purge::zone::{
    is_retryable, limits, outcome, retry_delay, work, CallOutcome, CallResult, DEFAULT_MAX_PER_CALL,
};
use serde_json::json;

fn settings(zone: Option<&str>) -> PurgeSettings {
    PurgeSettings {
        generation_memo: 30,
        tolerance: 300,
        clock_skew: 2,
        kv_propagation: 60,
        poll_ms: 1000,
        zone_id: zone.map(str::to_string),
        api_base: "https://api.cloudflare.com/client/v4/".into(),
        zone_plan: ZonePlan::Free,
    }
}

#[test]
fn no_work_when_the_layer_is_off() {
    assert!(work(&[GenName::tag("a")], false, &settings(None)).is_none());
}

#[test]
fn work_posts_to_the_zone_purge_endpoint_with_the_plans_limits() {
    let w = work(&[GenName::tag("a")], false, &settings(Some("z1"))).unwrap();
    assert_eq!(
        w.endpoint,
        "https://api.cloudflare.com/client/v4/zones/z1/purge_cache"
    );
    assert_eq!(w.limits, limits(ZonePlan::Free));
    assert_eq!(w.tags, ["a"]);
    assert!(!w.everything);
}

#[test]
fn urls_and_prefixes_are_purged_by_the_tag_their_entries_carry() {
    let url = GenName::url("https://api.example.com/api/courses/?level=x");
    let prefix = GenName::prefix("api.example.com", "/api/courses");
    let names = [GenName::tag("course_list"), url.clone(), prefix.clone()];
    let w = work(&names, false, &settings(Some("z"))).unwrap();
    let expected: Vec<String> = names.iter().filter_map(cache_tag).collect();
    assert_eq!(w.tags, expected);
    assert!(w.tags[1].starts_with("ec-") && w.tags[2].starts_with("ec-"));
}

#[test]
fn everything_is_one_purge_everything_call() {
    let w = work(&[GenName::all()], true, &settings(Some("z"))).unwrap();
    assert!(w.everything && w.tags.is_empty());
    assert_eq!(w.calls(), 1);
}

#[test]
fn names_without_a_valid_tag_make_no_work() {
    // A tag with a comma cannot be purged by tag: the purge marks hold it.
    assert!(work(&[GenName::tag("a,b")], false, &settings(Some("z"))).is_none());
}

#[test]
fn calls_needed_count_100_tags_per_call_on_every_plan() {
    let names: Vec<GenName> = (0..250).map(|i| GenName::tag(&format!("t{i}"))).collect();
    let w = work(&names, false, &settings(Some("z"))).unwrap();
    assert_eq!(w.calls(), 3);
    let mut s = settings(Some("z"));
    s.zone_plan = ZonePlan::Enterprise;
    assert_eq!(work(&names, false, &s).unwrap().calls(), 3);
}

#[test]
fn retry_delays_follow_fixture_table() {
    let raw = std::fs::read_to_string("tests/fixtures/zone_purge_retry.json").unwrap();
    let cases: Vec<(u32, Option<String>, u64)> = serde_json::from_str(&raw).unwrap();
    for (failures, retry_after, expected) in cases {
        assert_eq!(
            retry_delay(failures, retry_after.as_deref()),
            expected,
            "failures {failures}, Retry-After {retry_after:?}"
        );
    }
}

#[test]
fn retries_only_rate_limits_and_server_errors() {
    for s in [429, 500, 502, 503, 599] {
        assert!(is_retryable(s), "{s}");
    }
    for s in [200, 400, 401, 403, 404, 428, 600] {
        assert!(!is_retryable(s), "{s}");
    }
}

fn answered(status: u16, retry_after: Option<&str>) -> CallResult {
    CallResult::Answered {
        status,
        retry_after: retry_after.map(str::to_string),
    }
}

#[test]
fn a_2xx_is_done() {
    for status in [200, 204, 299] {
        assert_eq!(outcome(0, &answered(status, Some("1"))), CallOutcome::Done);
    }
}

#[test]
fn rate_limits_server_errors_and_silence_are_retried_never_given_up() {
    assert_eq!(
        outcome(0, &answered(429, Some("2"))),
        CallOutcome::Retry(2000)
    );
    assert_eq!(outcome(0, &answered(503, None)), CallOutcome::Retry(500));
    assert_eq!(
        outcome(1, &CallResult::NoResponse),
        CallOutcome::Retry(1000)
    );
    assert_eq!(
        outcome(50, &CallResult::NoResponse),
        CallOutcome::Retry(60_000)
    );
}

#[test]
fn errors_that_repeat_are_refused() {
    for status in [400, 401, 403, 404, 301] {
        assert_eq!(
            outcome(0, &answered(status, None)),
            CallOutcome::Refused,
            "{status}"
        );
    }
}

#[test]
fn calls_carry_100_tags_on_every_plan() {
    use edgecache::purge::zone::limits;
    assert_eq!(limits(ZonePlan::Free).per_call, DEFAULT_MAX_PER_CALL);
    assert_eq!(limits(ZonePlan::Business).per_call, 100);
    assert_eq!(limits(ZonePlan::Enterprise).per_call, 100);
}

#[test]
fn the_free_plan_allows_a_burst_of_25_then_one_call_every_12_seconds() {
    use edgecache::purge::zone::RateLimit;
    let mut r = RateLimit::for_plan(ZonePlan::Free);
    let now = UnixMillis(1_000_000);
    for i in 0..25 {
        assert_eq!(r.reserve(now, 20_000), Some(0), "call {i}");
    }
    assert_eq!(r.reserve(now, 20_000), Some(12_000));
    // The next would wait 24 s, past the budget: nothing is reserved.
    assert_eq!(r.reserve(now, 20_000), None);
    assert_eq!(r.reserve(UnixMillis(1_012_000), 20_000), Some(12_000));
    // Much later the burst is back.
    let later = UnixMillis(10_000_000);
    assert_eq!(r.reserve(later, 0), Some(0));
}

#[test]
fn faster_plans_allow_more_calls_per_second() {
    use edgecache::purge::zone::RateLimit;
    let calls_in_a_second = |plan| {
        let mut r = RateLimit::for_plan(plan);
        (0..1000)
            .filter(|_| r.reserve(UnixMillis(5_000_000), 999).is_some())
            .count()
    };
    assert_eq!(calls_in_a_second(ZonePlan::Pro), 5 + 4);
    assert_eq!(calls_in_a_second(ZonePlan::Business), 10 + 9);
    assert_eq!(calls_in_a_second(ZonePlan::Enterprise), 50 + 49);
}

#[test]
fn zone_plan_is_read_from_config_and_named_when_wrong() {
    let c = |plan: &str| {
        Config::from_json(
            &json!({ "origin": "http://127.0.0.1:8000", "purge": { "zone_plan": plan } }),
        )
    };
    assert_eq!(c("business").unwrap().purge.zone_plan, ZonePlan::Business);
    let e = c("gold").unwrap_err().to_string();
    assert!(e.contains("zone_plan") && e.contains("gold"), "{e}");
    let default = Config::from_json(&json!({ "origin": "http://127.0.0.1:8000" })).unwrap();
    assert_eq!(default.purge.zone_plan, ZonePlan::Free);
}
