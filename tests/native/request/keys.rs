//! Cache key behaviour: table-driven cases in `fixtures/keys.json`, plus
//! properties (idempotence, order independence) and purge normalization.

use edgecache::config::{load_wrangler_toml, Config};
use edgecache::http::headers::Headers;
use edgecache::http::method::Method;
use edgecache::request::explain::explain;
use edgecache::request::key::{cache_key, normalize_url_for_purge, KeyOutcome, KeyRequest};
use edgecache::request::variant::origin_headers;
use proptest::prelude::*;
use serde::Deserialize;

fn config() -> Config {
    let text = include_str!("../../fixtures/wrangler.toml");
    match load_wrangler_toml(text, None) {
        Ok(c) => c,
        Err(e) => panic!("fixture config invalid: {e}"),
    }
}

#[derive(Deserialize)]
struct Case {
    name: String,
    url: String,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    headers: Vec<(String, String)>,
    #[serde(default)]
    user_secret: Option<String>,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    tags: Option<Vec<String>>,
}

fn key_of(
    config: &Config,
    method: &Method,
    url: &str,
    headers: &Headers,
    secret: Option<&[u8]>,
) -> Option<String> {
    let req = KeyRequest {
        method,
        url,
        headers,
        user_secret: secret,
    };
    match cache_key(config, &req) {
        Ok(KeyOutcome::Cache(k)) => Some(k.into_url()),
        _ => None,
    }
}

