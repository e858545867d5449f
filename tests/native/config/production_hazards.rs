//! Production hazards (`edgecache check --production`): each names the field,
//! the line, and the fix; the shipped wrangler.toml is safe at the top level
//! and its `[env.dev]` is the same config with debug on.

use edgecache::config::{needed_secrets, Config, Finding, WranglerFile};

const HAZARDS: &str = include_str!("../../fixtures/production/hazards.toml");
const CLEAN: &str = include_str!("../../fixtures/production/clean.toml");
const SHIPPED: &str = include_str!("../../../wrangler.toml");

fn findings(text: &str, env: Option<&str>) -> (Config, Vec<Finding>) {
    let file = match WranglerFile::parse(text, env) {
        Ok(f) => f,
        Err(e) => panic!("{e}"),
    };
    let config = match file.config() {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    let found = file.production_findings(&config);
    (config, found)
}

/// `LINE: message` for each finding.
fn lines(found: &[Finding]) -> Vec<String> {
    found
        .iter()
        .map(|f| format!("{}: {}", f.at.as_ref().map_or(0, |p| p.line), f.message))
        .collect()
}

fn has(found: &[String], line: usize, start: &str) -> bool {
    found
        .iter()
        .any(|f| f.starts_with(&format!("{line}: {start}")))
}

#[test]
fn every_hazard_is_found_at_its_line_with_the_fix() {
    let (_, found) = findings(HAZARDS, None);
    let found = lines(&found);
    assert_eq!(found.len(), 7, "{found:#?}");
    assert!(
        has(
            &found,
            18,
            "purge: field `kv_propagation`: 10 s is shorter than Workers KV takes (60 s)"
        ),
        "{found:#?}"
    );
    assert!(
        has(
            &found,
            0,
            "durable_objects: no binding `EDGECACHE_WRITER` to class `PurgeWriter`"
        ),
        "{found:#?}"
    );
    assert!(has(&found, 13, "field `debug`: true: "), "{found:#?}");
    assert!(
        has(&found, 12, "field `origin`: \"http://localhost:8000\" is on this machine (localhost): a deployed worker cannot reach it; set origin to your API's public URL"),
        "{found:#?}"
    );
    assert!(
        has(
            &found,
            17,
            "purge: field `api_base`: \"http://127.0.0.1:9999/client/v4\" is not https"
        ),
        "{found:#?}"
    );
    assert!(
        has(&found, 6, "kv_namespaces: binding `EDGECACHE_KV`: id \"00000000000000000000000000000000\" is the placeholder; run `npx wrangler kv namespace create EDGECACHE_KV`"),
        "{found:#?}"
    );
    assert!(
        has(&found, 9, "vars: `EDGECACHE_WEBHOOK_SECRET` is a secret in plain text in wrangler.toml; remove it and run `npx wrangler secret put EDGECACHE_WEBHOOK_SECRET`"),
        "{found:#?}"
    );
}

#[test]
fn an_environment_needs_its_own_kv_binding() {
    let (_, found) = findings(HAZARDS, Some("production"));
    let found = lines(&found);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(found[0].contains("no binding `EDGECACHE_KV`"), "{found:#?}");
    assert!(
        found[1].contains("[[env.production.durable_objects.bindings]]"),
        "{found:#?}"
    );
    assert!(
        found[0].contains("[[env.production.kv_namespaces]]"),
        "{found:#?}"
    );
}

#[test]
fn a_private_origin_is_a_hazard() {
    let (_, found) = findings(HAZARDS, Some("staging"));
    let found = lines(&found);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        has(
            &found,
            34,
            "field `origin`: \"http://10.1.2.3\" is a private address"
        ),
        "{found:#?}"
    );
}

