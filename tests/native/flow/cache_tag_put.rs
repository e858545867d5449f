//! Every copy handed to the Cache API carries its purge names as `Cache-Tag`
//! (issue 25.3), so a zone purge by tag reaches it — every variant, in every
//! data centre — while the field never reaches a client as the worker's, and
//! a revalidation never mistakes it for the origin's.

use edgecache::config::Config;
use edgecache::flow::entry::{origin_fields, ORIGIN_TAG_HEADER};
use edgecache::flow::revalidate::{on_not_modified, Revalidation};
use edgecache::flow::{
    client_headers, on_origin, on_stored, plan, FetchStart, Incoming, Lookup, Plan, StoredDecision,
    StoredEntry,
};
use edgecache::http::headers::Headers;
use edgecache::http::method::Method;
use edgecache::http::time::{UnixMillis, UnixSecs};
use edgecache::purge::cache_tag::cache_tag;
use edgecache::purge::generations::{Gen, GenName, Generations};
use serde_json::json;

const AT: u64 = 1000;

fn config(expose: bool) -> Config {
    Config::from_json(&json!({
        "origin": "http://127.0.0.1:8000",
        "expose_tag_headers": expose,
        "routes": [{ "name": "detail", "path": "/api/courses/:pk/", "ttl": "60s",
                     "tags": ["course:{pk}"], "vary": ["accept-language"] }],
    }))
    .expect("valid config")
}

fn h(pairs: &[(&str, &str)]) -> Headers {
    pairs.iter().copied().collect()
}

fn lookup<'c>(c: &'c Config, lang: &str) -> Lookup<'c> {
    let headers = h(&[("accept-language", lang)]);
    let inc = Incoming {
        method: &Method::Get,
        url: "https://api.example.com/api/courses/7/",
        headers: &headers,
        has_body: false,
        user_secret: None,
    };
    match plan(c, &inc) {
        Plan::Lookup(lk) => *lk,
        other => panic!("expected a lookup, got {other:?}"),
    }
}

fn stored(c: &Config, lk: &Lookup, fields: &[(&str, &str)]) -> Headers {
    let d = on_origin(
        c,
        lk,
        200,
        &h(fields),
        FetchStart::unrecorded(UnixSecs(AT).to_millis()),
        UnixSecs(AT),
    );
    d.store.expect("stored").headers
}

const TAGGED: &[(&str, &str)] = &[
    ("content-type", "application/json"),
    ("cache-control", "max-age=60"),
    ("etag", "\"v1\""),
    ("vary", "Accept-Language"),
    ("cache-tag", "Tenant-7,user-42-orders"),
];

fn tags_of(stored: &Headers) -> Vec<&str> {
    stored
        .get("cache-tag")
        .expect("a cache-tag")
        .split(',')
        .collect()
}

fn derived(name: GenName) -> String {
    cache_tag(&name).expect("a derived tag")
}

#[test]
fn a_stored_copy_carries_every_purge_name_it_is_checked_against() {
    let c = config(false);
    let lk = lookup(&c, "fr");
    let s = stored(&c, &lk, TAGGED);
    let tags = tags_of(&s);
    let entry = StoredEntry::parse(&s).expect("parses");
    // Exactly the names a lookup checks, as tags: `all` has none.
    let names = lk.names(&entry.stamp);
    let want: Vec<String> = names.iter().filter_map(cache_tag).collect();
    assert_eq!(tags, want.iter().map(String::as_str).collect::<Vec<_>>());
    // The route's tag and the origin's (lower-cased, as purges name them).
    assert!(tags.contains(&"course:7"));
    assert!(tags.contains(&"tenant-7") && tags.contains(&"user-42-orders"));
    // The URL and its prefixes as `ec-<id>`.
    let base = lk.key.base_url().to_string();
    assert!(tags.contains(&derived(GenName::url(&base)).as_str()));
    let prefix = derived(GenName::prefix("api.example.com", "/api"));
    assert!(tags.contains(&prefix.as_str()));
    // The origin's own field is kept beside it, as received.
    assert_eq!(s.get(ORIGIN_TAG_HEADER), Some("Tenant-7,user-42-orders"));
}

