use edgecache::http::time::UnixSecs;
use edgecache::purge::body::{
    parse_purge_body, PurgeBodyError, MAX_BODY_BYTES, MAX_ITEMS, MAX_PREFIXES, MAX_PREFIX_DEPTH,
    MAX_SOFT_ITEMS, MAX_TAGS, MAX_TAG_BYTES, MAX_URLS, MAX_URL_BYTES,
};
use edgecache::purge::receipt::{
    receipt_key, receipt_ttl, replay_decision, GenerationsStatus, Receipt, Replay, ZonePurgeStatus,
};
use proptest::prelude::*;
use serde_json::{json, Value};

fn parse(v: Value) -> Result<edgecache::purge::body::PurgeRequest, PurgeBodyError> {
    parse_purge_body(v.to_string().as_bytes())
}

#[test]
fn parses_every_field() {
    let req = parse(json!({
        "tags": ["course:1", "course_list"],
        "urls": ["https://api.example.com/api/courses/1/"],
        "prefixes": ["/api/courses/", "https://Media.Example.com:8443/img/"],
        "everything": false
    }))
    .unwrap();
    assert_eq!(req.tags, ["course:1", "course_list"]);
    assert_eq!(req.urls, ["https://api.example.com/api/courses/1/"]);
    assert_eq!(req.prefixes[0].path, "/api/courses");
    assert_eq!(req.prefixes[0].host, None);
    assert_eq!(
        req.prefixes[1].host.as_deref(),
        Some("media.example.com:8443")
    );
    assert_eq!(req.prefixes[1].path, "/img");
    assert_eq!(req.prefixes[1].raw, "https://Media.Example.com:8443/img/");
    assert!(!req.everything);
}

#[test]
fn everything_alone_is_enough() {
    assert!(parse(json!({"everything": true})).unwrap().everything);
}

#[test]
fn null_fields_count_as_absent() {
    let req =
        parse(json!({"tags": null, "urls": ["https://a.example/"], "everything": null})).unwrap();
    assert!(req.tags.is_empty() && !req.everything);
}

#[test]
fn root_prefix_is_kept_as_slash() {
    let req = parse(json!({"prefixes": ["/", "https://a.example"]})).unwrap();
    assert_eq!(req.prefixes[0].path, "/");
    assert_eq!(req.prefixes[1].path, "/");
}

#[test]
fn deduplicates_keeping_first_occurrence() {
    let req = parse(json!({
        "tags": ["b", "a", "b"],
        "prefixes": ["/x/", "/x", "/y"]
    }))
    .unwrap();
    assert_eq!(req.tags, ["b", "a"]);
    assert_eq!(req.prefixes.len(), 2);
}

#[test]
fn errors_name_the_field_per_fixture_table() {
    let raw = std::fs::read_to_string("tests/fixtures/purge_body_errors.json").unwrap();
    let cases: Vec<(String, u16, String)> = serde_json::from_str(&raw).unwrap();
    for (body, status, message) in cases {
        let err = parse_purge_body(body.as_bytes()).unwrap_err();
        assert_eq!(err.status(), status, "{body}");
        assert!(
            err.to_string().starts_with(&message),
            "{body}: got {:?}, want prefix {message:?}",
            err.to_string()
        );
    }
}

#[test]
fn refuses_body_over_64_kib_with_413() {
    let mut body = br#"{"tags":["a"]}"#.to_vec();
    body.resize(MAX_BODY_BYTES + 1, b' ');
    let err = parse_purge_body(&body).unwrap_err();
    assert_eq!(
        err,
        PurgeBodyError::TooLarge {
            len: MAX_BODY_BYTES + 1
        }
    );
    assert_eq!(err.status(), 413);
    body.truncate(MAX_BODY_BYTES);
    assert!(parse_purge_body(&body).is_ok());
}

#[test]
fn tag_count_limit_is_inclusive() {
    let tags: Vec<String> = (0..MAX_TAGS).map(|i| format!("t{i}")).collect();
    assert_eq!(parse(json!({ "tags": tags })).unwrap().tags.len(), MAX_TAGS);
    let tags: Vec<String> = (0..=MAX_TAGS).map(|i| format!("t{i}")).collect();
    assert_eq!(
        parse(json!({ "tags": tags })).unwrap_err(),
        PurgeBodyError::TooMany {
            field: "tags",
            got: MAX_TAGS + 1,
            max: MAX_TAGS
        }
    );
}