#[test]
fn fixture_cases_give_expected_keys_and_reasons() {
    let config = config();
    let cases: Vec<Case> = match serde_json::from_str(include_str!("../../fixtures/keys.json")) {
        Ok(c) => c,
        Err(e) => panic!("keys.json: {e}"),
    };
    let mut failures = Vec::new();
    for case in &cases {
        let headers: Headers = case.headers.iter().cloned().collect();
        // Parsed as the worker parses it: `get` is an unknown method.
        let method = Method::parse(case.method.as_deref().unwrap_or("GET"));
        let req = KeyRequest {
            method: &method,
            url: &case.url,
            headers: &headers,
            user_secret: case.user_secret.as_deref().map(str::as_bytes),
        };
        let e = explain(&config, &req);
        if e.key != case.key || e.reason != case.reason {
            failures.push(format!(
                "{}: expected key={:?} reason={:?}, got key={:?} reason={:?}",
                case.name, case.key, case.reason, e.key, e.reason
            ));
        }
        if let Some(tags) = &case.tags {
            if &e.tags != tags {
                failures.push(format!(
                    "{}: expected tags {tags:?}, got {:?}",
                    case.name, e.tags
                ));
            }
        }
        if let Ok(KeyOutcome::Cache(k)) = cache_key(&config, &req) {
            let (host, path) = reparsed_host_and_path(k.base_url());
            if (k.host(), k.path()) != (host.as_str(), path.as_str()) {
                failures.push(format!(
                    "{}: host/path {:?} {:?}, parsing the key gives {host:?} {path:?}",
                    case.name,
                    k.host(),
                    k.path()
                ));
            }
        }
        // Every key is a fixed point: keying it again gives it back.
        if let Some(k) = &e.key {
            let again = key_of(&config, &Method::Get, k, &headers, req.user_secret);
            if again.as_ref() != Some(k) {
                failures.push(format!("{}: not idempotent: {k} -> {again:?}", case.name));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing cases:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn distinct_users_get_distinct_keys() {
    let config = config();
    let url = "https://api.example.com/api/me/";
    let secret = Some(b"s3cret".as_slice());
    let alice: Headers = [("cookie", "sessionid=alice")].into_iter().collect();
    let bob: Headers = [("cookie", "sessionid=bob")].into_iter().collect();
    let anon = Headers::new();
    let ka = key_of(&config, &Method::Get, url, &alice, secret);
    let kb = key_of(&config, &Method::Get, url, &bob, secret);
    let kn = key_of(&config, &Method::Get, url, &anon, secret);
    assert!(ka.is_some() && kb.is_some() && kn.is_some());
    assert_ne!(ka, kb);
    assert_ne!(ka, kn);
    assert_ne!(kb, kn);
}

#[test]
fn user_ids_depend_on_the_secret() {
    let config = config();
    let url = "https://api.example.com/api/me/";
    let h: Headers = [("authorization", "Token abc")].into_iter().collect();
    assert_ne!(
        key_of(&config, &Method::Get, url, &h, Some(b"one")),
        key_of(&config, &Method::Get, url, &h, Some(b"two"))
    );
}

#[test]
fn every_credential_present_shapes_the_user_id() {
    let config = config();
    let url = "https://api.example.com/api/me/";
    let s = Some(b"s".as_slice());
    let auth_only: Headers = [("authorization", "Token abc")].into_iter().collect();
    let both: Headers = [("authorization", "Token abc"), ("cookie", "sessionid=x")]
        .into_iter()
        .collect();
    assert_ne!(
        key_of(&config, &Method::Get, url, &auth_only, s),
        key_of(&config, &Method::Get, url, &both, s)
    );
}

#[test]
fn variants_of_a_url_share_the_base_url() {
    let config = config();
    let url = "https://api.example.com/api/courses/?level=Beginner";
    let en: Headers = [("accept-language", "en")].into_iter().collect();
    let fr: Headers = [("accept-language", "fr")].into_iter().collect();
    let get = |h: &Headers| {
        let req = KeyRequest {
            method: &Method::Get,
            url,
            headers: h,
            user_secret: None,
        };
        match cache_key(&config, &req) {
            Ok(KeyOutcome::Cache(k)) => (
                k.url().to_string(),
                k.base_url().to_string(),
                k.origin_path_and_query().to_string(),
            ),
            other => panic!("{other:?}"),
        }
    };
    let (u1, b1, o1) = get(&en);
    let (u2, b2, _) = get(&fr);
    assert_ne!(u1, u2);
    assert_eq!(b1, b2);
    assert_eq!(b1, "https://api.example.com/api/courses/?level=beginner");
    assert_eq!(o1, "/api/courses/?level=beginner");
}

#[test]
fn origin_gets_only_keyed_headers_and_route_credentials() {
    let config = config();
    let h: Headers = [
        ("accept-language", " EN "),
        ("accept", "text/html"),
        ("x-forwarded-host", "evil.example"),
        ("cookie", "csrftoken=t; sessionid=abc"),
    ]
    .into_iter()
    .collect();
    let list = &config.routes[0];
    let sent = origin_headers(list, &h);
    assert_eq!(
        sent.iter().collect::<Vec<_>>(),
        vec![("accept-language", "en")]
    );
    let me = &config.routes[2];
    let sent = origin_headers(me, &h);
    assert_eq!(
        sent.iter().collect::<Vec<_>>(),
        vec![("cookie", "sessionid=abc")]
    );
}

#[test]
fn purge_normalization_matches_request_base_url() {
    let config = config();
    let h = Headers::new();
    let req = KeyRequest {
        method: &Method::Get,
        url: "https://api.example.com/api/courses/?perpage=10&level=beginner",
        headers: &h,
        user_secret: None,
    };
    let Ok(KeyOutcome::Cache(k)) = cache_key(&config, &req) else {
        panic!("not cacheable")
    };
    for spelling in [
        "http://API.EXAMPLE.com/api/courses/?level=Beginner&perpage=500&page=1&utm_source=x",
        "https://api.example.com:443/api/x/../courses/?perpage=%31%30&level=BEGINNER#top",
        k.url(),
    ] {
        match normalize_url_for_purge(&config, spelling) {
            Ok((route, base)) => {
                assert_eq!(base, k.base_url(), "{spelling}");
                assert_eq!(route.map(|r| r.name.as_str()), Some("course-list"));
            }
            Err(e) => panic!("{spelling}: {e}"),
        }
    }
}

#[test]
fn purge_normalization_outside_routes_drops_only_tracking() {
    let config = config();
    let r = normalize_url_for_purge(&config, "https://API.example.com/other?b=1&a=2&utm_x=1");
    assert_eq!(
        r.map(|(route, b)| (route.is_none(), b)),
        Ok((true, "https://api.example.com/other?a=2&b=1".into()))
    );
}

#[test]
fn oversized_requests_bypass() {
    let config = config();
    let long = format!(
        "https://api.example.com/api/courses/42/?q={}",
        "a".repeat(9000)
    );
    let h = Headers::new();
    let e = explain(
        &config,
        &KeyRequest {
            method: &Method::Get,
            url: &long,
            headers: &h,
            user_secret: None,
        },
    );
    assert_eq!(e.reason.as_deref(), Some("url_too_long"));
    let many: String = (0..101)
        .map(|i| format!("p{i}=1"))
        .collect::<Vec<_>>()
        .join("&");
    let url = format!("https://api.example.com/api/courses/42/?{many}");
    let e = explain(
        &config,
        &KeyRequest {
            method: &Method::Get,
            url: &url,
            headers: &h,
            user_secret: None,
        },
    );
    assert_eq!(e.reason.as_deref(), Some("too_many_params"));
}

fn param_strategy() -> impl Strategy<Value = (String, String)> {
    // Names and values from a hostile alphabet: escapes, separators, case, non-ASCII.
    let atom = prop_oneof![
        "[a-zA-Z0-9]{1,3}",
        Just("%".to_string()),
        Just("%2b".to_string()),
        Just("%41".to_string()),
        Just("%FF".to_string()),
        Just("+".to_string()),
        Just(";".to_string()),
        Just("%26".to_string()),
        Just("%3D".to_string()),
        Just("é".to_string()),
        Just("~".to_string()),
        Just("utm_".to_string()),
        Just("__edgecache".to_string()),
    ];
    let text = prop::collection::vec(atom, 0..4).prop_map(|v| v.concat());
    (text.clone(), text)
}

/// Host and path of a key URL by parsing it again (what `flow` did before it
/// took them from the key's ranges).
fn reparsed_host_and_path(base_url: &str) -> (String, String) {
    let u = url::Url::parse(base_url).expect("a key is a URL");
    (
        edgecache::request::key::key_host(&u).expect("a key has a host"),
        u.path().to_string(),
    )
}

#[test]
fn host_and_path_ranges_match_a_reparse_for_idna_ipv6_ports_and_escapes() {
    let config = config();
    let h = Headers::new();
    for (url, host, path) in [
        (
            "https://CAFÉ.example/media/a%41/é%20~/x.png?x=1",
            "xn--caf-dma.example",
            "/media/aA/%C3%A9%20~/x.png",
        ),
        (
            "http://[::1]:8080/media/%ff/b.png",
            "[::1]:8080",
            "/media/%FF/b.png",
        ),
        (
            "https://api.example.com:8443/media/a.b/c",
            "api.example.com:8443",
            "/media/a.b/c",
        ),
        (
            "http://api.example.com:80/media/%7e/x",
            "api.example.com",
            "/media/~/x",
        ),
    ] {
        let req = KeyRequest {
            method: &Method::Get,
            url,
            headers: &h,
            user_secret: None,
        };
        let Ok(KeyOutcome::Cache(k)) = cache_key(&config, &req) else {
            panic!("{url}: expected a key")
        };
        assert_eq!((k.host(), k.path()), (host, path), "{url}");
        let (rh, rp) = reparsed_host_and_path(k.base_url());
        assert_eq!((k.host(), k.path()), (rh.as_str(), rp.as_str()), "{url}");
    }
}

/// Hosts as the Workers runtime hands them over (ASCII, IDNs as `xn--` labels,
/// an Arabic one too, whose bidi rules the runtime checked) are keyed as they
/// come; only ASCII case is folded. The URL parser's IDNA back end carries no
/// Unicode tables (crates/idna_adapter), so this is what it must get right.
#[test]
fn punycode_hosts_are_keyed_as_the_runtime_sends_them() {
    let config = config();
    let h = Headers::new();
    for (host, keyed) in [
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("XN--Bcher-KVA.Example", "xn--bcher-kva.example"),
        ("xn--mgbh0fb.xn--kgbechtv", "xn--mgbh0fb.xn--kgbechtv"),
        ("api.xn--fiqs8s", "api.xn--fiqs8s"),
        ("bücher.example", "xn--bcher-kva.example"),
    ] {
        let url = format!("https://{host}/api/courses/7/");
        let req = KeyRequest {
            method: &Method::Get,
            url: &url,
            headers: &h,
            user_secret: None,
        };
        let Ok(KeyOutcome::Cache(k)) = cache_key(&config, &req) else {
            panic!("{url}: expected a key")
        };
        assert_eq!(k.host(), keyed, "{url}");
        let purged = normalize_url_for_purge(&config, &url).map(|(_, u)| u);
        assert_eq!(purged.as_deref(), Ok(k.base_url()), "{url}");
    }
}

const HOSTS: &[&str] = &[
    "https://Api.Example.com",
    "http://api.example.com:80",
    "https://api.example.com:8443",
    "http://[::1]:8080",
    "https://127.0.0.1:443",
    "https://xn--caf-dma.example",
    "https://CAFÉ.example",
];

fn segment_atom() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9._-]{1,3}",
        Just("%2e".to_string()),
        Just("%2E%2e".to_string()),
        Just("..".to_string()),
        Just(".".to_string()),
        Just("%2F".to_string()),
        Just("%41".to_string()),
        Just("%ff".to_string()),
        Just("é".to_string()),
        Just(" ".to_string()),
        Just("%20".to_string()),
        Just("~".to_string()),
        Just("!$&'()*+,=@:".to_string()),
        Just("%3B".to_string()),
        Just("\\".to_string()),
        Just("%5C".to_string()),
    ]
}

const PATHS: &[&str] = &[
    "/api/courses/",
    "/api/courses/7/",
    "/api/me/",
    "/media/a/b.png",
    "/x/",
];

proptest! {
    #[test]
    fn count_params_counts_the_non_empty_pieces(query in "[a&=%]{0,24}") {
        let expected = query.split('&').filter(|p| !p.is_empty()).count();
        prop_assert_eq!(edgecache::request::query::count_params(&query), expected);
    }

    #[test]
    fn keying_a_key_gives_the_same_key(
        path_i in 0..PATHS.len(),
        params in prop::collection::vec(param_strategy(), 0..6),
        lang in prop::option::of("[a-zA-Z ,;=~%.-]{0,12}"),
    ) {
        let config = config();
        let query: Vec<String> = params.iter().map(|(n, v)| format!("{n}={v}")).collect();
        let url = format!("https://Api.Example.com{}?{}", PATHS[path_i], query.join("&"));
        let mut h = Headers::new();
        if let Some(l) = &lang { h.append("accept-language", l); }
        let req = KeyRequest { method: &Method::Get, url: &url, headers: &h, user_secret: None };
        if let Ok(KeyOutcome::Cache(k)) = cache_key(&config, &req) {
            let again = key_of(&config, &Method::Get, k.url(), &h, None);
            prop_assert_eq!(again.as_deref(), Some(k.url()));
            let purge = normalize_url_for_purge(&config, k.url()).map(|(_, b)| b);
            prop_assert_eq!(purge, Ok(k.base_url().to_string()));
        }
    }

    #[test]
    fn host_and_path_of_a_key_are_what_parsing_its_base_url_gives(
        host_i in 0..HOSTS.len(),
        segments in prop::collection::vec(prop::collection::vec(segment_atom(), 0..4), 0..4),
        params in prop::collection::vec(param_strategy(), 0..3),
    ) {
        let config = config();
        let path: Vec<String> = segments.iter().map(|s| s.concat()).collect();
        let query: Vec<String> = params.iter().map(|(n, v)| format!("{n}={v}")).collect();
        let url = format!("{}/media/{}?{}", HOSTS[host_i], path.join("/"), query.join("&"));
        let h = Headers::new();
        let req = KeyRequest { method: &Method::Get, url: &url, headers: &h, user_secret: None };
        if let Ok(KeyOutcome::Cache(k)) = cache_key(&config, &req) {
            let (host, path) = reparsed_host_and_path(k.base_url());
            prop_assert_eq!(k.host(), host.as_str());
            prop_assert_eq!(k.path(), path.as_str());
        }
    }

    #[test]
    fn order_of_distinct_names_does_not_matter(
        params in prop::collection::btree_map("[a-z]{1,4}", "[a-zA-Z0-9%+]{0,4}", 0..6),
        seed in any::<u64>(),
    ) {
        let config = config();
        let mut pairs: Vec<(String, String)> = params.into_iter().collect();
        let q1: Vec<String> = pairs.iter().map(|(n, v)| format!("{n}={v}")).collect();
        // A deterministic shuffle from the seed.
        let len = pairs.len();
        for i in (1..len).rev() {
            let j = (seed.wrapping_mul(i as u64 + 1) >> 7) as usize % (i + 1);
            pairs.swap(i, j);
        }
        let q2: Vec<String> = pairs.iter().map(|(n, v)| format!("{n}={v}")).collect();
        let h = Headers::new();
        let k1 = key_of(&config, &Method::Get, &format!("https://a.example/api/courses/7/?{}", q1.join("&")), &h, None);
        let k2 = key_of(&config, &Method::Get, &format!("https://a.example/api/courses/7/?{}", q2.join("&")), &h, None);
        prop_assert!(k1.is_some());
        prop_assert_eq!(k1, k2);
    }
}

fn bypass_reason(config: &Config, url: &str, headers: &Headers) -> Option<&'static str> {
    let req = KeyRequest {
        method: &Method::Get,
        url,
        headers,
        user_secret: None,
    };
    match cache_key(config, &req) {
        Ok(KeyOutcome::Bypass { reason, .. }) => Some(reason.as_str()),
        _ => None,
    }
}

