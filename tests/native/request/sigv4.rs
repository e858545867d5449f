//! `request::sigv4` against AWS's published Signature Version 4 test suite
//! (`tests/fixtures/sigv4/`) and botocore's S3 signer on generated requests
//! (`tests/fixtures/sigv4_botocore.json`, made by
//! `tests/scripts/sigv4_botocore.py`).

use edgecache::http::time::UnixSecs;
use edgecache::request::sigv4::{sign, uri_encode, Credentials, Scope, SignInput};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::Path;

/// Cases of the suite that do not apply to S3's flavour of SigV4, with why.
const NOT_S3: &[(&str, &str)] = &[
    (
        "get-relative-normalized",
        "S3 never normalizes a path (dot segments are refused before signing)",
    ),
    ("get-relative-relative-normalized", "as above"),
    ("get-slash-dot-slash-normalized", "as above"),
    ("get-slash-pointless-dot-normalized", "as above"),
    ("get-slash-normalized", "as above"),
    ("get-slashes-normalized", "as above"),
    (
        "get-relative-unnormalized",
        "a non-S3 service encodes an unnormalized path twice",
    ),
    ("get-relative-relative-unnormalized", "as above"),
    ("get-slash-dot-slash-unnormalized", "as above"),
    ("get-slash-pointless-dot-unnormalized", "as above"),
    ("get-slash-unnormalized", "as above"),
    ("get-slashes-unnormalized", "as above"),
    (
        "get-vanilla-with-session-token",
        "temporary credentials (a session token) are not supported",
    ),
    ("post-sts-header-after", "as above"),
    ("post-sts-header-before", "as above"),
];

fn pct_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

struct Parsed {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: String,
}

/// `request.txt`: request line, `Name:value` lines (a line starting with
/// white space continues the previous value), a blank line, the body.
fn parse_request(text: &str) -> Parsed {
    let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
    let mut lines = head.lines();
    let request_line = lines.next().unwrap();
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap().to_string();
    let rest: Vec<&str> = parts.collect();
    let target = rest[..rest.len() - 1].join(" ");
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let query = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (pct_decode(k), pct_decode(v))
        })
        .collect();
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            let last = headers.last_mut().unwrap();
            last.1.push(' ');
            last.1.push_str(line.trim());
        } else {
            let (n, v) = line.split_once(':').unwrap();
            headers.push((n.to_string(), v.to_string()));
        }
    }
    Parsed {
        method,
        path: uri_encode(&pct_decode(path), true),
        query,
        headers,
        body: body.to_string(),
    }
}

fn unix(rfc3339: &str) -> UnixSecs {
    // "2015-08-30T12:36:00Z"
    let n = |a: usize, b: usize| rfc3339[a..b].parse::<u64>().unwrap();
    let days = days_from_civil(n(0, 4), n(5, 7), n(8, 10));
    UnixSecs(days * 86_400 + n(11, 13) * 3600 + n(14, 16) * 60 + n(17, 19))
}

fn days_from_civil(y: u64, m: u64, d: u64) -> u64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
}

fn read(dir: &Path, f: &str) -> String {
    std::fs::read_to_string(dir.join(f)).unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
}

#[test]
fn matches_the_aws_sigv4_test_suite() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sigv4");
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let mut ran = 0;
    for dir in &dirs {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        if NOT_S3.iter().any(|(n, _)| *n == name) {
            continue;
        }
        let ctx: Value = serde_json::from_str(&read(dir, "context.json")).unwrap();
        let req = parse_request(&read(dir, "request.txt"));
        let at = unix(ctx["timestamp"].as_str().unwrap());
        let amz_date = edgecache::http::date::format_iso8601_basic(at);
        let payload = hex(&Sha256::digest(req.body.as_bytes()));
        let mut headers = req.headers.clone();
        headers.push(("X-Amz-Date".into(), amz_date));
        if ctx["sign_body"].as_bool() == Some(true) {
            headers.push(("x-amz-content-sha256".into(), payload.clone()));
        }
        let hv: Vec<(&str, &str)> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let creds = Credentials::new(
            ctx["credentials"]["access_key_id"].as_str().unwrap(),
            ctx["credentials"]["secret_access_key"].as_str().unwrap(),
        );
        let scope = Scope {
            region: ctx["region"].as_str().unwrap(),
            service: ctx["service"].as_str().unwrap(),
        };
        let input = SignInput {
            method: &req.method,
            path: &req.path,
            query: &req.query,
            headers: &hv,
            payload_sha256: &payload,
        };
        let signed = sign(&input, &creds, scope, at);
        assert_eq!(
            signed.canonical_request,
            read(dir, "header-canonical-request.txt"),
            "{name}: canonical request"
        );
        assert_eq!(
            signed.string_to_sign,
            read(dir, "header-string-to-sign.txt"),
            "{name}: string to sign"
        );
        let expected = read(dir, "header-signed-request.txt");
        let authz = expected
            .lines()
            .find_map(|l| l.strip_prefix("Authorization:"))
            .unwrap();
        assert_eq!(signed.authorization, authz, "{name}: Authorization");
        ran += 1;
    }
    assert_eq!(
        ran + NOT_S3.len(),
        dirs.len(),
        "every case ran or is listed"
    );
    assert!(ran >= 20, "only {ran} cases ran");
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The same S3 GetObject as botocore's S3 client builds and signs
/// (`tests/scripts/sigv4_botocore.py`: keys with spaces, `+`, `~`,
/// sub-delimiters, UTF-8, up to 12 levels deep; path and virtual-host style;
/// with and without `If-None-Match`): the URL and `Authorization` agree.
#[test]
fn matches_botocore_on_generated_s3_requests() {
    use edgecache::config::{Config, Origin};
    use edgecache::http::headers::Headers;
    use edgecache::request::s3::s3_get;
    let text = include_str!("../../fixtures/sigv4_botocore.json");
    let fixture: Value = serde_json::from_str(text).unwrap();
    let cases = fixture["cases"].as_array().unwrap();
    assert!(cases.len() >= 300);
    let mut failures = Vec::new();
    for c in cases {
        let s = |k: &str| c[k].as_str().unwrap().to_string();
        let config = Config::from_json(&serde_json::json!({
            "origin": "http://127.0.0.1:8000",
            "origins": { "b": {
                "kind": "s3", "endpoint": s("endpoint"), "region": s("region"),
                "bucket": s("bucket"), "style": s("style"), "private": true
            } }
        }))
        .unwrap();
        let Some(Origin::S3(origin)) = config.origins.get("b") else {
            panic!()
        };
        let mut validators = Headers::new();
        if let Some(etag) = c["if_none_match"].as_str() {
            validators.append("if-none-match", etag);
        }
        let creds = Credentials::new(&s("access_key_id"), &s("secret_access_key"));
        let at = UnixSecs(c["at"].as_u64().unwrap());
        let get = s3_get(origin, &s("key"), &validators, Some(&creds), at);
        let auth = get.headers.get("authorization").unwrap_or_default();
        if get.url != s("url") || auth != s("authorization") {
            failures.push(format!(
                "key {:?}: url {} vs {}; {auth} vs {}",
                s("key"),
                get.url,
                s("url"),
                s("authorization")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
