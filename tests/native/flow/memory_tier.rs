//! `memory::MemoryTier`: bounds, LRU order, residence limit, invalidation; and
//! the `memory` config section.

use edgecache::config::{Config, MemorySettings};
use edgecache::flow::memory::{MemEntry, MemoryTier};
use edgecache::flow::{on_origin, plan, FetchStart, Incoming, Plan};
use edgecache::http::headers::Headers;
use edgecache::http::method::Method;
use edgecache::http::time::{UnixMillis, UnixSecs};
use serde_json::json;

fn settings(max_bytes: u64, max_entry_bytes: u64, max_age: u64) -> MemorySettings {
    MemorySettings {
        max_bytes,
        max_entry_bytes,
        max_age,
    }
}

/// The stored headers of a real `on_origin` decision, so entries parse as the
/// Cache API's copies do.
fn stored_headers() -> Headers {
    stored_headers_for(200)
}

fn stored_headers_for(status: u16) -> Headers {
    let c = Config::from_json(&json!({
        "origin": "http://127.0.0.1:8000",
        "routes": [{ "name": "a", "path": "/a/*", "ttl": "15m", "status_ttl": { "205": "1m" } }],
    }))
    .expect("valid config");
    let none = Headers::new();
    let Plan::Lookup(lk) = plan(
        &c,
        &Incoming {
            method: &Method::Get,
            url: "https://api.example.com/a/x",
            headers: &none,
            has_body: false,
            user_secret: None,
        },
    ) else {
        panic!("expected a lookup")
    };
    let origin: Headers = [("content-type", "application/json")].into_iter().collect();
    on_origin(
        &c,
        &lk,
        status,
        &origin,
        FetchStart::unrecorded(UnixMillis(0)),
        UnixSecs(1000),
    )
    .store
    .expect("stored")
    .headers
}

fn entry(base: &str, body: &'static str) -> MemEntry<&'static str> {
    MemEntry::new(base.to_string(), stored_headers(), body, body.len() as u64).expect("parses")
}

fn tier(max_bytes: u64, max_entry: u64, max_age: u64) -> MemoryTier<&'static str> {
    MemoryTier::new(settings(max_bytes, max_entry, max_age))
}

#[test]
fn an_entry_kept_is_found_with_its_body_and_headers() {
    let mut t = tier(1 << 20, 1024, 60);
    t.insert("k1".into(), entry("b1", "hello"), UnixSecs(100));
    let e = t.get("k1", UnixSecs(101)).expect("kept");
    assert_eq!(e.body, "hello");
    assert_eq!(e.entry.status, 200);
    assert!(t.get("k2", UnixSecs(101)).is_none());
    assert_eq!(t.len(), 1);
    assert!(t.used_bytes() > 5, "headers and keys count too");
}

#[test]
fn an_entry_carries_its_length_as_the_cache_apis_copy_does_and_needs_stored_headers() {
    let e = entry("b", "hello");
    assert_eq!(e.headers.content_length(), Some(5));
    let mut h = stored_headers();
    h.append("content-length", "5");
    let e = MemEntry::new("b".into(), h, "hello", 5).unwrap();
    assert_eq!(
        e.headers.get_all("content-length").count(),
        1,
        "not added twice"
    );
    for status in [204, 205] {
        let e = MemEntry::new("b".into(), stored_headers_for(status), "", 0)
            .expect("a stored 204/205 parses");
        assert_eq!(
            e.headers.get("content-length"),
            None,
            "{status}: never a length"
        );
    }
    let plain: Headers = [("content-type", "text/plain")].into_iter().collect();
    assert!(
        MemEntry::new("b".into(), plain, "x", 1).is_none(),
        "not a stored entry"
    );
}

#[test]
fn residence_is_bounded_by_max_age_and_a_clock_step_back_drops_the_entry() {
    let mut t = tier(1 << 20, 1024, 60);
    t.insert("k".into(), entry("b", "x"), UnixSecs(100));
    assert!(t.get("k", UnixSecs(159)).is_some());
    assert!(t.get("k", UnixSecs(160)).is_none(), "60 s after it entered");
    assert!(t.is_empty(), "an expired entry is dropped, not kept");
    t.insert("k".into(), entry("b", "x"), UnixSecs(100));
    assert!(
        t.get("k", UnixSecs(99)).is_none(),
        "entered in the future: not trusted"
    );
}

#[test]
fn bodies_over_max_entry_bytes_are_not_kept_and_replace_nothing_stale() {
    let mut t = tier(1 << 20, 4, 60);
    assert!(t.admits(4));
    assert!(!t.admits(5));
    t.insert("k".into(), entry("b", "1234"), UnixSecs(0));
    assert!(t.get("k", UnixSecs(0)).is_some());
    // A newer copy too large to keep still drops the older one.
    t.insert("k".into(), entry("b", "12345"), UnixSecs(1));
    assert!(t.get("k", UnixSecs(1)).is_none());
    assert_eq!(t.used_bytes(), 0);
}

#[test]
fn a_tier_of_zero_bytes_keeps_nothing() {
    let mut t = tier(0, 0, 60);
    assert!(!t.admits(0));
    t.insert("k".into(), entry("b", ""), UnixSecs(0));
    assert!(t.is_empty());
}

fn cost_of_one() -> u64 {
    let mut t = tier(1 << 20, 1024, 60);
    t.insert("k00".into(), entry("b", "x"), UnixSecs(0));
    t.used_bytes()
}

