//! `edgecache report`: reading log lines in the forms an operator has them,
//! the numbers per route, the SQL API's rows, the HTML page, and the CLI
//! against a local fake of the Analytics Engine SQL API.

use edgecache::flow::observe::{Outcome, Tier};
use edgecache::report::{html, read_lines, sql, summarize, text};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_edgecache");

fn req(time: u64, route: Option<&str>, outcome: &str, tier: &str, extra: Value) -> String {
    let mut v = json!({
        "edgecache": "request", "v": 1, "time": time, "route": route, "method": "GET",
        "status": 200, "outcome": outcome, "tier": tier, "key": null, "origin_status": null,
        "origin_ms": null, "edge_ms": 1, "bytes": 100, "detail": null
    });
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    v.to_string()
}

fn purge_line(time: u64) -> String {
    json!({"edgecache": "purge", "v": 1, "time": time, "id": "msg_1", "status": 200,
        "tags": ["course:1"], "urls": 0, "prefixes": 0, "everything": false, "bumped": 2,
        "deleted": 1, "zone": "off", "replayed": false})
    .to_string()
}

/// A small day of traffic: route `a` 2 memory hits, 1 cache hit, 1 stale,
/// 2 misses (origin 10 and 30 ms; one key twice... once each); route `b` a
/// bypass; no route: a pass.
fn sample() -> String {
    let t = 1_764_500_000_000u64;
    let miss = |time, key: &str, ms: u64, detail: Value| {
        req(
            time,
            Some("a"),
            "miss",
            "origin",
            json!({"key": key, "origin_status": 200, "origin_ms": ms, "detail": detail}),
        )
    };
    [
        miss(t, "k1", 10, Value::Null),
        req(t + 1, Some("a"), "hit", "memory", json!({})),
        req(
            t + 2,
            Some("a"),
            "hit",
            "memory",
            json!({"detail": "memory"}),
        ),
        req(t + 3, Some("a"), "hit", "cache", json!({"bytes": 50})),
        purge_line(t + 4),
        miss(t + 5, "k1", 30, json!("purged")),
        req(
            t + 6,
            Some("a"),
            "stale",
            "cache",
            json!({"detail": "stale_while_revalidate"}),
        ),
        req(
            t + 7,
            Some("b"),
            "bypass",
            "origin",
            json!({"origin_status": 200, "origin_ms": 5, "detail": "credentials"}),
        ),
        req(
            t + 8,
            None,
            "pass",
            "origin",
            json!({"origin_status": 502, "origin_ms": 7, "status": 502}),
        ),
        r#"{"edgecache":"origin_failed","at":1,"detail":{}}"#.to_string(),
    ]
    .join("\n")
}

#[test]
fn counts_per_route_are_exact() {
    let lines = read_lines(&sample());
    assert_eq!(
        (lines.requests.len(), lines.purges.len(), lines.skipped),
        (8, 1, 1)
    );
    let r = summarize(&lines);
    let names: Vec<&str> = r.routes.iter().map(|r| r.route.as_str()).collect();
    assert_eq!(names, ["a", "b", "-"]);
    let a = &r.routes[0];
    assert_eq!(
        (a.requests, a.hits_memory, a.hits_cache, a.misses, a.stale),
        (6, 2, 1, 2, 1)
    );
    assert_eq!(a.hit_ratio, Some(4.0 / 6.0));
    assert_eq!(a.memory_ratio, Some(2.0 / 6.0));
    assert_eq!(a.cache_ratio, Some(2.0 / 6.0));
    assert_eq!(a.origin_requests, 2);
    assert_eq!(a.origin_offload, Some(4.0 / 6.0));
    let l = a.origin_latency.unwrap();
    assert_eq!((l.p50, l.p95, l.p99), (10, 30, 30));
    // Bytes from the edge: the hits and the stale answer, not the misses.
    assert_eq!(a.edge_bytes, 100 + 100 + 50 + 100);
    let missed: Vec<(&str, &str, u64)> = a
        .top_missed
        .iter()
        .map(|m| (m.key.as_str(), m.reason.as_str(), m.count))
        .collect();
    assert_eq!(missed, [("k1", "no_entry", 1), ("k1", "purged", 1)]);
    assert_eq!(
        (r.routes[1].bypass, r.routes[2].pass, r.routes[2].errors),
        (1, 1, 1)
    );
    assert_eq!(
        (r.all.requests, r.all.errors, r.all.origin_requests),
        (8, 1, 4)
    );
    let out = text::render(&r);
    assert!(
        out.starts_with("edgecache report: 8 requests, 1 purges"),
        "{out}"
    );
    assert!(out.contains("66.7% (33.3% / 33.3%)"), "{out}");
    assert!(out.contains("k1  purged  1"), "{out}");
    assert!(
        out.contains("msg_1  status=200 bumped=2 deleted=1 zone=off  course:1"),
        "{out}"
    );
}

