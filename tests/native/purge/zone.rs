use edgecache::config::{Config, PurgeSettings, ZonePlan};
use edgecache::http::time::UnixMillis;
use edgecache::purge::body::parse_purge_body;
use edgecache::purge::zone::{
    is_retryable, plan, retry_delay, DEFAULT_MAX_PER_CALL, MAX_ATTEMPTS, MAX_PER_CALL_CEILING,
};
use serde_json::{json, Value};

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

fn body_of(v: Value) -> edgecache::purge::body::PurgeRequest {
    parse_purge_body(v.to_string().as_bytes()).unwrap()
}

fn tags(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("t{i}")).collect()
}

#[test]
fn plans_nothing_when_layer_is_off() {
    let req = body_of(json!({"tags": ["a"]}));
    assert!(plan(&req, &[], &settings(None), "h", DEFAULT_MAX_PER_CALL).is_empty());
}

#[test]
fn posts_to_the_zone_purge_endpoint() {
    let req = body_of(json!({"tags": ["a"]}));
    let calls = plan(&req, &[], &settings(Some("z1")), "h", DEFAULT_MAX_PER_CALL);
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].url,
        "https://api.cloudflare.com/client/v4/zones/z1/purge_cache"
    );
    assert_eq!(calls[0].body, json!({"tags": ["a"]}));
}

#[test]
fn everything_is_one_purge_everything_call() {
    let req = body_of(json!({"everything": true, "tags": ["a"], "prefixes": ["/x"]}));
    let calls = plan(&req, &[], &settings(Some("z")), "h", DEFAULT_MAX_PER_CALL);
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].body, json!({"purge_everything": true}));
}

#[test]
fn batches_at_the_limit_boundaries() {
    for (n, expected) in [
        (1, vec![1]),
        (99, vec![99]),
        (100, vec![100]),
        (101, vec![100, 1]),
        (200, vec![100, 100]),
        (201, vec![100, 100, 1]),
    ] {
        let req = body_of(json!({ "tags": tags(n) }));
        let calls = plan(&req, &[], &settings(Some("z")), "h", DEFAULT_MAX_PER_CALL);
        let sizes: Vec<usize> = calls
            .iter()
            .map(|c| c.body["tags"].as_array().unwrap().len())
            .collect();
        assert_eq!(sizes, expected, "n = {n}");
    }
}

#[test]
fn batches_keep_order_and_lose_nothing() {
    let all = tags(500);
    let req = body_of(json!({ "tags": all }));
    let calls = plan(&req, &[], &settings(Some("z")), "h", 100);
    assert_eq!(calls.len(), 5);
    let joined: Vec<String> = calls
        .iter()
        .flat_map(|c| {
            c.body["tags"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
        })
        .collect();
    assert_eq!(joined, all);
}

#[test]
fn per_call_size_is_clamped() {
    let req = body_of(json!({ "tags": tags(3) }));
    assert_eq!(plan(&req, &[], &settings(Some("z")), "h", 0).len(), 3);
    let req = body_of(json!({ "tags": tags(500) }));
    assert_eq!(
        plan(&req, &[], &settings(Some("z")), "h", 10_000).len(),
        500 / MAX_PER_CALL_CEILING
    );
}

#[test]
fn sends_key_urls_as_files_and_prefixes_without_scheme() {
    let req = body_of(json!({
        "urls": ["https://api.example.com/a?utm_source=x"],
        "prefixes": ["/api/courses/", "https://media.example.com/img", "/"]
    }));
    let keys = vec![
        "https://api.example.com/a".to_string(),
        "https://api.example.com/a".to_string(),
    ];
    let calls = plan(
        &req,
        &keys,
        &settings(Some("z")),
        "api.example.com",
        DEFAULT_MAX_PER_CALL,
    );
    let bodies: Vec<&Value> = calls.iter().map(|c| &c.body).collect();
    assert_eq!(
        bodies,
        [
            &json!({"files": ["https://api.example.com/a"]}),
            &json!({"prefixes": ["api.example.com/api/courses", "media.example.com/img", "api.example.com"]}),
        ]
    );
}

#[test]
fn retry_delays_follow_fixture_table() {
    let raw = std::fs::read_to_string("tests/fixtures/zone_purge_retry.json").unwrap();
    let cases: Vec<(u32, Option<String>, Option<u64>)> = serde_json::from_str(&raw).unwrap();
    for (attempt, retry_after, expected) in cases {
        assert_eq!(
            retry_delay(attempt, retry_after.as_deref()),
            expected,
            "attempt {attempt}, Retry-After {retry_after:?}"
        );
    }
}

#[test]
fn gives_up_after_max_attempts() {
    assert!(retry_delay(MAX_ATTEMPTS - 1, None).is_some());
    assert_eq!(retry_delay(MAX_ATTEMPTS, None), None);
    assert_eq!(retry_delay(MAX_ATTEMPTS, Some("1")), None);
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

#[test]
fn next_step_is_done_on_success() {
    use edgecache::purge::zone::{next_step, CallResult, NextStep};
    for status in [200, 204, 299] {
        let r = CallResult::Answered {
            status,
            retry_after: Some("1"),
        };
        assert_eq!(next_step(1, r), NextStep::Done);
    }
}

#[test]
fn next_step_retries_rate_limits_server_errors_and_silence() {
    use edgecache::purge::zone::{next_step, CallResult, NextStep};
    let answered = |status, retry_after| CallResult::Answered {
        status,
        retry_after,
    };
    assert_eq!(
        next_step(1, answered(429, Some("2"))),
        NextStep::RetryAfter(2000)
    );
    assert_eq!(next_step(1, answered(503, None)), NextStep::RetryAfter(500));
    assert_eq!(
        next_step(2, CallResult::NoResponse),
        NextStep::RetryAfter(1000)
    );
    assert_eq!(
        next_step(MAX_ATTEMPTS, CallResult::NoResponse),
        NextStep::GiveUp
    );
    assert_eq!(next_step(1, answered(429, Some("3600"))), NextStep::GiveUp);
}

#[test]
fn next_step_gives_up_on_errors_that_repeat() {
    use edgecache::purge::zone::{next_step, CallResult, NextStep};
    for status in [400, 401, 403, 404, 301] {
        let r = CallResult::Answered {
            status,
            retry_after: None,
        };
        assert_eq!(next_step(1, r), NextStep::GiveUp, "{status}");
    }
}

#[test]
fn calls_carry_100_items_and_500_on_enterprise() {
    use edgecache::purge::zone::max_per_call;
    assert_eq!(max_per_call(ZonePlan::Free), 100);
    assert_eq!(max_per_call(ZonePlan::Business), 100);
    assert_eq!(max_per_call(ZonePlan::Enterprise), 500);
    let tags: Vec<String> = (0..250).map(|i| format!("t{i}")).collect();
    let req = body_of(json!({ "tags": tags }));
    let calls = plan(
        &req,
        &[],
        &settings(Some("z1")),
        "h",
        max_per_call(ZonePlan::Free),
    );
    let sizes: Vec<usize> = calls
        .iter()
        .map(|c| c.body["tags"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [100, 100, 50]);
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
