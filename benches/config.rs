//! Native config parse: `Config::from_json_str` on the `EDGECACHE` var of
//! wrangler.toml as JSON text, which is what the Worker does once per isolate
//! on its first request (src/glue/mod.rs, `load_config`).
//!
//! `cargo bench --bench config -- [CONFIG]` prints one JSON line: the median of
//! the rounds, in µs per parse, and the text's size. Reports only.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // bench code: a failure is a panic

use edgecache::config::{wrangler_var_json, Config};
use std::hint::black_box;
use std::time::Instant;

const ROUNDS: usize = 15;
const PER_ROUND: usize = 2_000;

fn main() {
    let path = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with("--"))
        .unwrap_or_else(|| "wrangler.toml".into());
    let toml = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let text = wrangler_var_json(&toml, None)
        .unwrap_or_else(|e| panic!("{e}"))
        .to_string();
    Config::from_json_str(&text).unwrap_or_else(|e| panic!("{e}"));
    let mut rounds: Vec<f64> = (0..ROUNDS)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..PER_ROUND {
                black_box(Config::from_json_str(black_box(&text)).is_ok());
            }
            t.elapsed().as_nanos() as f64 / PER_ROUND as f64 / 1000.0
        })
        .collect();
    rounds.sort_by(f64::total_cmp);
    println!(
        "{{\"parse_us\": {:.2}, \"bytes\": {}, \"rounds\": {ROUNDS}, \"per_round\": {PER_ROUND}}}",
        rounds[ROUNDS / 2],
        text.len()
    );
}