/// Fuzzing finding (`key_normalization`): a request with exactly
/// `max_query_params` params on a route with variant dimensions got a key with
/// one more (the variant), so keying that key again bypassed.
#[test]
fn key_with_variant_over_param_limit_bypasses() {
    let mut config = config();
    config.limits.max_query_params = 3;
    let h = Headers::new();
    let at_limit = "https://api.example.com/api/courses/?search=x&page=3&level=a";
    assert_eq!(
        bypass_reason(&config, at_limit, &h),
        Some("too_many_params")
    );
    // One param fewer: cached, and the key is its own key.
    let under = "https://api.example.com/api/courses/?page=2&level=a";
    let key = key_of(&config, &Method::Get, under, &h, None).unwrap();
    assert_eq!(key_of(&config, &Method::Get, &key, &h, None), Some(key));
}

/// Fuzzing finding (`key_normalization`): canonical escapes lengthen a URL
/// (`+` → `%20`), so a key could exceed `max_url_bytes` and bypass when keyed again.
#[test]
fn key_longer_than_url_limit_bypasses() {
    let mut config = config();
    let url = format!(
        "https://api.example.com/api/courses/42/?q={}",
        "+".repeat(40)
    );
    config.limits.max_url_bytes = url.len();
    let h = Headers::new();
    assert_eq!(bypass_reason(&config, &url, &h), Some("url_too_long"));
}

/// Django's `QueryDict` reads a repeated single-valued parameter's last value:
/// for a name with a default or a clamp only the last occurrence counts, so the
/// key (and the origin) see what the view reads. Other names keep every value.
#[test]
fn repeated_single_valued_params_follow_django_last_value_rule() {
    let config = config();
    let h = Headers::new();
    let key = |q: &str| {
        key_of(
            &config,
            &Method::Get,
            &format!("https://api.example.com/api/courses/{q}"),
            &h,
            None,
        )
        .unwrap()
    };
    // Django serves page 1 (the default) for ?page=2&page=1.
    assert_eq!(key("?page=2&page=1"), key(""));
    assert_eq!(key("?page=1&page=2"), key("?page=2"));
    // The clamp applies to the value Django reads.
    assert_eq!(key("?perpage=500&perpage=5"), key("?perpage=5"));
    assert_eq!(key("?perpage=5&perpage=500"), key("?perpage=10"));
    // A name without a default or clamp keeps its values, in order.
    assert_ne!(key("?search=a&search=b"), key("?search=b"));
    assert_ne!(key("?search=a&search=b"), key("?search=b&search=a"));
}
