//! `edgecache sign` and `edgecache purge`: the origin side of the purge webhook,
//! for scripts and CI. Signing uses the same core as the worker's verifier.

use crate::cli::{value, Exit};
use edgecache::http::time::UnixSecs;
use edgecache::purge::signature::{parse_secrets, sign, Secret};
use std::time::{SystemTime, UNIX_EPOCH};

pub const SIGN_HELP: &str = "\
edgecache sign [--secret whsec_...] [--id ID] [--timestamp UNIX] (--body JSON | --body-file FILE)

Prints the Standard Webhooks headers for BODY, one `name: value` per line:
webhook-id, webhook-timestamp, webhook-signature.
    --secret S       signing secret (default: $EDGECACHE_WEBHOOK_SECRET; the first of a
                     space-separated list is used)
    --id ID          webhook-id (default: msg_<time-derived hex>)
    --timestamp T    Unix seconds (default: now)
";

pub const PURGE_HELP: &str = "\
edgecache purge --endpoint URL [--secret whsec_...] [--tag T]... [--url U]...
                [--prefix P]... [--everything] [--soft] [--id ID]

Sends a signed purge webhook to URL (e.g. https://api.example.com/__edgecache/purge)
and prints the receipt. Retries 429/5xx and connection errors up to 3 times with
the same webhook-id (the worker is idempotent per id). Exits 1 unless the worker
answers 2xx.
    --endpoint URL   the worker's purge endpoint (required)
    --secret S       signing secret (default: $EDGECACHE_WEBHOOK_SECRET; the first of a
                     space-separated list is used)
    --tag T          purge entries carrying tag T (repeatable)
    --url U          purge URL U, every spelling and variant of it (repeatable)
    --prefix P       purge every path under P (repeatable)
    --everything     purge everything
    --soft           mark what matches stale instead of removing it: served only
                     inside each route's stale windows while it revalidates
                     (docs/purge.md, Soft purge)
    --id ID          webhook-id (default: msg_<time-derived hex>)
";

fn now() -> UnixSecs {
    UnixSecs(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    )
}

fn default_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("msg_{nanos:x}{:x}", std::process::id())
}

fn secret_from(arg: Option<String>) -> Result<Secret, Exit> {
    let raw = arg
        .or_else(|| std::env::var("EDGECACHE_WEBHOOK_SECRET").ok())
        .ok_or_else(|| Exit::Usage("no --secret and no $EDGECACHE_WEBHOOK_SECRET".into()))?;
    parse_secrets(&raw)
        .map_err(|e| Exit::Failure(format!("bad secret: {e}")))?
        .into_iter()
        .next()
        .ok_or_else(|| Exit::Failure("empty secret".into()))
}

/// Headers for one signed delivery.
fn signed_headers(
    secret: &Secret,
    id: &str,
    ts: UnixSecs,
    body: &[u8],
) -> [(&'static str, String); 3] {
    [
        ("webhook-id", id.to_string()),
        ("webhook-timestamp", ts.to_string()),
        ("webhook-signature", sign(secret, id, ts, body)),
    ]
}

pub fn sign_cmd(args: &[String]) -> Result<(), Exit> {
    let (mut secret, mut id, mut ts, mut body) = (None, None, None, None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--secret" => secret = Some(value(&mut it, a)?),
            "--id" => id = Some(value(&mut it, a)?),
            "--timestamp" => {
                let v = value(&mut it, a)?;
                ts = Some(UnixSecs(v.parse::<u64>().map_err(|_| {
                    Exit::Usage(format!("--timestamp {v:?} is not Unix seconds"))
                })?));
            }
            "--body" => body = Some(value(&mut it, a)?.into_bytes()),
            "--body-file" => {
                let f = value(&mut it, a)?;
                body = Some(
                    std::fs::read(&f)
                        .map_err(|e| Exit::Failure(format!("cannot read {f}: {e}")))?,
                );
            }
            other => return Err(Exit::Usage(format!("unexpected argument {other:?}"))),
        }
    }
    let body = body.ok_or_else(|| Exit::Usage("missing --body or --body-file".into()))?;
    let secret = secret_from(secret)?;
    let id = id.unwrap_or_else(default_id);
    for (n, v) in signed_headers(&secret, &id, ts.unwrap_or_else(now), &body) {
        println!("{n}: {v}");
    }
    Ok(())
}

pub fn purge_cmd(args: &[String]) -> Result<(), Exit> {
    let (mut endpoint, mut secret, mut id) = (None, None, None);
    let (mut tags, mut urls, mut prefixes, mut everything) = (vec![], vec![], vec![], false);
    let mut soft = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--endpoint" => endpoint = Some(value(&mut it, a)?),
            "--secret" => secret = Some(value(&mut it, a)?),
            "--id" => id = Some(value(&mut it, a)?),
            "--tag" => tags.push(value(&mut it, a)?),
            "--url" => urls.push(value(&mut it, a)?),
            "--prefix" => prefixes.push(value(&mut it, a)?),
            "--everything" => everything = true,
            "--soft" => soft = true,
            other => return Err(Exit::Usage(format!("unexpected argument {other:?}"))),
        }
    }
    let endpoint = endpoint.ok_or_else(|| Exit::Usage("missing --endpoint".into()))?;
    if tags.is_empty() && urls.is_empty() && prefixes.is_empty() && !everything {
        return Err(Exit::Usage(
            "nothing to purge: give --tag, --url, --prefix or --everything".into(),
        ));
    }
    let secret = secret_from(secret)?;
    let mut body = serde_json::Map::new();
    for (k, v) in [("tags", tags), ("urls", urls), ("prefixes", prefixes)] {
        if !v.is_empty() {
            body.insert(k.into(), v.into());
        }
    }
    if everything {
        body.insert("everything".into(), true.into());
    }
    if soft {
        body.insert("soft".into(), true.into());
    }
    let body = serde_json::Value::Object(body).to_string().into_bytes();
    let id = id.unwrap_or_else(default_id);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(30)))
        .build()
        .into();
    let delays = [0u64, 500, 1000, 2000];
    let mut last = String::new();
    for (attempt, delay) in delays.iter().enumerate() {
        std::thread::sleep(std::time::Duration::from_millis(*delay));
        let mut req = agent
            .post(&endpoint)
            .header("content-type", "application/json");
        // Re-signed each attempt (fresh timestamp), same id: the worker dedupes by id.
        for (n, v) in signed_headers(&secret, &id, now(), &body) {
            req = req.header(n, &v);
        }
        match req.send(&body[..]) {
            Ok(mut resp) => {
                let status = resp.status().as_u16();
                let text = resp.body_mut().read_to_string().unwrap_or_default();
                if (200..300).contains(&status) {
                    println!("{text}");
                    return Ok(());
                }
                last = format!("HTTP {status}: {}", text.trim());
                if status != 429 && status < 500 {
                    break;
                }
            }
            Err(e) => last = format!("attempt {}: {e}", attempt + 1),
        }
    }
    Err(Exit::Failure(format!("purge {id} failed: {last}")))
}