#[test]
fn percentiles_are_nearest_rank() {
    let ms: Vec<u64> = (1..=100).collect();
    let l = edgecache::report::stats::latency(ms).unwrap();
    assert_eq!((l.p50, l.p95, l.p99), (50, 95, 99));
    let l = edgecache::report::stats::latency(vec![7]).unwrap();
    assert_eq!((l.p50, l.p95, l.p99), (7, 7, 7));
    assert!(edgecache::report::stats::latency(vec![]).is_none());
}

#[test]
fn reads_prefixed_lines_and_wrangler_tail_json() {
    let plain = sample();
    let prefixed: String = plain
        .lines()
        .map(|l| format!("[wrangler:info] {l}\u{1b}[0m\n"))
        .chain(["a line of text with no JSON\n".to_string()])
        .collect();
    assert_eq!(read_lines(&prefixed).requests, read_lines(&plain).requests);
    // `wrangler tail --format json`: one pretty-printed object per invocation,
    // the console lines as strings in `logs[].message`.
    let tail: String = plain
        .lines()
        .map(|l| {
            let ev = json!({"outcome": "ok", "scriptName": "edgecache",
                "logs": [{"message": [l], "level": "log", "timestamp": 1}],
                "exceptions": [], "eventTimestamp": 1});
            serde_json::to_string_pretty(&ev).unwrap() + "\n"
        })
        .collect();
    let read = read_lines(&tail);
    assert_eq!(read.requests, read_lines(&plain).requests);
    assert_eq!(read.purges.len(), 1);
}

#[test]
fn lines_of_another_schema_version_are_skipped() {
    let v2 = req(1, Some("a"), "hit", "cache", json!({"v": 2}));
    let read = read_lines(&v2);
    assert_eq!((read.requests.len(), read.skipped), (0, 1));
}

#[test]
fn the_sql_query_names_the_layout_and_refuses_injection() {
    let q = sql::query("edgecache_requests", 6).unwrap();
    assert!(q.contains("FROM edgecache_requests WHERE timestamp > NOW() - INTERVAL '6' HOUR"));
    assert!(q.contains("blob2 AS outcome") && q.contains("double3 AS origin_ms"));
    assert!(sql::query("x; DROP", 1).is_err());
    assert!(sql::endpoint("https://api.example", "abc/../x").is_err());
    assert_eq!(
        sql::endpoint("https://api.example/v4/", "abc123").unwrap(),
        "https://api.example/v4/accounts/abc123/analytics_engine/sql"
    );
}

fn sql_answer() -> String {
    json!({
        "meta": [],
        "data": [
            {"t": "1764500000", "w": 1, "route": "a", "outcome": "hit", "tier": "memory",
             "method": "GET", "detail": "memory", "key": "k1", "status": 200,
             "origin_status": 0, "origin_ms": -1, "edge_ms": 0, "bytes": 10},
            {"t": 1764500001, "w": "3", "route": "a", "outcome": "miss", "tier": "origin",
             "method": "GET", "detail": "", "key": "k2", "status": 200,
             "origin_status": 200, "origin_ms": 12, "edge_ms": 1, "bytes": 10},
            {"t": 1764500002, "w": 1, "route": "", "outcome": "purge", "tier": "",
             "method": "POST", "detail": "course:1 course_list", "key": "msg_9",
             "status": 200, "origin_status": 2, "origin_ms": 0, "edge_ms": 0, "bytes": 0}
        ],
        "rows": 3
    })
    .to_string()
}

