//! Native key-normalization throughput: `key::cache_key` against
//! `url::Url::parse` of the same URLs (the floor: every key starts with a parse).
//!
//! `cargo bench --bench keys -- LOG [CONFIG]` (LOG: an access log that
//! `simulate` reads; CONFIG: wrangler.toml). Both are timed in this process,
//! interleaved (the order alternates every round), over the same URLs, and the
//! median round is reported as one JSON line. Reports only; asserts nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure is a panic

use edgecache::config::load_wrangler_toml;
use edgecache::http::headers::Headers;
use edgecache::http::method::Method;
use edgecache::request::key::{cache_key, KeyRequest};
use edgecache::simulate::{parse_log, LogOptions};
use std::hint::black_box;
use std::time::Instant;

const ROUNDS: usize = 15;
const MAX_URLS: usize = 50_000;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let log_path = args
        .first()
        .map_or("target/bench/traffic.log", String::as_str);
    let config_path = args.get(1).map_or("wrangler.toml", String::as_str);
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{p}: {e}"));
    let config = load_wrangler_toml(&read(config_path), None).unwrap_or_else(|e| panic!("{e}"));
    let entries =
        parse_log(&read(log_path), &LogOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let urls: Vec<String> = entries
        .into_iter()
        .filter(|e| !e.authenticated && e.method == Method::Get)
        .map(|e| e.url)
        .take(MAX_URLS)
        .collect();
    let headers = Headers::new();

    let parse = || {
        let t = Instant::now();
        for u in &urls {
            black_box(url::Url::parse(black_box(u)).is_ok());
        }
        t.elapsed().as_nanos() as f64 / urls.len() as f64
    };
    let key = || {
        let t = Instant::now();
        for u in &urls {
            let req = KeyRequest {
                method: &Method::Get,
                url: black_box(u),
                headers: &headers,
                user_secret: None,
            };
            black_box(cache_key(&config, &req).is_ok());
        }
        t.elapsed().as_nanos() as f64 / urls.len() as f64
    };
    // Warm-up (allocator, caches), then interleaved rounds.
    parse();
    key();
    let (mut p, mut k) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        if round % 2 == 0 {
            p.push(parse());
            k.push(key());
        } else {
            k.push(key());
            p.push(parse());
        }
    }
    let (p, k) = (median(p), median(k));
    println!(
        "{{\"urls\":{},\"rounds\":{ROUNDS},\"parse_ns\":{p:.1},\"key_ns\":{k:.1},\"parse_per_s\":{:.0},\"key_per_s\":{:.0},\"ratio\":{:.3}}}",
        urls.len(),
        1e9 / p,
        1e9 / k,
        k / p
    );
}
