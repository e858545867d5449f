//! Bucket origins (`config::origins`, `flow::bucket`, `request::object_key`,
//! `request::s3`, `response::bucket`): which object a URL names (fixture
//! `fixtures/object_keys.json`), what reaches a bucket, what its answers mean.

use edgecache::config::{Config, Origin};
use edgecache::flow::bucket::BucketTarget;
use edgecache::flow::fetched::{
    after_fetch, origin_failure, AfterFetch, FetchError, Fetched, StaleFallback,
};
use edgecache::flow::plan::{plan, Incoming, Plan};
use edgecache::http::headers::Headers;
use edgecache::http::method::Method;
use edgecache::http::time::UnixSecs;
use edgecache::request::s3::s3_get;
use edgecache::request::sigv4::Credentials;
use edgecache::response::bucket::{classify, client_visible, error_code, BucketAnswer, Refusal};
use serde_json::{json, Value};

fn config() -> Config {
    Config::from_json(&json!({
        "origin": "http://127.0.0.1:8000",
        "origins": {
            "media": {
                "kind": "s3", "endpoint": "http://127.0.0.1:9000", "region": "us-east-1",
                "bucket": "media-bucket", "prefix": "uploads/", "style": "path", "private": true
            },
            "public_s3": {
                "kind": "s3", "endpoint": "https://s3.eu-west-1.amazonaws.com",
                "region": "eu-west-1", "bucket": "public-bucket"
            },
            "r2": { "kind": "r2", "binding": "MEDIA_BUCKET", "prefix": "r2/" },
            "api2": { "kind": "http", "url": "http://127.0.0.1:8001" }
        },
        "routes": [
            { "name": "media", "path": "/media/*", "kind": "media", "ttl": "1d",
              "origin": "media", "serve_private": true, "query": { "allow": [] } },
            { "name": "public", "path": "/public/*", "kind": "media", "ttl": "1d", "origin": "public_s3" },
            { "name": "r2", "path": "/r2/*", "kind": "media", "ttl": "1d", "origin": "r2", "serve_private": true },
            { "name": "api2", "path": "/v2/:id/", "ttl": "1m", "origin": "api2" },
            { "name": "api", "path": "/api/*", "ttl": "1m" }
        ]
    }))
    .unwrap()
}

fn planned<'c>(c: &'c Config, method: &str, url: &str, headers: &Headers, body: bool) -> Plan<'c> {
    let m = Method::parse(method);
    let inc = Incoming {
        method: &m,
        url,
        headers,
        has_body: body,
        user_secret: None,
    };
    plan(c, &inc)
}

