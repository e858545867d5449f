//! `edgecache report`: reads the worker's log lines (files, stdin, `wrangler
//! tail --format json`) or the Analytics Engine SQL API and prints what the
//! cache did (`edgecache::report`).

use crate::cli::{value, Exit};
use edgecache::report::{html, read_lines, sql, summarize, text, Lines};
use std::io::Read;

pub const REPORT_HELP: &str = "\
edgecache report [--json] [--html FILE] [LOG...]
edgecache report --account ID --dataset NAME [--hours N] [--api URL] [--json] [--html FILE]

Prints, per route: requests; hits (memory / cache), misses, stale served,
bypassed and passed requests, 5xx; the hit ratio and its memory and cache parts;
the origin offload (requests the origin did not see); the origin's latency
p50/p95/p99; bytes served from the edge; the keys that missed most and why;
and the purges. Schema and examples: docs/observability.md.

LOG is a file of the worker's JSON log lines (`make dev` writes one), or
`wrangler tail --format json` output; `-` or no LOG reads stdin:
    npx wrangler tail --format json | edgecache report

    --json            print the numbers as JSON
    --html FILE       also write a self-contained page with SVG charts: hit
                      ratio per route over time, origin latency, purges
    --account ID      read the Analytics Engine dataset through the SQL API
                      instead (token: $CLOUDFLARE_API_TOKEN, with the Account
                      Analytics Read permission)
    --dataset NAME    the dataset of the EDGECACHE_ANALYTICS binding
    --hours N         how far back to read (default 24)
    --api URL         API base (default https://api.cloudflare.com/client/v4)
";

const DEFAULT_API: &str = "https://api.cloudflare.com/client/v4";

#[derive(Default)]
struct Options {
    json: bool,
    html: Option<String>,
    logs: Vec<String>,
    account: Option<String>,
    dataset: Option<String>,
    hours: Option<u64>,
    api: Option<String>,
}

fn options(args: &[String]) -> Result<Options, Exit> {
    let mut o = Options::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--json" => o.json = true,
            "--html" => o.html = Some(value(&mut it, a)?),
            "--account" => o.account = Some(value(&mut it, a)?),
            "--dataset" => o.dataset = Some(value(&mut it, a)?),
            "--api" => o.api = Some(value(&mut it, a)?),
            "--hours" => {
                let v = value(&mut it, a)?;
                let n = v
                    .parse::<u64>()
                    .ok()
                    .filter(|n| (1..=2160).contains(n))
                    .ok_or_else(|| Exit::Usage(format!("--hours: {v:?}: 1 to 2160")))?;
                o.hours = Some(n);
            }
            "-" => o.logs.push(a.clone()),
            s if s.starts_with('-') => return Err(Exit::Usage(format!("unknown option {s:?}"))),
            _ => o.logs.push(a.clone()),
        }
    }
    Ok(o)
}

fn read_logs(paths: &[String]) -> Result<Lines, Exit> {
    let mut text = String::new();
    if paths.is_empty() || paths.iter().any(|p| p == "-") {
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| Exit::Failure(format!("cannot read stdin: {e}")))?;
        text.push('\n');
    }
    for p in paths.iter().filter(|p| *p != "-") {
        let t = std::fs::read_to_string(p)
            .map_err(|e| Exit::Failure(format!("cannot read {p}: {e}")))?;
        text.push_str(&t);
        text.push('\n');
    }
    Ok(read_lines(&text))
}

/// The dataset's rows through the SQL API.
fn read_sql(o: &Options, account: &str) -> Result<Lines, Exit> {
    let dataset = o
        .dataset
        .as_deref()
        .ok_or_else(|| Exit::Usage("--account needs --dataset".into()))?;
    let token = std::env::var("CLOUDFLARE_API_TOKEN")
        .ok()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Exit::Failure("set CLOUDFLARE_API_TOKEN to read the SQL API".into()))?;
    let fail = |e: sql::SqlError| Exit::Failure(e.to_string());
    let url = sql::endpoint(o.api.as_deref().unwrap_or(DEFAULT_API), account).map_err(fail)?;
    let query = sql::query(dataset, o.hours.unwrap_or(24)).map_err(fail)?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(60)))
        .build()
        .into();
    let mut resp = agent
        .post(&url)
        .header("authorization", &format!("Bearer {token}"))
        .send(query.as_bytes())
        .map_err(|e| Exit::Failure(format!("{url}: {e}")))?;
    let status = resp.status().as_u16();
    let body = resp
        .body_mut()
        .with_config()
        .limit(256 * 1024 * 1024)
        .read_to_string()
        .map_err(|e| Exit::Failure(format!("{url}: {e}")))?;
    if !(200..300).contains(&status) {
        let head: String = body.chars().take(300).collect();
        return Err(Exit::Failure(format!("{url}: HTTP {status}: {head}")));
    }
    sql::read_rows(&body).map_err(fail)
}

pub fn report_cmd(args: &[String]) -> Result<(), Exit> {
    let o = options(args)?;
    let lines = match &o.account {
        Some(account) => {
            if !o.logs.is_empty() {
                return Err(Exit::Usage("LOG and --account exclude each other".into()));
            }
            read_sql(&o, account)?
        }
        None => read_logs(&o.logs)?,
    };
    if lines.requests.is_empty() && lines.purges.is_empty() {
        eprintln!(
            "edgecache report: no edgecache log lines found ({} other entries skipped)",
            lines.skipped
        );
    }
    let report = summarize(&lines);
    if let Some(path) = &o.html {
        std::fs::write(path, html::render(&report, &lines))
            .map_err(|e| Exit::Failure(format!("cannot write {path}: {e}")))?;
    }
    if o.json {
        let out =
            serde_json::to_string_pretty(&report).map_err(|e| Exit::Failure(e.to_string()))?;
        println!("{out}");
    } else {
        print!("{}", text::render(&report));
    }
    Ok(())
}
