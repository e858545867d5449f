//! Prefix purges name hosts the way keys spell them (host plus a non-default port).
use edgecache::config::Config;
use edgecache::flow::{plan, Incoming, Plan};
use edgecache::http::headers::Headers;
use edgecache::http::method::Method;
use edgecache::http::time::UnixMillis;
use edgecache::purge::body::parse_purge_body;
use edgecache::purge::generations::{purge_names, Stamp};

fn config() -> Config {
    Config::from_json_str(
        r#"{"origin":"http://127.0.0.1:8000","routes":[{"name":"api","path":"/api/*","ttl":"1m"}]}"#,
    )
    .unwrap()
}

/// The generation names a request's stored entry checks.
fn request_names(url: &str) -> Vec<String> {
    let cfg = config();
    let headers = Headers::new();
    let inc = Incoming {
        method: &Method::Get,
        url,
        headers: &headers,
        has_body: false,
        user_secret: None,
    };
    let Plan::Lookup(lk) = plan(&cfg, &inc) else {
        panic!("{url} is not cacheable")
    };
    let stamp = Stamp::new(UnixMillis(0), &[]).unwrap();
    lk.names(&stamp)
        .iter()
        .map(|n| n.as_str().to_string())
        .collect()
}

fn prefix_names(prefix: &str, default_host: &str) -> Vec<String> {
    let body = format!(r#"{{"prefixes":["{prefix}"]}}"#);
    let req = parse_purge_body(body.as_bytes()).unwrap();
    purge_names(&req, &[], default_host)
        .iter()
        .map(|n| n.as_str().to_string())
        .collect()
}

#[test]
fn a_prefix_url_with_a_port_reaches_requests_on_that_port() {
    let names = request_names("https://api.example.com:8443/api/courses/1/");
    for p in prefix_names("https://API.example.com:8443/api/courses", "ignored") {
        assert!(names.contains(&p), "{p} not in {names:?}");
    }
}

#[test]
fn a_prefix_url_on_a_default_port_reaches_requests_without_one() {
    let names = request_names("https://api.example.com/api/courses/1/");
    for p in prefix_names("http://api.example.com:80/api/courses", "ignored") {
        assert!(names.contains(&p), "{p} not in {names:?}");
    }
}

#[test]
fn a_path_prefix_applies_to_the_receiving_host_spelled_with_its_port() {
    let names = request_names("http://127.0.0.1:8787/api/courses/1/");
    for p in prefix_names("/api/courses", "127.0.0.1:8787") {
        assert!(names.contains(&p), "{p} not in {names:?}");
    }
}

#[test]
fn a_prefix_on_another_port_does_not_reach() {
    let names = request_names("https://api.example.com:8443/api/courses/1/");
    for p in prefix_names("https://api.example.com:9443/api/courses", "ignored") {
        assert!(!names.contains(&p), "{p} unexpectedly in {names:?}");
    }
}
