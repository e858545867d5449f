//! The `edgecache` binary: `check` and `explain`, exit codes, help.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure is a panic

use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_edgecache");
const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/wrangler.toml");
const BAD: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/bad_configs/bad_duration.toml"
);

fn run(args: &[&str]) -> (i32, String, String) {
    let out: Output = match Command::new(BIN).args(args).output() {
        Ok(o) => o,
        Err(e) => panic!("cannot run {BIN}: {e}"),
    };
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_accepts_the_shipped_config() {
    let (code, out, _) = run(&["check", "--config", FIXTURE]);
    assert_eq!((code, out.trim()), (0, "ok: 4 routes"));
}

#[test]
fn check_reads_a_named_environment() {
    let (code, out, _) = run(&["check", "--config", FIXTURE, "--env", "staging"]);
    assert_eq!((code, out.trim()), (0, "ok: 1 route"));
}

#[test]
fn check_reports_a_bad_config_and_exits_1() {
    let (code, _, err) = run(&["check", "--config", BAD]);
    assert_eq!(code, 1);
    assert!(
        err.contains("route `course-list`: field `ttl`: bad duration \"15x\""),
        "{err}"
    );
}

#[test]
fn check_reports_a_missing_file_and_exits_1() {
    let (code, _, err) = run(&["check", "--config", "/nonexistent/wrangler.toml"]);
    assert_eq!(code, 1);
    assert!(err.contains("cannot read"), "{err}");
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(run(&[]).0, 2);
    assert_eq!(run(&["frobnicate"]).0, 2);
    assert_eq!(run(&["check", "--config"]).0, 2);
    assert_eq!(run(&["explain", "--config", FIXTURE]).0, 2);
}

#[test]
fn help_exits_0_and_lists_commands() {
    let (code, out, _) = run(&["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("check") && out.contains("explain"));
    let (code, out, _) = run(&["explain", "--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("--user-secret"));
}

#[test]
fn explain_prints_key_route_ttl_and_tags() {
    let (code, out, err) = run(&[
        "explain",
        "--config",
        FIXTURE,
        "https://API.example.com/api/courses/?perpage=500&page=1&utm_source=x",
        "-H",
        "Accept-Language: en",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = match serde_json::from_str(&out) {
        Ok(v) => v,
        Err(e) => panic!("{e}: {out}"),
    };
    assert_eq!(
        v,
        serde_json::json!({
            "route": "course-list",
            "key": "https://api.example.com/api/courses/?perpage=10&__edgecache=accept-language.en",
            "ttl_seconds": 900,
            "tags": ["course_list"],
            "cacheable": true,
            "reason": null
        })
    );
}

#[test]
fn explain_gives_a_reason_when_not_cacheable() {
    let (code, out, _) = run(&[
        "explain",
        "--config",
        FIXTURE,
        "-X",
        "POST",
        "https://a.example/api/courses/",
    ]);
    assert_eq!(code, 0);
    assert!(out.contains("\"reason\": \"method\""), "{out}");
}
