//! Purge webhook body: arbitrary bytes.
//!
//! Invariants:
//! - `parse_purge_body` never panics, and every error displays with a 400/413 status;
//! - an accepted body respects the documented limits (counts, lengths, characters),
//!   is deduplicated, and is not empty;
//! - every accepted prefix is a name some request checks: its path is canonical (as
//!   the key module spells request paths) and is the last entry of its own
//!   `prefix_paths`;
//! - round trip: the accepted request, written back as a body, parses to itself.
#![no_main]

use std::collections::HashSet;

use edgecache::purge::body::{
    check_tag, parse_purge_body, PurgeRequest, MAX_BODY_BYTES, MAX_ITEMS, MAX_PREFIXES,
    MAX_PREFIX_DEPTH, MAX_TAGS, MAX_URLS, MAX_URL_BYTES,
};
use edgecache::purge::generations::prefix_paths;
use edgecache::request::key::canonical_path;
use libfuzzer_sys::fuzz_target;

fn distinct<T: std::hash::Hash + Eq>(items: impl IntoIterator<Item = T>) -> bool {
    let mut seen = HashSet::new();
    items.into_iter().all(|i| seen.insert(i))
}

fn check_limits(data: &[u8], req: &PurgeRequest) {
    assert!(data.len() <= MAX_BODY_BYTES);
    assert!(
        req.everything || !req.tags.is_empty() || !req.urls.is_empty() || !req.prefixes.is_empty()
    );
    assert!(req.tags.len() <= MAX_TAGS);
    assert!(req.urls.len() <= MAX_URLS);
    assert!(req.prefixes.len() <= MAX_PREFIXES);
    assert!(req.tags.len() + req.urls.len() + req.prefixes.len() <= MAX_ITEMS);
    assert!(distinct(&req.tags) && distinct(&req.urls));
    assert!(distinct(req.prefixes.iter().map(|p| (&p.host, &p.path))));
    for t in &req.tags {
        assert_eq!(check_tag(t), Ok(()), "{t:?}");
        assert!(!t.is_empty() && t.len() <= 1024);
        assert!(t.bytes().all(|b| (b'!'..=b'~').contains(&b) && b != b','));
    }
    for u in &req.urls {
        assert!(u.len() <= MAX_URL_BYTES);
        let parsed = match url::Url::parse(u) {
            Ok(p) => p,
            Err(e) => panic!("accepted URL {u:?}: {e}"),
        };
        assert!(matches!(parsed.scheme(), "http" | "https"));
        assert!(parsed.host_str().is_some_and(|h| !h.is_empty()));
        assert!(parsed.fragment().is_none());
    }
    for p in &req.prefixes {
        assert!(p.raw.len() <= MAX_URL_BYTES);
        let path = &p.path;
        assert!(path.starts_with('/'), "{p:?}");
        assert!(path == "/" || !path.ends_with('/'), "{p:?}");
        assert!(!path.contains(['?', '#']), "{p:?}");
        if path != "/" {
            let segs: Vec<&str> = path[1..].split('/').collect();
            assert!(segs.len() <= MAX_PREFIX_DEPTH, "{p:?}");
            assert!(segs.iter().all(|s| !matches!(*s, "" | "." | "..")), "{p:?}");
        }
        if let Some(h) = &p.host {
            assert!(!h.is_empty() && *h == h.to_ascii_lowercase(), "{p:?}");
        }
        assert_eq!(
            canonical_path(path).as_deref(),
            Some(path.as_str()),
            "{p:?}"
        );
        assert_eq!(prefix_paths(path).last(), Some(path), "{p:?}");
        // A `/path` prefix is spelled as a request for that path is keyed.
        if p.host.is_none() {
            let request = format!("https://h.example{}", p.raw);
            let keyed = url::Url::parse(&request)
                .ok()
                .and_then(|u| canonical_path(u.path()));
            let keyed = keyed.as_deref().map(|k| match k.trim_end_matches('/') {
                "" => "/",
                t => t,
            });
            assert_eq!(keyed, Some(path.as_str()), "{p:?}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let req = match parse_purge_body(data) {
        Err(e) => {
            assert!(matches!(e.status(), 400 | 413));
            assert!(!e.to_string().is_empty());
            return;
        }
        Ok(req) => req,
    };
    check_limits(data, &req);
    let body = serde_json::json!({
        "tags": req.tags,
        "urls": req.urls,
        "prefixes": req.prefixes.iter().map(|p| p.raw.clone()).collect::<Vec<_>>(),
        "everything": req.everything,
    });
    let again = parse_purge_body(body.to_string().as_bytes());
    assert_eq!(again.as_ref(), Ok(&req), "round trip of {body}");
});