#[test]
fn tag_length_limit_is_inclusive() {
    assert!(parse(json!({"tags": ["x".repeat(MAX_TAG_BYTES)]})).is_ok());
    let err = parse(json!({"tags": ["ok", "x".repeat(MAX_TAG_BYTES + 1)]})).unwrap_err();
    assert!(err.to_string().starts_with("tags[1]: tag is 1025 bytes"));
}

#[test]
fn url_limits() {
    let urls: Vec<String> = (0..=MAX_URLS)
        .map(|i| format!("https://a.example/{i}"))
        .collect();
    assert!(matches!(
        parse(json!({ "urls": urls })).unwrap_err(),
        PurgeBodyError::TooMany { field: "urls", .. }
    ));
    let base = "https://a.example/";
    let exact = format!("{base}{}", "x".repeat(MAX_URL_BYTES - base.len()));
    assert!(parse(json!({ "urls": [exact] })).is_ok());
    let long = format!("{base}{}", "x".repeat(MAX_URL_BYTES - base.len() + 1));
    assert!(parse(json!({ "urls": [long] }))
        .unwrap_err()
        .to_string()
        .starts_with("urls[0]: URL is 8193 bytes"));
}

#[test]
fn prefix_count_limit() {
    let p: Vec<String> = (0..MAX_PREFIXES).map(|i| format!("/p{i}")).collect();
    assert!(parse(json!({ "prefixes": p })).is_ok());
    let p: Vec<String> = (0..=MAX_PREFIXES).map(|i| format!("/p{i}")).collect();
    assert!(matches!(
        parse(json!({ "prefixes": p })).unwrap_err(),
        PurgeBodyError::TooMany {
            field: "prefixes",
            ..
        }
    ));
}

#[test]
fn prefix_depth_limit() {
    let ok = "/s".repeat(MAX_PREFIX_DEPTH);
    assert!(parse(json!({ "prefixes": [ok] })).is_ok());
    let deep = "/s".repeat(MAX_PREFIX_DEPTH + 1);
    assert!(parse(json!({ "prefixes": [deep] }))
        .unwrap_err()
        .to_string()
        .starts_with("prefixes[0]: prefix has 33 segments"));
}

#[test]
fn combined_item_limit() {
    let tags: Vec<String> = (0..MAX_TAGS).map(|i| format!("t{i}")).collect();
    let urls: Vec<String> = (0..(MAX_ITEMS - MAX_TAGS + 1))
        .map(|i| format!("https://a.example/{i}"))
        .collect();
    assert!(matches!(
        parse(json!({ "tags": tags, "urls": urls })).unwrap_err(),
        PurgeBodyError::TooMany { max: MAX_ITEMS, .. }
    ));
}

#[test]
fn soft_is_a_flag_and_hard_is_the_default() {
    assert!(!parse(json!({"tags": ["a"]})).unwrap().soft);
    assert!(parse(json!({"tags": ["a"], "soft": true})).unwrap().soft);
    assert!(!parse(json!({"tags": ["a"], "soft": null})).unwrap().soft);
    assert_eq!(
        parse(json!({"tags": ["a"], "soft": "yes"}))
            .unwrap_err()
            .to_string(),
        "soft: expected true or false"
    );
    // Soft alone names nothing to purge.
    assert_eq!(
        parse(json!({"soft": true})).unwrap_err(),
        PurgeBodyError::Empty
    );
}

#[test]
fn a_soft_purge_takes_half_the_items() {
    // Each item of a soft purge is a KV read and a write.
    let tags: Vec<String> = (0..MAX_SOFT_ITEMS).map(|i| format!("t{i}")).collect();
    assert!(parse(json!({ "tags": tags, "soft": true })).is_ok());
    let tags: Vec<String> = (0..=MAX_SOFT_ITEMS).map(|i| format!("t{i}")).collect();
    assert!(parse(json!({ "tags": tags.clone() })).is_ok());
    assert!(matches!(
        parse(json!({ "tags": tags, "soft": true })).unwrap_err(),
        PurgeBodyError::TooMany {
            max: MAX_SOFT_ITEMS,
            ..
        }
    ));
}