#[test]
fn unreachable_origins_are_told_from_public_ones() {
    let verdict = |origin: &str| {
        let text = CLEAN.replace("https://api.example.com", origin);
        let (_, found) = findings(&text, None);
        // Unreachable, that is (a public http origin is its own hazard, below).
        found.iter().any(|f| {
            f.message.starts_with("field `origin`") && !f.message.contains("is plain http")
        })
    };
    for bad in [
        "http://127.0.0.1:8000",
        "http://127.1.2.3",
        "http://0.0.0.0:8000",
        "http://localhost",
        "http://LOCALHOST.",
        "http://app.localhost:3000",
        "http://192.168.1.10",
        "http://172.16.0.1",
        "http://169.254.169.254",
        "http://[::1]:8000",
        "http://[fd00::1]",
        "http://[fe80::1]",
        "http://[::ffff:10.0.0.1]",
    ] {
        assert!(verdict(bad), "{bad} should be refused");
    }
    for good in [
        "https://api.example.com",
        "http://8.8.8.8",
        "http://172.32.0.1",
        "https://[2606:4700::1111]",
        "https://localhost.example.com",
    ] {
        assert!(!verdict(good), "{good} should be accepted");
    }
}

#[test]
fn the_purge_writer_needs_its_sqlite_migration() {
    let text = CLEAN.replace(
        "new_sqlite_classes = [\"PurgeWriter\"]",
        "new_classes = [\"PurgeWriter\"]",
    );
    let (_, found) = findings(&text, None);
    let found = lines(&found);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].contains("new_sqlite_classes = [\"PurgeWriter\"]"),
        "{found:#?}"
    );
}

#[test]
fn the_shipped_config_binds_the_purge_writer_at_the_top_and_in_dev() {
    for env in [None, Some("dev")] {
        let (_, found) = findings(SHIPPED, env);
        assert!(
            !found
                .iter()
                .any(|f| f.message.contains("EDGECACHE_WRITER") || f.message.contains("migration")),
            "{env:?}: {found:?}"
        );
    }
}

#[test]
fn a_config_ready_for_production_has_no_findings() {
    let (_, found) = findings(CLEAN, None);
    assert_eq!(lines(&found), Vec::<String>::new());
}

#[test]
fn the_secrets_a_config_needs_follow_its_routes_and_zone() {
    let names = |c: &Config| -> Vec<(String, bool)> {
        needed_secrets(c)
            .iter()
            .map(|s| (s.name.to_string(), s.required))
            .collect()
    };
    let (clean, _) = findings(CLEAN, None);
    assert_eq!(
        names(&clean),
        [
            ("EDGECACHE_WEBHOOK_SECRET".to_string(), true),
            ("EDGECACHE_EXPLAIN_TOKEN".to_string(), false)
        ]
    );
    let (hazards, _) = findings(HAZARDS, None);
    assert_eq!(
        names(&hazards),
        [
            ("EDGECACHE_WEBHOOK_SECRET".to_string(), true),
            ("EDGECACHE_KEY_SECRET".to_string(), true),
            ("EDGECACHE_ZONE_TOKEN".to_string(), true),
            ("EDGECACHE_EXPLAIN_TOKEN".to_string(), false)
        ]
    );
    assert!(needed_secrets(&hazards)[1].why.contains("`me`"));
}

#[test]
fn the_shipped_top_level_config_has_debug_off() {
    let (config, found) = findings(SHIPPED, None);
    assert!(!config.debug);
    assert!(!found.iter().any(|f| f.message.contains("`debug`")));
}

/// Wrangler inherits no vars into environments: `[env.dev]` repeats the whole
/// table, and must stay the top-level config with only `debug` turned on.
#[test]
fn shipped_dev_env_is_the_top_level_with_debug_on() {
    let var = |env| match WranglerFile::parse(SHIPPED, env).and_then(|f| f.var_json()) {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    };
    let (top, mut dev) = (var(None), var(Some("dev")));
    assert_eq!(dev["debug"], serde_json::json!(true));
    dev["debug"] = serde_json::json!(false);
    assert_eq!(top, dev);
    let (_, found) = findings(SHIPPED, Some("dev"));
    assert!(
        !found.iter().any(|f| f.message.contains("no binding")),
        "[env.dev] needs its own EDGECACHE_KV binding: {found:?}"
    );
}

