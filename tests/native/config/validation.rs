//! Config parsing and validation: the shipped fixture, each invalid fixture in
//! `fixtures/bad_configs/` (first line `# expect: <message substring>`), routing.

use edgecache::config::{
    load_wrangler_toml, Config, ConfigError, Credential, ParamFilter, PathSegment, RouteKind,
    TtlMode, WranglerFile,
};
use serde_json::json;

fn shipped() -> Config {
    match load_wrangler_toml(include_str!("../../fixtures/wrangler.toml"), None) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn shipped_config_is_valid_and_typed() {
    let c = shipped();
    assert_eq!(c.origin.as_str(), "http://127.0.0.1:8000/");
    let names: Vec<&str> = c.routes.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["course-list", "course-detail", "me", "media"]);
    let list = &c.routes[0];
    assert_eq!(list.ttl, 900);
    assert_eq!(list.stale_while_revalidate, 30);
    assert_eq!(list.timeout, 10);
    assert_eq!(list.vary, ["accept-language"]);
    assert!(matches!(&list.query.filter, ParamFilter::Allow(a) if a.len() == 5));
    assert_eq!(list.query.clamp.get("perpage"), Some(&(1, 10)));
    assert_eq!(
        list.query.defaults.get("page").map(String::as_str),
        Some("1")
    );
    let detail = &c.routes[1];
    assert_eq!(detail.path.segments[2], PathSegment::Param("pk".into()));
    assert_eq!(detail.status_ttl.get(&404), Some(&60));
    let me = &c.routes[2];
    assert!(me.per_user);
    assert_eq!(
        me.credentials,
        [
            Credential::Authorization,
            Credential::Cookie("sessionid".into())
        ]
    );
    let media = &c.routes[3];
    assert_eq!(media.kind, RouteKind::Media);
    assert_eq!(media.ttl_mode, TtlMode::Override);
    assert_eq!(media.ttl, 30 * 86_400);
    assert!(media.path.wildcard);
    assert_eq!(c.purge.tolerance, 300);
}

#[test]
fn defaults_apply_when_fields_are_omitted() {
    let c = match Config::from_json(&json!({"origin": "https://api.example.com"})) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    assert!(
        c.routes.is_empty(),
        "no routes is allowed: everything passes through"
    );
    assert!(c.tracking_params.names().iter().any(|t| t == "utm_*"));
    assert_eq!(c.forward_headers, ["accept", "accept-language"]);
    assert_eq!(c.tag_headers, ["cache-tag", "surrogate-key"]);
    assert_eq!(c.limits.max_url_bytes, 8192);
    assert_eq!(c.purge.api_base, "https://api.cloudflare.com/client/v4");
    assert_eq!(c.purge.generation_memo, 5);
    assert!(!c.debug);
}

#[test]
fn environment_config_is_read_without_inheriting_top_level_vars() {
    let text = include_str!("../../fixtures/wrangler.toml");
    let staging = load_wrangler_toml(text, Some("staging")).map(|c| c.routes.len());
    assert_eq!(staging, Ok(1));
    let missing = load_wrangler_toml(text, Some("production"));
    assert_eq!(
        missing.map(|_| ()).map_err(|e| e.to_string()),
        Err("no `env.production.vars.EDGECACHE` table (edgecache reads its config from it)".into())
    );
}

/// Each fixture's first line is `# expect: <message substring>`; an optional
/// second line `# at: LINE:COL` is where the CLI points (the bad key's line).
#[test]
fn each_bad_config_fails_with_its_message() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/bad_configs");
    let mut entries: Vec<_> = match std::fs::read_dir(dir) {
        Ok(d) => d.filter_map(Result::ok).map(|e| e.path()).collect(),
        Err(e) => panic!("{dir}: {e}"),
    };
    entries.sort();
    assert!(entries.len() >= 20);
    let mut failures = Vec::new();
    for path in entries {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let mut lines = text.lines();
        let expect = lines
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .unwrap_or("");
        let at = lines.next().and_then(|l| l.strip_prefix("# at: "));
        assert!(
            !expect.is_empty(),
            "{}: first line must be `# expect: ...`",
            path.display()
        );
        match WranglerFile::parse(&text, None).and_then(|f| f.config()) {
            Ok(_) => failures.push(format!("{}: accepted", path.display())),
            Err(e) => {
                let got_at = e.at.as_ref().map(|p| format!("{}:{}", p.line, p.column));
                if !e.error.to_string().contains(expect) {
                    failures.push(format!(
                        "{}:\n  expected {expect:?}\n  got      {:?}",
                        path.display(),
                        e.error.to_string()
                    ));
                } else if at.is_some() && got_at.as_deref() != at {
                    failures.push(format!(
                        "{}: expected at {at:?}, got {got_at:?}",
                        path.display()
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn bad_duration_message_names_route_field_and_value() {
    let v = json!({"origin": "http://127.0.0.1:8000",
        "routes": [{"name": "course-list", "path": "/api/courses/", "ttl": "15x"}]});
    let e = Config::from_json(&v).map(|_| ()).map_err(|e| e.to_string());
    assert_eq!(
        e,
        Err(
            "route `course-list`: field `ttl`: bad duration \"15x\" (use 90s, 15m, 2h, 30d)".into()
        )
    );
}

#[test]
fn unnamed_route_errors_name_its_index() {
    let v = json!({"origin": "http://127.0.0.1:8000", "routes": [{"path": "/a/", "ttl": "1m"}]});
    let e = Config::from_json(&v).map(|_| ()).map_err(|e| e.to_string());
    assert!(
        matches!(&e, Err(m) if m.starts_with("routes[0]: missing field `name`")),
        "{e:?}"
    );
}

#[test]
fn partial_overlap_where_order_decides_is_allowed() {
    let v = json!({"origin": "http://127.0.0.1:8000", "routes": [
        {"name": "featured", "path": "/api/courses/featured/", "ttl": "1m"},
        {"name": "detail", "path": "/api/courses/:pk/", "ttl": "1m"},
    ]});
    let c = match Config::from_json(&v) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(
        c.routes_match("/api/courses/featured/").map(|m| m.0),
        Some(0)
    );
    assert_eq!(
        c.routes_match("/api/courses/7/"),
        Some((1, vec![("pk".to_string(), "7".to_string())]))
    );
}

#[test]
fn specific_after_general_is_unreachable() {
    let v = json!({"origin": "http://127.0.0.1:8000", "routes": [
        {"name": "detail", "path": "/api/courses/:pk/", "ttl": "1m"},
        {"name": "featured", "path": "/api/courses/featured/", "ttl": "1m"},
    ]});
    assert!(matches!(
        Config::from_json(&v),
        Err(ConfigError::UnreachableRoute { .. })
    ));
}

#[test]
fn defaults_are_stored_normalized() {
    let v = json!({"origin": "http://127.0.0.1:8000", "routes": [
        {"name": "a", "path": "/a/", "ttl": "1m",
         "query": {"lowercase": ["level"], "defaults": {"level": "ALL", "perpage": "50"}, "clamp": {"perpage": [1, 10]}}},
    ]});
    let c = match Config::from_json(&v) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    let d = &c.routes[0].query.defaults;
    assert_eq!(d.get("level").map(String::as_str), Some("all"));
    assert_eq!(d.get("perpage").map(String::as_str), Some("10"));
}

#[test]
fn json_text_errors_are_shape_errors() {
    assert!(matches!(
        Config::from_json_str("{"),
        Err(ConfigError::Shape { .. })
    ));
    assert!(matches!(
        Config::from_json_str("[]"),
        Err(ConfigError::Shape { .. })
    ));
}
