use crate::common;

use common::{api_route, headers, media_route};
use edgecache::config::{Route, TtlMode};
use edgecache::http::method::Method;
use edgecache::http::time::UnixSecs;
use edgecache::response::store::{
    decide_store, NotStoredReason, OriginResponse, RequestFacts, StoreDecision, StorePlan,
};

const NOW: UnixSecs = UnixSecs(1_700_000_000);

fn get(path: &str) -> RequestFacts<'_> {
    RequestFacts {
        method: Method::Get,
        path,
        has_credentials: false,
        has_body: false,
        is_range: false,
    }
}

fn decide_with(
    route: &Route,
    req: &RequestFacts<'_>,
    status: u16,
    h: &[(&str, &str)],
) -> StoreDecision {
    let h = headers(h);
    let tag_headers = vec!["cache-tag".to_string(), "surrogate-key".to_string()];
    decide_store(
        route,
        &tag_headers,
        req,
        &OriginResponse {
            status,
            headers: &h,
            response_delay: 0,
        },
        NOW,
    )
}

fn decide(status: u16, h: &[(&str, &str)]) -> StoreDecision {
    decide_with(&api_route(), &get("/api/x"), status, h)
}

fn plan(d: StoreDecision) -> StorePlan {
    match d {
        StoreDecision::Store(p) => p,
        StoreDecision::DontStore(r) => panic!("expected Store, got DontStore({r:?})"),
    }
}

fn refused(d: StoreDecision) -> NotStoredReason {
    match d {
        StoreDecision::DontStore(r) => r,
        StoreDecision::Store(p) => panic!("expected DontStore, got Store({p:?})"),
    }
}

#[test]
fn stores_plain_200_with_route_ttl() {
    assert_eq!(plan(decide(200, &[])).ttl, 300);
}

#[test]
fn never_stores_no_store_even_beside_max_age() {
    let d = decide(200, &[("cache-control", "max-age=600, NO-STORE")]);
    assert_eq!(refused(d), NotStoredReason::NoStore);
}

#[test]
fn never_stores_no_store_in_override_mode() {
    let mut r = api_route();
    r.ttl_mode = TtlMode::Override;
    let d = decide_with(&r, &get("/api/x"), 200, &[("cache-control", "no-store")]);
    assert_eq!(refused(d), NotStoredReason::NoStore);
}

#[test]
fn never_stores_private() {
    let d = decide(200, &[("cache-control", "private, max-age=60")]);
    assert_eq!(refused(d), NotStoredReason::Private);
}

#[test]
fn private_set_cookie_strips_the_cookie_and_stores_the_rest() {
    let p = plan(decide(
        200,
        &[
            ("cache-control", "private=\"Set-Cookie\", max-age=60"),
            ("set-cookie", "sessionid=abc"),
        ],
    ));
    assert_eq!(p.strip_headers, vec!["set-cookie"]);
    assert_eq!(p.ttl, 60);
}

#[test]
fn private_field_list_is_stripped() {
    let p = plan(decide(
        200,
        &[("cache-control", "private=\"X-User, X-Foo\"")],
    ));
    assert_eq!(p.strip_headers, vec!["x-user", "x-foo"]);
}

#[test]
fn qualified_no_cache_strips_named_fields() {
    let p = plan(decide(
        200,
        &[("cache-control", "no-cache=\"x-debug\", max-age=60")],
    ));
    assert_eq!(p.strip_headers, vec!["x-debug"]);
}

#[test]
fn never_stores_set_cookie() {
    let d = decide(
        200,
        &[
            ("set-cookie", "a=b"),
            ("cache-control", "public, max-age=60"),
        ],
    );
    assert_eq!(refused(d), NotStoredReason::SetCookie);
}

#[test]
fn never_stores_vary_star() {
    assert_eq!(
        refused(decide(200, &[("vary", "*")])),
        NotStoredReason::VaryStar
    );
}

#[test]
fn never_stores_vary_on_undeclared_header() {
    let d = decide(200, &[("vary", "Accept-Encoding, Accept")]);
    assert_eq!(refused(d), NotStoredReason::VaryUndeclared("accept".into()));
}