/// A private bucket's access key pair: listed among the secrets the config
/// needs, and refused in `[vars]` (each at its line).
#[test]
fn a_private_buckets_secrets_are_needed_and_never_in_vars() {
    let text = CLEAN.replace(
        "[vars.EDGECACHE]\n",
        "[vars]\nEDGECACHE_S3_MEDIA_SECRET_ACCESS_KEY = \"wJalr\"\n\n[vars.EDGECACHE]\n",
    ) + "\n[vars.EDGECACHE.origins.media]\nkind = \"s3\"\nendpoint = \"https://s3.amazonaws.com\"\n\
         bucket = \"my-media\"\nprivate = true\n\n[[vars.EDGECACHE.routes]]\nname = \"media\"\n\
         path = \"/media/*\"\nkind = \"media\"\nttl = \"1d\"\norigin = \"media\"\nserve_private = true\n";
    let (config, found) = findings(&text, None);
    let found = lines(&found);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        has(
            &found,
            17,
            "vars: `EDGECACHE_S3_MEDIA_SECRET_ACCESS_KEY` is a secret in plain text"
        ),
        "{found:#?}"
    );
    let needed: Vec<String> = needed_secrets(&config)
        .into_iter()
        .filter(|s| s.required)
        .map(|s| s.name)
        .collect();
    assert_eq!(
        needed,
        [
            "EDGECACHE_WEBHOOK_SECRET",
            "EDGECACHE_S3_MEDIA_ACCESS_KEY_ID",
            "EDGECACHE_S3_MEDIA_SECRET_ACCESS_KEY"
        ]
    );
}

#[test]
fn a_named_origin_on_loopback_is_a_hazard() {
    let text = CLEAN.to_string()
        + "\n[vars.EDGECACHE.origins.media]\nkind = \"s3\"\nendpoint = \"http://127.0.0.1:9000\"\n\
           bucket = \"media\"\nstyle = \"path\"\n";
    let (_, found) = findings(&text, None);
    let found = lines(&found);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        has(
            &found,
            26,
            "origin `media`: field `endpoint`: \"http://127.0.0.1:9000\" is a loopback address"
        ),
        "{found:#?}"
    );
}

#[test]
fn a_poll_too_short_for_the_writer_to_keep_the_stated_bound_is_refused() {
    let with_poll = |poll: &str| {
        let text = CLEAN.replace(
            "origin = \"https://api.example.com\"\n",
            &format!("origin = \"https://api.example.com\"\npurge = {{ poll = \"{poll}\" }}\n"),
        );
        lines(&findings(&text, None).1)
    };
    for fine in ["1s", "500ms", "0s", "1m"] {
        assert!(with_poll(fine).is_empty(), "{fine}: {:#?}", with_poll(fine));
    }
    let found = with_poll("200ms");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        has(
            &found,
            18,
            "purge: field `poll`: 200 ms would have every busy location read the purge writer 5 times a second (300 locations: 1500 requests/s"
        ),
        "{found:#?}"
    );
    assert!(
        found[0].contains("(3200 ms); set at least \"500ms\""),
        "{found:#?}"
    );
}

const TIMINGS: &str = include_str!("../../fixtures/production/timings.toml");

#[test]
fn a_plain_http_origin_and_unbounded_purge_timings_are_hazards() {
    let (_, found) = findings(TIMINGS, None);
    let found = lines(&found);
    assert_eq!(found.len(), 4, "{found:#?}");
    assert!(
        has(&found, 18, "field `origin`: \"http://api.example.com\" is plain http: per-user routes would send Authorization and cookies in clear text"),
        "{found:#?}"
    );
    assert!(
        has(&found, 21, "purge: field `tolerance`: 315360000 s is over 3600 s: a signed purge webhook would be accepted"),
        "{found:#?}"
    );
    assert!(
        has(
            &found,
            22,
            "purge: field `generation_memo`: 3600 s is over 60 s: "
        ),
        "{found:#?}"
    );
    assert!(
        has(
            &found,
            23,
            "purge: field `clock_skew`: 86400 s is over 60 s: "
        ),
        "{found:#?}"
    );
}

#[test]
fn timings_at_their_production_bounds_pass() {
    let at_bounds = TIMINGS
        .replace("http://api.example.com", "https://api.example.com")
        .replace("\"3650d\"", "\"1h\"")
        .replace("generation_memo = \"1h\"", "generation_memo = \"60s\"")
        .replace("\"1d\"", "\"60s\"");
    let (_, found) = findings(&at_bounds, None);
    assert!(found.is_empty(), "{:#?}", lines(&found));
}