#[test]
fn a_soft_receipt_says_so_and_old_receipts_read_as_hard() {
    let req = parse(json!({"tags": ["a"], "soft": true})).unwrap();
    let r = Receipt::new("msg_2", UnixSecs(1), &req, 90);
    let v: Value = serde_json::from_str(&r.to_json()).unwrap();
    assert_eq!(v["invalidated"]["soft"], true);
    let old = r#"{"id":"msg_3","received_at":1,"invalidated":{"tags":["a"],"urls":[],"prefixes":[],"everything":false},"layers":{"generations":{"bumped":1,"status":"ok"},"zone_purge":{"status":"off","requests":0},"local_delete":{"deleted":0}},"staleness_bound_seconds":65,"replayed":false}"#;
    match replay_decision("msg_3", Some(old)) {
        Replay::Replayed(r) => assert!(!r.invalidated.soft),
        Replay::Fresh => panic!("an earlier receipt must still replay"),
    }
}

fn sample_receipt() -> Receipt {
    let req = parse(json!({"tags": ["a"], "prefixes": ["/x/"]})).unwrap();
    Receipt::new("msg_1", UnixSecs(1_700_000_000), &req, 90)
}

#[test]
fn receipt_serializes_to_the_documented_shape() {
    let mut r = sample_receipt();
    r.layers.generations.bumped = 2;
    r.layers.generations.status = GenerationsStatus::Ok;
    r.layers.zone_purge.status = ZonePurgeStatus::Queued;
    r.layers.zone_purge.requests = 1;
    r.layers.local_delete.deleted = 3;
    let v: Value = serde_json::from_str(&r.to_json()).unwrap();
    assert_eq!(
        v,
        json!({
            "id": "msg_1",
            "received_at": 1_700_000_000u64,
            "invalidated": {"tags": ["a"], "urls": [], "prefixes": ["/x/"], "everything": false, "soft": false},
            "layers": {
                "generations": {"bumped": 2, "status": "ok"},
                "zone_purge": {"status": "queued", "requests": 1},
                "local_delete": {"deleted": 3}
            },
            "staleness_bound_seconds": 90,
            "replayed": false
        })
    );
}

#[test]
fn receipt_is_503_and_not_stored_until_generations_succeed() {
    let mut r = sample_receipt();
    assert_eq!((r.status(), r.storable()), (503, false));
    r.layers.generations.status = GenerationsStatus::Failed;
    assert_eq!((r.status(), r.storable()), (503, false));
    r.layers.generations.status = GenerationsStatus::Ok;
    assert_eq!((r.status(), r.storable()), (200, true));
}

#[test]
fn a_failed_purge_asks_the_sender_to_retry_after_a_second() {
    let mut r = sample_receipt();
    r.layers.generations.status = GenerationsStatus::Failed;
    assert_eq!(r.retry_after(), Some(1));
    r.layers.generations.status = GenerationsStatus::Ok;
    assert_eq!(r.retry_after(), None);
}

#[test]
fn replay_returns_stored_receipt_marked_replayed() {
    let mut r = sample_receipt();
    r.layers.generations.status = GenerationsStatus::Ok;
    match replay_decision("msg_1", Some(&r.to_json())) {
        Replay::Replayed(stored) => {
            assert!(stored.replayed);
            assert_eq!(stored.id, "msg_1");
        }
        Replay::Fresh => panic!("expected replay"),
    }
}

#[test]
fn replay_treats_absent_garbage_or_foreign_receipts_as_fresh() {
    assert_eq!(replay_decision("msg_1", None), Replay::Fresh);
    assert_eq!(replay_decision("msg_1", Some("{not json")), Replay::Fresh);
    assert_eq!(
        replay_decision("msg_2", Some(&sample_receipt().to_json())),
        Replay::Fresh
    );
}

#[test]
fn receipt_key_is_deterministic_short_and_distinct() {
    let k = receipt_key("msg_1");
    assert_eq!(k, receipt_key("msg_1"));
    assert_ne!(k, receipt_key("msg_2"));
    assert!(k.starts_with("receipt:") && k.len() == "receipt:".len() + 64);
    assert!(receipt_key(&"x".repeat(10_000)).len() < 512);
}

#[test]
fn receipt_ttl_covers_both_tolerance_directions_with_kv_minimum() {
    assert_eq!(receipt_ttl(300), 600);
    assert_eq!(receipt_ttl(10), 60);
    assert_eq!(receipt_ttl(u64::MAX), u64::MAX);
}