#[test]
fn vary_on_credential_headers_is_left_to_the_credential_rules() {
    // Django's session middleware adds `Vary: Cookie`; DRF adds `Accept`.
    let mut r = api_route();
    r.vary = vec!["accept".into()];
    plan(decide_with(
        &r,
        &get("/api/x"),
        200,
        &[("vary", "Accept, Cookie, Authorization")],
    ));
}

#[test]
fn stores_vary_on_declared_header_case_insensitively() {
    let mut r = api_route();
    r.vary = vec!["accept-language".into()];
    let d = decide_with(&r, &get("/api/x"), 200, &[("vary", "Accept-Language")]);
    plan(d);
}

#[test]
fn ignores_vary_accept_encoding() {
    plan(decide(200, &[("vary", "accept-encoding")]));
}

#[test]
fn refuses_credentialed_request_without_public() {
    let mut req = get("/api/x");
    req.has_credentials = true;
    let d = decide_with(&api_route(), &req, 200, &[("cache-control", "max-age=60")]);
    assert_eq!(refused(d), NotStoredReason::CredentialsWithoutPublic);
}

#[test]
fn stores_credentialed_request_when_public() {
    let mut req = get("/api/x");
    req.has_credentials = true;
    plan(decide_with(
        &api_route(),
        &req,
        200,
        &[("cache-control", "public")],
    ));
}

#[test]
fn stores_credentialed_request_with_s_maxage() {
    let mut req = get("/api/x");
    req.has_credentials = true;
    let p = plan(decide_with(
        &api_route(),
        &req,
        200,
        &[("cache-control", "s-maxage=30")],
    ));
    assert_eq!(p.ttl, 30);
}

#[test]
fn stores_credentialed_request_on_per_user_route() {
    let mut r = api_route();
    r.per_user = true;
    let mut req = get("/api/x");
    req.has_credentials = true;
    plan(decide_with(&r, &req, 200, &[]));
}

#[test]
fn heuristically_cacheable_statuses_are_stored() {
    for s in [200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501] {
        plan(decide(s, &[]));
    }
}

#[test]
fn other_statuses_are_not_stored_by_default() {
    for s in [100, 201, 206, 302, 304, 400, 403, 431, 500, 502, 503] {
        assert_eq!(
            refused(decide(s, &[])),
            NotStoredReason::StatusNotStorable(s)
        );
    }
}

#[test]
fn status_ttl_makes_an_error_status_storable_with_its_ttl() {
    let mut r = api_route();
    r.status_ttl.insert(503, 5);
    assert_eq!(plan(decide_with(&r, &get("/api/x"), 503, &[])).ttl, 5);
}

#[test]
fn status_ttl_overrides_origin_max_age() {
    let mut r = api_route();
    r.status_ttl.insert(404, 10);
    let d = decide_with(&r, &get("/api/x"), 404, &[("cache-control", "max-age=100")]);
    assert_eq!(plan(d).ttl, 10);
}

#[test]
fn partial_content_is_never_stored_even_if_named_in_status_ttl() {
    let mut r = api_route();
    r.status_ttl.insert(206, 60);
    let d = decide_with(&r, &get("/api/x"), 206, &[]);
    assert_eq!(refused(d), NotStoredReason::StatusNotStorable(206));
}

#[test]
fn respect_mode_prefers_s_maxage_over_max_age() {
    let d = decide(200, &[("cache-control", "max-age=10, s-maxage=20")]);
    assert_eq!(plan(d).ttl, 20);
}

#[test]
fn respect_mode_caps_origin_ttl_at_route_ttl() {
    assert_eq!(
        plan(decide(200, &[("cache-control", "max-age=99999")])).ttl,
        300
    );
}

#[test]
fn respect_mode_uses_expires_minus_date() {
    let d = decide(
        200,
        &[
            ("date", "Tue, 14 Nov 2023 22:13:20 GMT"), // NOW
            ("expires", "Tue, 14 Nov 2023 22:14:20 GMT"),
        ],
    );
    assert_eq!(plan(d).ttl, 60);
}