#[test]
fn sql_rows_read_as_lines_weighted_by_their_sample_interval() {
    let lines = sql::read_rows(&sql_answer()).unwrap();
    assert_eq!(lines.requests.len(), 4);
    assert_eq!(
        (lines.requests[0].outcome, lines.requests[0].tier),
        (Outcome::Hit, Tier::Memory)
    );
    assert_eq!(lines.requests[0].origin_ms, None);
    assert_eq!(lines.requests[1].origin_ms, Some(12));
    assert_eq!(lines.purges[0].tags, ["course:1", "course_list"]);
    assert_eq!(lines.purges[0].bumped, 2);
    assert!(sql::read_rows("{\"errors\": []}").is_err());
}

#[test]
fn the_html_page_is_self_contained_with_three_charts() {
    let lines = read_lines(&sample());
    let page = html::render(&summarize(&lines), &lines);
    for id in ["hit-ratio", "origin-latency"] {
        assert!(page.contains(&format!("<svg id=\"{id}\"")), "{id}");
    }
    assert_eq!(
        page.matches("class=\"purge\"").count(),
        2,
        "one purge on each chart"
    );
    // Nothing fetched from elsewhere.
    assert!(!page.contains("src=") && !page.contains("<link") && !page.contains("url("));
    // Route names are escaped.
    let evil = req(1, Some("<b>x</b>"), "hit", "cache", json!({}));
    let lines = read_lines(&evil);
    let page = html::render(&summarize(&lines), &lines);
    assert!(!page.contains("<b>x</b>") && page.contains("&lt;b&gt;x&lt;/b&gt;"));
}

/// One HTTP exchange on a local port: records the request, answers `body`.
fn fake_sql_api(body: String) -> (String, std::thread::JoinHandle<(String, String)>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/client/v4", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut head = String::new();
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
            head.push_str(&line);
        }
        let mut sent = vec![0; length];
        reader.read_exact(&mut sent).unwrap();
        let mut out = stream;
        write!(
            out,
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        (head, String::from_utf8(sent).unwrap())
    });
    (url, handle)
}

#[test]
fn cli_reads_the_analytics_engine_sql_api() {
    let (api, server) = fake_sql_api(sql_answer());
    let out = Command::new(BIN)
        .args([
            "report",
            "--json",
            "--account",
            "acc123",
            "--dataset",
            "edgecache",
            "--hours",
            "2",
        ])
        .args(["--api", &api])
        .env("CLOUDFLARE_API_TOKEN", "tok-1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (head, query) = server.join().unwrap();
    assert!(
        head.starts_with("POST /client/v4/accounts/acc123/analytics_engine/sql "),
        "{head}"
    );
    assert!(
        head.to_ascii_lowercase()
            .contains("authorization: bearer tok-1"),
        "{head}"
    );
    assert!(query.contains("FROM edgecache WHERE timestamp > NOW() - INTERVAL '2' HOUR"));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["all"]["requests"], 4);
    assert_eq!(report["all"]["hits_memory"], 1);
    assert_eq!(report["all"]["misses"], 3);
    assert_eq!(report["purges"][0]["id"], "msg_9");
}

#[test]
fn cli_without_a_token_says_which_variable_to_set() {
    let out = Command::new(BIN)
        .args(["report", "--account", "acc", "--dataset", "d"])
        .env_remove("CLOUDFLARE_API_TOKEN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("CLOUDFLARE_API_TOKEN"));
}

#[test]
fn cli_reads_stdin_and_writes_html() {
    let dir = std::env::temp_dir().join(format!("edgecache-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let page = dir.join("r.html");
    let mut child = Command::new(BIN)
        .args(["report", "--html", page.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(sample().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("edgecache report: 8 requests, 1 purges"),
        "{text}"
    );
    assert!(std::fs::read_to_string(&page)
        .unwrap()
        .contains("<svg id=\"hit-ratio\""));
    std::fs::remove_dir_all(&dir).unwrap();
}
