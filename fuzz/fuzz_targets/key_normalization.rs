//! Cache keys: an arbitrary request URL and headers against the repo's route set
//! (`tests/fixtures/wrangler.toml`), once with its limits and once with tight ones
//! (so the size limits are reachable with short inputs).
//!
//! Input (UTF-8 text, so seeds are readable): the first line is the URL, every
//! further line a `name: value` header.
//!
//! Invariants:
//! - `cache_key` never panics (nor does `normalize_url_for_purge`);
//! - idempotence: keying `k.url()` again with the same headers gives the identical key;
//! - permuting the order of distinct parameter names never changes the outcome;
//! - `normalize_url_for_purge(k.url())` and `normalize_url_for_purge(url)` both give
//!   `k.base_url()` and `k.route`.
#![no_main]

use std::sync::OnceLock;

use edgecache::config::{load_wrangler_toml, Config, Limits};
use edgecache::http::headers::Headers;
use edgecache::http::method::Method;
use edgecache::request::key::{cache_key, normalize_url_for_purge, KeyOutcome, KeyRequest};
use libfuzzer_sys::fuzz_target;

const SECRET: &[u8] = b"fuzz-user-secret-0123456789";

fn configs() -> &'static [Config; 2] {
    static CONFIGS: OnceLock<[Config; 2]> = OnceLock::new();
    CONFIGS.get_or_init(|| {
        let text = include_str!("../../tests/fixtures/wrangler.toml");
        let base = match load_wrangler_toml(text, None) {
            Ok(c) => c,
            Err(e) => panic!("fixture config invalid: {e}"),
        };
        let mut tight = base.clone();
        tight.limits = Limits {
            max_url_bytes: 160,
            max_query_params: 6,
            max_headers: 6,
            max_header_bytes: 400,
        };
        [base, tight]
    })
}

fn key<'c>(config: &'c Config, url: &str, headers: &Headers) -> Option<KeyOutcome<'c>> {
    let req = KeyRequest {
        method: &Method::Get,
        url,
        headers,
        user_secret: Some(SECRET),
    };
    cache_key(config, &req).ok()
}

/// The query decoding the key module uses for names (form-urlencoded: `+` is a
/// space, bad escapes kept), to group pieces by the name the origin sees.
fn decoded_name(piece: &str) -> Vec<u8> {
    let raw = piece.split_once('=').map_or(piece, |(n, _)| n).as_bytes();
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::new();
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'%' && i + 2 < raw.len() {
            if let (Some(h), Some(l)) = (hex(raw[i + 1]), hex(raw[i + 2])) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(if raw[i] == b'+' { b' ' } else { raw[i] });
        i += 1;
    }
    out
}

/// The query's pieces grouped by decoded name (groups in first-appearance
/// order, pieces in their order inside a group).
fn groups(query: &str) -> Vec<Vec<&str>> {
    let mut groups: Vec<(Vec<u8>, Vec<&str>)> = Vec::new();
    for piece in query.split('&') {
        let name = decoded_name(piece);
        match groups.iter_mut().find(|(n, _)| *n == name) {
            Some((_, g)) => g.push(piece),
            None => groups.push((name, vec![piece])),
        }
    }
    groups.into_iter().map(|(_, g)| g).collect()
}

fn with_query(u: &url::Url, groups: &[Vec<&str>]) -> String {
    let q: Vec<&str> = groups.iter().flatten().copied().collect();
    let mut v = u.clone();
    v.set_query(Some(&q.join("&")));
    v.to_string()
}

fn check(config: &Config, url: &str, headers: &Headers) {
    let outcome = key(config, url, headers);
    let _ = normalize_url_for_purge(config, url);

    // Order of distinct names never matters (the url crate's serialization
    // keeps lengths equal between the two, so limits apply alike).
    if let Ok(u) = url::Url::parse(url) {
        if let Some(q) = u.query() {
            let mut g = groups(q);
            if g.len() > 1 {
                let original = with_query(&u, &g);
                let base = key(config, &original, headers);
                g.reverse();
                let reversed = with_query(&u, &g);
                g.rotate_left(1);
                let rotated = with_query(&u, &g);
                if base.is_some() {
                    assert_eq!(base, key(config, &reversed, headers), "{reversed}");
                    assert_eq!(base, key(config, &rotated, headers), "{rotated}");
                }
            }
        }
    }

    let Some(KeyOutcome::Cache(k)) = outcome else {
        return;
    };
    // Idempotence: the key URL is its own key.
    match key(config, k.url(), headers) {
        Some(KeyOutcome::Cache(k2)) => assert_eq!(k, k2, "re-keying {:?}", k.url()),
        other => panic!("re-keying {:?} gave {other:?}", k.url()),
    }
    // Purge normalization reaches the same base key, from the key or the request.
    for u in [k.url(), url] {
        match normalize_url_for_purge(config, u) {
            Ok((route, base)) => {
                assert_eq!(base, k.base_url(), "purge of {u:?}");
                assert_eq!(route, Some(k.route), "purge route of {u:?}");
            }
            Err(e) => panic!("purge of {u:?}: {e}"),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines = text.split('\n');
    let url = lines.next().unwrap_or("");
    let headers: Headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n, v.strip_prefix(' ').unwrap_or(v)))
        .collect();
    for config in configs() {
        check(config, url, &headers);
    }
});