#[test]
fn respect_mode_uses_now_when_date_is_missing() {
    let exp = edgecache::http::date::format(NOW.saturating_add(45));
    assert_eq!(plan(decide(200, &[("expires", &exp)])).ttl, 45);
}

#[test]
fn max_age_beats_expires() {
    let d = decide(200, &[("expires", "0"), ("cache-control", "max-age=30")]);
    assert_eq!(plan(d).ttl, 30);
}

#[test]
fn invalid_expires_means_already_expired() {
    assert_eq!(
        refused(decide(200, &[("expires", "0")])),
        NotStoredReason::ZeroTtl
    );
}

#[test]
fn origin_age_is_subtracted_from_freshness() {
    let d = decide(200, &[("cache-control", "max-age=100"), ("age", "40")]);
    assert_eq!(plan(d).ttl, 60);
}

#[test]
fn override_mode_uses_route_ttl_whatever_the_origin_says() {
    let mut r = api_route();
    r.ttl_mode = TtlMode::Override;
    let d = decide_with(&r, &get("/api/x"), 200, &[("cache-control", "max-age=5")]);
    assert_eq!(plan(d).ttl, 300);
}

#[test]
fn max_age_zero_is_not_stored() {
    let d = decide(200, &[("cache-control", "max-age=0")]);
    assert_eq!(refused(d), NotStoredReason::ZeroTtl);
}

#[test]
fn invalid_max_age_is_not_stored() {
    let d = decide(200, &[("cache-control", "max-age=soon")]);
    assert_eq!(refused(d), NotStoredReason::ZeroTtl);
}

#[test]
fn unqualified_no_cache_is_not_stored() {
    let d = decide(200, &[("cache-control", "no-cache, max-age=60")]);
    assert_eq!(refused(d), NotStoredReason::NoCache);
}

#[test]
fn must_revalidate_with_max_age_zero_is_not_stored_even_in_override_mode() {
    let mut r = api_route();
    r.ttl_mode = TtlMode::Override;
    let d = decide_with(
        &r,
        &get("/api/x"),
        200,
        &[("cache-control", "max-age=0, must-revalidate")],
    );
    assert_eq!(refused(d), NotStoredReason::MustRevalidate);
}

#[test]
fn zero_route_ttl_is_not_stored() {
    let mut r = api_route();
    r.ttl = 0;
    assert_eq!(
        refused(decide_with(&r, &get("/api/x"), 200, &[])),
        NotStoredReason::ZeroTtl
    );
}

#[test]
fn stale_windows_take_the_larger_of_route_and_origin() {
    let mut r = api_route();
    r.stale_while_revalidate = 10;
    r.stale_if_error = 1000;
    let d = decide_with(
        &r,
        &get("/api/x"),
        200,
        &[(
            "cache-control",
            "stale-while-revalidate=60, stale-if-error=100",
        )],
    );
    let p = plan(d);
    assert_eq!((p.stale_while_revalidate, p.stale_if_error), (60, 1000));
}

#[test]
fn must_revalidate_disables_stale_serving() {
    let mut r = api_route();
    r.stale_while_revalidate = 10;
    r.stale_if_error = 1000;
    let d = decide_with(
        &r,
        &get("/api/x"),
        200,
        &[("cache-control", "max-age=60, must-revalidate")],
    );
    let p = plan(d);
    assert_eq!((p.stale_while_revalidate, p.stale_if_error), (0, 0));
}

#[test]
fn proxy_revalidate_disables_stale_serving() {
    let d = decide(
        200,
        &[(
            "cache-control",
            "max-age=60, proxy-revalidate, stale-if-error=99",
        )],
    );
    assert_eq!(plan(d).stale_if_error, 0);
}

#[test]
fn head_requests_are_not_stored() {
    let mut req = get("/api/x");
    req.method = Method::Head;
    assert_eq!(
        refused(decide_with(&api_route(), &req, 200, &[])),
        NotStoredReason::MethodNotCacheable
    );
}