#[test]
fn the_least_recently_used_entries_go_first_and_the_total_stays_bounded() {
    let one = cost_of_one();
    // Room for exactly sixteen entries of this size (keys of equal length).
    let mut t = tier(16 * one, 1024, 60);
    for i in 0..16 {
        t.insert(format!("k{i:02}"), entry("b", "x"), UnixSecs(0));
    }
    assert_eq!(t.len(), 16);
    assert_eq!(t.used_bytes(), 16 * one);
    // Use the oldest few again: they become the most recently used.
    for i in 0..3 {
        assert!(t.get(&format!("k{i:02}"), UnixSecs(1)).is_some());
    }
    t.insert("k16".into(), entry("b", "x"), UnixSecs(1));
    // One batch: down to 7/8 with the newcomer, i.e. 14 entries in all.
    assert_eq!(t.len(), 14);
    assert!(t.used_bytes() <= 16 * one - 16 * one / 8);
    for i in 3..6 {
        assert!(
            t.get(&format!("k{i:02}"), UnixSecs(1)).is_none(),
            "k{i:02} was among the least recently used"
        );
    }
    for i in (0..3).chain(6..17) {
        assert!(
            t.get(&format!("k{i:02}"), UnixSecs(1)).is_some(),
            "k{i:02} kept"
        );
    }
    // The next insert fits without evicting anything.
    t.insert("k17".into(), entry("b", "x"), UnixSecs(1));
    assert_eq!(t.len(), 15);
}

#[test]
fn a_newcomer_needing_most_of_the_tier_is_kept_alone() {
    let one = cost_of_one();
    let big = {
        let mut t = tier(1 << 20, 1024, 60);
        t.insert(
            "big".into(),
            entry("b", "0123456789012345678901234567890123456789"),
            UnixSecs(0),
        );
        t.used_bytes()
    };
    let mut t = tier(big + one / 2, 1024, 60);
    t.insert("k00".into(), entry("b", "x"), UnixSecs(0));
    t.insert(
        "big".into(),
        entry("b", "0123456789012345678901234567890123456789"),
        UnixSecs(0),
    );
    assert!(t.get("k00", UnixSecs(0)).is_none());
    assert!(t.get("big", UnixSecs(0)).is_some());
    assert_eq!(t.used_bytes(), big);
}

#[test]
fn an_entry_larger_than_the_whole_tier_evicts_nothing() {
    let one = {
        let mut t = tier(1 << 20, 1024, 60);
        t.insert("k0".into(), entry("b", "x"), UnixSecs(0));
        t.used_bytes()
    };
    let mut t = tier(one, 1024, 60);
    t.insert("k0".into(), entry("b", "x"), UnixSecs(0));
    t.insert("k-longer-key".into(), entry("b", "x"), UnixSecs(0));
    assert!(
        t.get("k0", UnixSecs(0)).is_some(),
        "kept: the newcomer can never fit"
    );
    assert!(t.get("k-longer-key", UnixSecs(0)).is_none());
}

#[test]
fn remove_base_drops_every_variant_of_a_url_and_nothing_else() {
    let mut t = tier(1 << 20, 1024, 60);
    t.insert("u?a&__edgecache=1".into(), entry("u?a", "x"), UnixSecs(0));
    t.insert("u?a&__edgecache=2".into(), entry("u?a", "y"), UnixSecs(0));
    t.insert("u?b".into(), entry("u?b", "z"), UnixSecs(0));
    t.remove_base("u?a");
    assert_eq!(t.len(), 1);
    assert!(t.get("u?b", UnixSecs(0)).is_some());
    t.remove("u?b");
    assert!(t.is_empty());
    assert_eq!(t.used_bytes(), 0);
}

fn config_with(memory: serde_json::Value) -> Result<Config, String> {
    Config::from_json(&json!({ "origin": "http://127.0.0.1:8000", "memory": memory }))
        .map_err(|e| e.to_string())
}

#[test]
fn memory_settings_default_and_parse() {
    let c = Config::from_json(&json!({ "origin": "http://127.0.0.1:8000" })).unwrap();
    assert_eq!(c.memory, settings(16 << 20, 128 << 10, 60));
    let c = config_with(json!({ "max_bytes": 1048576, "max_entry_bytes": 65536, "max_age": "2m" }))
        .unwrap();
    assert_eq!(c.memory, settings(1 << 20, 1 << 16, 120));
    let off = config_with(json!({ "max_bytes": 0 })).unwrap();
    assert_eq!(off.memory.max_bytes, 0);
    let small = config_with(json!({ "max_bytes": 1000 })).unwrap();
    assert_eq!(
        small.memory.max_entry_bytes, 1000,
        "default entry cap fits the tier"
    );
}

#[test]
fn bad_memory_settings_name_the_field() {
    for (memory, field, why) in [
        (
            json!({ "max_bytes": 100_000_000u64 }),
            "max_bytes",
            "64 MiB",
        ),
        (
            json!({ "max_bytes": 1000, "max_entry_bytes": 2000 }),
            "max_entry_bytes",
            "max_bytes",
        ),
        (
            json!({ "max_entry_bytes": 0 }),
            "max_entry_bytes",
            "at least 1",
        ),
        (
            json!({ "max_bytes": 67108864, "max_entry_bytes": 5000000 }),
            "max_entry_bytes",
            "4 MiB",
        ),
        (json!({ "max_age": "0s" }), "max_age", "1s and 1h"),
        (json!({ "max_age": "2h" }), "max_age", "1s and 1h"),
        (json!({ "max_age": "soon" }), "max_age", ""),
        (json!({ "size": 1 }), "size", ""),
    ] {
        let e = config_with(memory.clone()).expect_err(&memory.to_string());
        assert!(e.contains("memory"), "{e}");
        assert!(e.contains(field), "{e}");
        assert!(e.contains(why), "{e}");
    }
}