proptest! {
    #[test]
    fn never_panics_on_arbitrary_bytes(body in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse_purge_body(&body);
    }

    #[test]
    fn never_panics_on_arbitrary_strings_in_fields(
        tags in proptest::collection::vec(".{0,20}", 0..4),
        urls in proptest::collection::vec(".{0,40}", 0..4),
        prefixes in proptest::collection::vec("(/|https?://)?.{0,30}", 0..4),
    ) {
        if let Ok(req) = parse(json!({"tags": tags, "urls": urls, "prefixes": prefixes})) {
            for p in req.prefixes {
                prop_assert!(p.path == "/" || (p.path.starts_with('/') && !p.path.ends_with('/')));
                prop_assert!(!p.path.contains("//"));
            }
        }
    }
}

/// Fuzzing finding (`purge_body`): prefixes were kept as written, but requests
/// check prefix names built from their canonical path, so another spelling of a
/// path silently purged nothing.
#[test]
fn prefix_is_spelled_as_canonical_request_paths() {
    let req = parse(json!({
        "prefixes": ["/api/%63ourses/", "/a{b}", "https://h.example/A%7e/%c3%a9"]
    }))
    .unwrap();
    let paths: Vec<&str> = req.prefixes.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, ["/api/courses", "/a%7Bb%7D", "/A~/%C3%A9"]);
    assert_eq!(req.prefixes[0].raw, "/api/%63ourses/");
}

/// Fuzzing finding (`purge_body`): a prefix no cached path can have (requests
/// with such paths bypass the cache) is refused instead of purging nothing.
#[test]
fn prefix_no_cached_path_can_have_is_refused() {
    for p in [
        "/api%..s/ecret",
        "/api/me;x",
        "/a%2Fb",
        "/a%00",
        "https://h.example/a%2e",
    ] {
        match parse(json!({ "prefixes": [p] })) {
            Err(PurgeBodyError::Invalid { field, reason }) => {
                assert_eq!(field, "prefixes[0]", "{p}");
                assert!(
                    reason.contains("never matches a cached path"),
                    "{p}: {reason}"
                );
            }
            other => panic!("{p}: {other:?}"),
        }
    }
}

#[test]
fn a_receipt_states_the_fast_bound_only_for_a_purge_the_writer_logged() {
    use edgecache::purge::receipt::{Applies, Bounds};
    let mut r = sample_receipt();
    r.set_bounds(Bounds::new(Some(4000), 70, true));
    assert_eq!(r.staleness_bound_seconds, 4);
    let v: Value = serde_json::from_str(&r.to_json()).unwrap();
    assert_eq!(
        v["bounds"],
        json!({"fast_ms": 4000, "backstop_seconds": 70, "applies": "fast"})
    );
    // The writer did not log it (too large, or the fast path off there).
    let settled = r.clone().settled(false);
    assert_eq!(settled.staleness_bound_seconds, 70);
    assert_eq!(settled.bounds.unwrap().applies, Applies::Backstop);
    // Fast path off: no fast bound, whatever the writer says.
    r.set_bounds(Bounds::new(None, 70, true));
    assert_eq!(
        (r.staleness_bound_seconds, r.bounds.unwrap().applies),
        (70, Applies::Backstop)
    );
    // A fast bound in milliseconds is stated in whole seconds, rounded up.
    r.set_bounds(Bounds::new(Some(3500), 70, true));
    assert_eq!(r.staleness_bound_seconds, 4);
    assert_eq!(Receipt::parse(&r.to_json()), Some(r));
}

#[test]
fn the_writer_answers_a_new_purge_with_its_settled_receipt_and_a_replay_with_the_first() {
    use edgecache::purge::receipt::Bounds;
    use edgecache::purge::writer::{ReceiptHandoff, Stored};
    let mut r = sample_receipt();
    r.set_bounds(Bounds::new(Some(4000), 70, true));
    let handoff = ReceiptHandoff {
        key: "receipt:x".into(),
        ttl_ms: 600_000,
        json: r.to_json(),
    };
    let stored = Stored::recorded(false, Some(&handoff));
    let kept = Receipt::parse(stored.receipt.as_deref().unwrap()).unwrap();
    assert_eq!(kept.staleness_bound_seconds, 70);
    assert!(!stored.replayed);
    let again = Stored::replay(stored.receipt.clone().unwrap());
    assert!(again.replayed);
    match replay_decision("msg_1", again.receipt.as_deref()) {
        Replay::Replayed(first) => assert!(first.replayed),
        Replay::Fresh => panic!("the stored receipt must replay"),
    }
}