#[test]
fn requests_with_a_body_are_not_stored() {
    let mut req = get("/api/x");
    req.has_body = true;
    assert_eq!(
        refused(decide_with(&api_route(), &req, 200, &[])),
        NotStoredReason::RequestHasBody
    );
}

#[test]
fn ranged_request_answered_with_content_range_is_not_stored() {
    let mut req = get("/api/x");
    req.is_range = true;
    let d = decide_with(
        &api_route(),
        &req,
        200,
        &[("content-range", "bytes 0-9/100")],
    );
    assert_eq!(refused(d), NotStoredReason::PartialContent);
}

#[test]
fn collects_comma_separated_cache_tags() {
    let p = plan(decide(
        200,
        &[("cache-tag", " course:1 ,course:2,, course:1")],
    ));
    assert_eq!(p.tags, vec!["course:1", "course:2"]);
}

#[test]
fn collects_space_separated_surrogate_keys() {
    let p = plan(decide(
        200,
        &[("surrogate-key", "a  b\tc"), ("cache-tag", "d")],
    ));
    assert_eq!(p.tags, vec!["d", "a", "b", "c"]);
}

#[test]
fn ignores_tags_that_are_too_long_or_not_printable_ascii() {
    let long = "x".repeat(1025);
    let value = format!("ok,{long},caf\u{e9},has space,\u{7f}del");
    let p = plan(decide(200, &[("cache-tag", &value)]));
    assert_eq!(p.tags, vec!["ok"]);
}

#[test]
fn ignores_headers_not_configured_as_tag_headers() {
    let p = plan(decide(200, &[("x-tags", "a")]));
    assert!(p.tags.is_empty());
}

#[test]
fn media_route_stores_when_type_agrees() {
    let d = decide_with(
        &media_route(),
        &get("/media/a.png"),
        200,
        &[("content-type", "image/png")],
    );
    plan(d);
}

#[test]
fn media_route_refuses_html_under_an_image_extension() {
    let d = decide_with(
        &media_route(),
        &get("/media/profile.php/a.png"),
        200,
        &[("content-type", "text/html; charset=utf-8")],
    );
    assert_eq!(refused(d), NotStoredReason::MediaTypeMismatch);
}

#[test]
fn media_route_refuses_paths_without_extension() {
    let d = decide_with(
        &media_route(),
        &get("/media/a"),
        200,
        &[("content-type", "image/png")],
    );
    assert_eq!(refused(d), NotStoredReason::MediaTypeMismatch);
}

#[test]
fn api_route_ignores_path_extension() {
    let d = decide_with(
        &api_route(),
        &get("/api/x.png"),
        200,
        &[("content-type", "application/json")],
    );
    plan(d);
}

#[test]
fn reasons_have_stable_snake_case_names() {
    assert_eq!(
        NotStoredReason::CredentialsWithoutPublic.as_str(),
        "credentials_without_public"
    );
    assert_eq!(
        NotStoredReason::VaryUndeclared("x".into()).as_str(),
        "vary_undeclared"
    );
    assert_eq!(
        NotStoredReason::StatusNotStorable(500).as_str(),
        "status_not_storable"
    );
}

#[test]
fn a_coding_the_worker_cannot_decode_is_never_stored() {
    for coding in ["br", "deflate", "zstd", "gzip, br"] {
        assert_eq!(
            refused(decide(200, &[("content-encoding", coding)])),
            NotStoredReason::UndecodableCoding,
            "{coding}"
        );
    }
    for coding in ["gzip", "x-gzip", "identity", "GZIP"] {
        plan(decide(200, &[("content-encoding", coding)]));
    }
    // A route keyed on the client's Accept-Encoding stores one copy per value.
    let mut keyed = api_route();
    keyed.vary = vec!["accept-encoding".to_string()];
    plan(decide_with(
        &keyed,
        &get("/api/x"),
        200,
        &[("content-encoding", "br")],
    ));
}