#[test]
fn urls_map_to_object_keys_as_the_fixture_says() {
    let c = config();
    let text = include_str!("../../fixtures/object_keys.json");
    let fixture: Value = serde_json::from_str(text).unwrap();
    let cases = fixture["cases"].as_array().unwrap();
    assert!(cases.len() >= 20);
    let Some(Origin::S3(origin)) = c.origins.get("media") else {
        panic!("no s3 origin")
    };
    let mut failures = Vec::new();
    for case in cases {
        let url = case["url"].as_str().unwrap();
        let got = match planned(&c, "GET", url, &Headers::new(), false) {
            Plan::Lookup(lk) => match &lk.bucket {
                Some(t) => {
                    let get = s3_get(origin, t.key(), &Headers::new(), None, UnixSecs(0));
                    let path = get
                        .url
                        .strip_prefix("http://127.0.0.1:9000")
                        .unwrap()
                        .to_string();
                    json!({ "key": t.key(), "path": path })
                }
                None => json!("lookup without a bucket"),
            },
            Plan::Reject { status, .. } => json!({ "status": status }),
            other => json!(format!("{other:?}")),
        };
        let want = match case.get("status") {
            Some(s) => json!({ "status": s }),
            None => json!({ "key": case["key"], "path": case["path"] }),
        };
        if got != want {
            failures.push(format!("{url}: got {got}, want {want}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn only_get_and_head_reach_a_bucket() {
    let c = config();
    for m in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"] {
        match planned(
            &c,
            m,
            "https://cdn.example.com/media/a.jpg",
            &Headers::new(),
            true,
        ) {
            Plan::Reject { status, allow, .. } => {
                assert_eq!((status, allow), (405, Some("GET, HEAD")), "{m}")
            }
            other => panic!("{m}: {other:?}"),
        }
    }
    for m in ["GET", "HEAD"] {
        assert!(matches!(
            planned(
                &c,
                m,
                "https://cdn.example.com/media/a.jpg",
                &Headers::new(),
                false
            ),
            Plan::Lookup(_)
        ));
    }
}

#[test]
fn a_get_with_a_body_on_a_bucket_route_is_refused_not_passed_to_the_default_origin() {
    let c = config();
    let p = planned(
        &c,
        "GET",
        "https://cdn.example.com/media/a.jpg",
        &Headers::new(),
        true,
    );
    assert!(matches!(p, Plan::Reject { status: 400, .. }), "{p:?}");
}

#[test]
fn a_signed_in_clients_cookie_does_not_bypass_a_bucket_route() {
    let c = config();
    let mut h = Headers::new();
    h.append("cookie", "sessionid=abc");
    h.append("authorization", "Bearer t");
    let Plan::Lookup(lk) = planned(&c, "GET", "https://cdn.example.com/media/a.jpg", &h, false)
    else {
        panic!("not a lookup")
    };
    assert!(lk.bucket.is_some());
    assert!(lk.route().credentials.is_empty());
}

#[test]
fn r2_and_http_named_origins_are_chosen_per_route() {
    let c = config();
    let Plan::Lookup(lk) = planned(
        &c,
        "GET",
        "https://cdn.example.com/r2/v.mp4",
        &Headers::new(),
        false,
    ) else {
        panic!("not a lookup")
    };
    assert!(matches!(&lk.bucket, Some(BucketTarget::R2 { key, .. }) if key == "r2/v.mp4"));
    let Plan::Lookup(lk) = planned(
        &c,
        "GET",
        "https://cdn.example.com/v2/7/",
        &Headers::new(),
        false,
    ) else {
        panic!("not a lookup")
    };
    assert!(lk.bucket.is_none());
    assert_eq!(lk.origin_url, "http://127.0.0.1:8001/v2/7/");
    let p = planned(
        &c,
        "POST",
        "https://cdn.example.com/v2/7/",
        &Headers::new(),
        true,
    );
    let Plan::Pass { origin, .. } = p else {
        panic!("not a pass")
    };
    assert_eq!(origin.as_str(), "http://127.0.0.1:8001/");
    let p = planned(
        &c,
        "POST",
        "https://cdn.example.com/api/x",
        &Headers::new(),
        true,
    );
    let Plan::Pass { origin, .. } = p else {
        panic!("not a pass")
    };
    assert_eq!(origin.as_str(), "http://127.0.0.1:8000/");
}

#[test]
fn a_private_bucket_get_is_signed_and_carries_only_validators() {
    let c = config();
    let Some(Origin::S3(origin)) = c.origins.get("media") else {
        panic!()
    };
    let mut from = Headers::new();
    from.append("if-none-match", "\"abc\"");
    from.append("cookie", "sessionid=abc");
    from.append("range", "bytes=0-1");
    from.append("x-forwarded-host", "cdn.example.com");
    let creds = Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    let get = s3_get(
        origin,
        "uploads/a b.jpg",
        &from,
        Some(&creds),
        UnixSecs(1_440_938_160),
    );
    assert_eq!(
        get.url,
        "http://127.0.0.1:9000/media-bucket/uploads/a%20b.jpg"
    );
    let names: Vec<&str> = get.headers.iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        [
            "if-none-match",
            "x-amz-content-sha256",
            "x-amz-date",
            "authorization"
        ]
    );
    assert_eq!(get.headers.get("x-amz-date"), Some("20150830T123600Z"));
    let auth = get.headers.get("authorization").unwrap();
    assert!(auth.starts_with(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request, \
         SignedHeaders=host;if-none-match;x-amz-content-sha256;x-amz-date, Signature="
    ));
    assert!(!auth.contains("wJalr"));
}

#[test]
fn a_public_bucket_get_is_unsigned_and_virtual_hosted_by_default() {
    let c = config();
    let Some(Origin::S3(origin)) = c.origins.get("public_s3") else {
        panic!()
    };
    let get = s3_get(origin, "k/~x+y.png", &Headers::new(), None, UnixSecs(0));
    assert_eq!(
        get.url,
        "https://public-bucket.s3.eu-west-1.amazonaws.com/k/~x%2By.png"
    );
    assert!(get.headers.is_empty());
}

#[test]
fn bucket_errors_are_classified_by_status_and_code() {
    use BucketAnswer::*;
    let cases: &[(u16, Option<&str>, BucketAnswer)] = &[
        (200, None, Object),
        (304, None, Object),
        (404, Some("NoSuchKey"), NotFound),
        (403, Some("AccessDenied"), NotFound),
        (403, None, NotFound),
        (
            403,
            Some("SignatureDoesNotMatch"),
            Refused(Refusal::Signature),
        ),
        (
            403,
            Some("InvalidAccessKeyId"),
            Refused(Refusal::AccessKeyId),
        ),
        (
            403,
            Some("RequestTimeTooSkewed"),
            Refused(Refusal::ClockSkew),
        ),
        (404, Some("NoSuchBucket"), Refused(Refusal::NoSuchBucket)),
        (
            400,
            Some("AuthorizationHeaderMalformed"),
            Refused(Refusal::BadRequest),
        ),
        (403, Some("AccountProblem"), Refused(Refusal::Other)),
        (503, Some("SlowDown"), Failed),
        (500, None, Failed),
    ];
    for (status, code, want) in cases {
        assert_eq!(classify(*status, *code), *want, "{status} {code:?}");
    }
}

#[test]
fn a_missing_object_is_the_clients_404_and_no_stale_copy_stands_in() {
    let e = FetchError::Bucket(BucketAnswer::NotFound);
    assert_eq!(origin_failure(e).status, 404);
    let after = after_fetch(Fetched::Failed(e), StaleFallback::Available);
    assert!(matches!(after, AfterFetch::Fail(f) if f.status == 404));
    let refused = FetchError::Bucket(BucketAnswer::Refused(Refusal::ClockSkew));
    let f = origin_failure(refused);
    assert_eq!(f.status, 502);
    assert_eq!(f.detail.as_str(), "bucket_clock_skew");
}

#[test]
fn reads_the_code_of_an_s3_error_body() {
    let body =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SignatureDoesNotMatch</Code>\
                <Message>The request signature we calculated does not match</Message>\
                <AWSAccessKeyId>AKID</AWSAccessKeyId><StringToSign>x</StringToSign></Error>";
    assert_eq!(error_code(body), Some("SignatureDoesNotMatch"));
    assert_eq!(error_code("<Error><Code>a b</Code></Error>"), None);
    assert_eq!(error_code("not xml"), None);
}

#[test]
fn bucket_internal_headers_never_reach_a_client() {
    let mut h = Headers::new();
    for (n, v) in [
        ("Content-Type", "image/png"),
        ("ETag", "\"e\""),
        ("x-amz-request-id", "R"),
        ("x-amz-id-2", "I"),
        ("x-amzn-requestid", "R"),
        ("x-amz-meta-owner", "alice"),
        ("x-amz-server-side-encryption", "AES256"),
        ("x-goog-generation", "1"),
        ("x-goog-hash", "crc32c=x"),
        ("X-GUploader-UploadID", "u"),
    ] {
        h.append(n, v);
    }
    let names: Vec<String> = client_visible(&h)
        .iter()
        .map(|(n, _)| n.to_string())
        .collect();
    assert_eq!(names, ["content-type", "etag"]);
}

fn pct_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

mod object_keys {
    use super::pct_decode;
    use edgecache::request::object_key::{object_key, object_path};
    use proptest::prelude::*;

    proptest! {
        /// Whatever the path, a key that is named has no dot segment and no
        /// control character, keeps its prefix, and the path sent for it
        /// is plain (unreserved, `/`, `%XX`) and decodes back to the key.
        #[test]
        fn a_named_key_is_safe_and_round_trips(rest in "([a-zA-Z0-9 ./~+%_-]|%2[eE]|%2[fF]|%00|%C3%A9|é|日){0,24}") {
            if let Ok(key) = object_key("p/", &rest) {
                prop_assert!(key.starts_with("p/"));
                prop_assert!(!key.split('/').any(|s| s == "." || s == ".."));
                prop_assert!(!key.chars().any(|c| c.is_ascii_control()));
                let path = object_path(&key);
                prop_assert!(path.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~/%".contains(&b)));
                prop_assert_eq!(pct_decode(&path), key.as_bytes().to_vec());
            }
        }
    }
}
