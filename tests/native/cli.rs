//! The `edgecache` binary: `check` and `explain`, exit codes, help.

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
            "reason": null,
            "request_headers": {"accept-language": "en"},
            "note": null
        })
    );
}

#[test]
fn explain_says_which_request_headers_it_assumed() {
    let explain = |extra: &[&str]| {
        let mut args = vec![
            "explain",
            "--config",
            concat!(env!("CARGO_MANIFEST_DIR"), "/wrangler.toml"),
            "http://127.0.0.1:8787/api/courses/",
        ];
        args.extend_from_slice(extra);
        let (code, out, err) = run(&args);
        assert_eq!(code, 0, "{err}");
        match serde_json::from_str::<serde_json::Value>(&out) {
            Ok(v) => v,
            Err(e) => panic!("{e}: {out}"),
        }
    };
    let bare = explain(&[]);
    assert_eq!(
        bare["request_headers"],
        serde_json::json!({"accept": null, "accept-language": null})
    );
    let note = bare["note"].as_str().unwrap_or("");
    assert!(note.contains("curl sends `Accept: */*`"), "{note}");
    let curl = explain(&["-H", "Accept: */*"]);
    assert_eq!(curl["request_headers"]["accept"], "*/*");
    assert_ne!(bare["key"], curl["key"], "the Accept header is in the key");
    assert!(!curl["note"].as_str().unwrap_or("").contains("curl"));
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

const HAZARDS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/production/hazards.toml"
);

#[test]
fn check_points_at_the_line_of_a_toml_syntax_error() {
    let f = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/bad_configs/toml_syntax.toml"
    );
    let (code, _, err) = run(&["check", "--config", f]);
    assert_eq!(code, 1);
    let first = err.lines().next().unwrap_or("");
    assert_eq!(
        first,
        format!("error: {f}:4:32: TOML syntax: invalid basic string, expected `\"`")
    );
    assert!(
        err.contains("4 | origin = \"http://127.0.0.1:8000\n"),
        "{err}"
    );
}

#[test]
fn check_production_refuses_hazards_naming_line_and_fix() {
    let (code, out, err) = run(&["check", "--config", HAZARDS, "--production"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.starts_with("ok: 1 route\n"), "{out}");
    assert!(
        err.contains(&format!("error: {HAZARDS}:13:1: field `debug`: true: ")),
        "{err}"
    );
    assert!(err.contains("set debug = false"), "{err}");
    assert!(
        err.trim_end().ends_with("error: 7 production hazards"),
        "{err}"
    );
    assert!(out.contains("EDGECACHE_KEY_SECRET      required"), "{out}");
}

#[test]
fn check_production_warn_reports_and_exits_0() {
    let (code, _, err) = run(&["check", "--config", HAZARDS, "--production", "--warn"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("warning: "), "{err}");
    assert!(
        err.contains("7 production hazards (--warn: not refused)"),
        "{err}"
    );
}

#[test]
fn check_without_production_ignores_hazards() {
    let (code, out, err) = run(&["check", "--config", HAZARDS]);
    assert_eq!((code, out.trim(), err.as_str()), (0, "ok: 1 route", ""));
}

#[test]
fn env_production_implies_the_production_check() {
    let (code, _, err) = run(&["check", "--config", HAZARDS, "--env", "production"]);
    assert_eq!(code, 1);
    assert!(err.contains("no binding `EDGECACHE_KV`"), "{err}");
}

#[test]
fn purge_help_names_the_secret_default() {
    let (code, out, _) = run(&["purge", "--help"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("--secret S       signing secret (default: $EDGECACHE_WEBHOOK_SECRET"),
        "{out}"
    );
}

/// Runs `edgecache purge` against a one-shot endpoint on loopback; returns the
/// exit code and the body the endpoint received.
fn purge_body_sent(extra: &[&str]) -> (i32, String) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!(
        "http://{}/__edgecache/purge",
        listener.local_addr().unwrap()
    );
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = s.read(&mut chunk).unwrap();
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf).to_string();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let len: usize = head
                    .lines()
                    .find_map(|l| {
                        let (n, v) = l.split_once(':')?;
                        n.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse().ok())?
                    })
                    .unwrap_or(0);
                if body.len() >= len || n == 0 {
                    let reply = "{}";
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{reply}",
                        reply.len()
                    );
                    s.write_all(answer.as_bytes()).unwrap();
                    return body.to_string();
                }
            }
        }
    });
    let secret = "whsec_ZWRnZWNhY2hlLXRlc3Qtd2ViaG9vay1zZWNyZXQhIQ==";
    let mut args = vec!["purge", "--endpoint", &endpoint, "--secret", secret];
    args.extend_from_slice(extra);
    let (code, _, _) = run(&args);
    (code, server.join().unwrap())
}

#[test]
fn purge_soft_sends_soft_true() {
    let (code, body) = purge_body_sent(&["--tag", "course_list", "--soft"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["tags"][0], "course_list");
    assert_eq!(v["soft"], true);
}

#[test]
fn purge_is_hard_without_soft() {
    let (code, body) = purge_body_sent(&["--tag", "course_list"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(v.get("soft").is_none(), "{body}");
}