#[test]
fn every_variant_of_a_url_carries_the_same_tags() {
    let c = config(false);
    let (fr, de) = (lookup(&c, "fr"), lookup(&c, "de"));
    assert_ne!(fr.key.url(), de.key.url(), "two variant keys");
    let (a, b) = (stored(&c, &fr, TAGGED), stored(&c, &de, TAGGED));
    assert_eq!(a.get("cache-tag"), b.get("cache-tag"));
    let url_tag = derived(GenName::url(fr.key.base_url()));
    assert!(tags_of(&a).contains(&url_tag.as_str()));
}

#[test]
fn an_origin_without_cache_tag_still_gets_tagged_copies() {
    let c = config(false);
    let lk = lookup(&c, "fr");
    let s = stored(&c, &lk, &[("cache-control", "max-age=60")]);
    assert!(tags_of(&s).contains(&"course:7"));
    assert_eq!(s.get(ORIGIN_TAG_HEADER), Some(""));
}

fn hit_headers(c: &Config, fields: &[(&str, &str)]) -> Headers {
    let lk = lookup(c, "fr");
    let s = stored(c, &lk, fields);
    let entry = StoredEntry::parse(&s).expect("parses");
    let mut g = Generations::new();
    for n in lk.names(&entry.stamp) {
        g.insert(n, Gen::Never);
    }
    match on_stored(c, &lk, &entry, &s, &g, UnixSecs(AT + 5)) {
        StoredDecision::Serve { headers, .. } => headers,
        other => panic!("expected a hit, got {other:?}"),
    }
}

#[test]
fn a_hit_never_shows_the_workers_tags() {
    let hidden = hit_headers(&config(false), TAGGED);
    assert!(!hidden.contains("cache-tag"));
    assert!(!hidden.contains(ORIGIN_TAG_HEADER));
    // Exposed: the origin's own field, exactly as a miss shows it.
    let shown = hit_headers(&config(true), TAGGED);
    assert_eq!(shown.get("cache-tag"), Some("Tenant-7,user-42-orders"));
    let plain = hit_headers(&config(true), &[("cache-control", "max-age=60")]);
    assert!(!plain.contains("cache-tag"));
}

#[test]
fn an_entry_stored_before_tagging_keeps_its_origin_cache_tag() {
    // No `x-edgecache-origin-tag`: its `cache-tag` is the origin's.
    let c = config(true);
    let lk = lookup(&c, "fr");
    let old = h(&[("cache-control", "max-age=60"), ("cache-tag", "Tenant-7")]);
    let out = client_headers(&c, lk.route(), &old);
    assert_eq!(out.get("cache-tag"), Some("Tenant-7"));
    assert_eq!(origin_fields(&old).get("cache-tag"), Some("Tenant-7"));
}

#[test]
fn a_revalidation_sees_the_origins_tags_not_the_workers() {
    let c = config(false);
    let lk = lookup(&c, "fr");
    let s = stored(&c, &lk, TAGGED);
    assert_eq!(
        origin_fields(&s).get("cache-tag"),
        Some("Tenant-7,user-42-orders")
    );
    let entry = StoredEntry::parse(&s).expect("parses");
    let start = FetchStart::unrecorded(UnixMillis((AT + 100) * 1000));
    let r = on_not_modified(
        &c,
        &lk,
        &entry,
        &s,
        &h(&[("etag", "\"v1\"")]),
        start,
        UnixSecs(AT + 100),
    );
    let Revalidation::NotModified(d) = r else {
        panic!("expected a 304 update, got {r:?}")
    };
    let again = d.store.expect("stored again").headers;
    let restamped = StoredEntry::parse(&again).expect("parses");
    // The same tags as before: no `ec-…` tag became an origin tag.
    assert_eq!(restamped.stamp.tags(), entry.stamp.tags());
    assert_eq!(again.get("cache-tag"), s.get("cache-tag"));
    assert_eq!(
        again.get(ORIGIN_TAG_HEADER),
        Some("Tenant-7,user-42-orders")
    );
}
