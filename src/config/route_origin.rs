//! A route against the origin it names: the name exists, and a bucket is
//! reached only the way a bucket can be (see `config::origins`).

use super::error::{ConfigError, Place};
use super::model::{Route, RouteKind};
use super::origins::Origin;
use std::collections::BTreeMap;

/// Checks `route.origin` and what a bucket origin asks of its routes:
/// `kind = "media"`, a path ending in `*` (the rest is the object key), no
/// per-user keys, and `serve_private = true` for a private bucket. A bucket
/// route reads no credential (a bucket knows no users: a signed-in client's
/// cookie must not turn its requests into uncached pass-throughs).
pub(super) fn check_route_origin(
    route: &mut Route,
    origins: &BTreeMap<String, Origin>,
) -> Result<(), ConfigError> {
    let bad = |field, value: &str, reason| ConfigError::BadValue {
        place: Place::Route(route.name.clone()),
        field,
        value: value.to_string(),
        reason,
    };
    let Some(name) = &route.origin else {
        if route.serve_private {
            return Err(bad(
                "serve_private",
                "true",
                "only for a route whose `origin` is a private bucket",
            ));
        }
        return Ok(());
    };
    let Some(origin) = origins.get(name) else {
        return Err(bad(
            "origin",
            name,
            "names no origin: define it under [vars.EDGECACHE.origins.NAME] (or remove the \
             field: routes without it use the top-level `origin`)",
        ));
    };
    if !origin.is_bucket() {
        return Ok(());
    }
    if route.kind != RouteKind::Media {
        return Err(bad(
            "kind",
            "api",
            "a bucket origin's route is kind = \"media\"",
        ));
    }
    if !route.path.wildcard {
        return Err(bad(
            "path",
            &route.path.source,
            "a bucket origin's route ends in `/*`: the rest of the path is the object key",
        ));
    }
    if route.per_user {
        return Err(bad(
            "per_user",
            "true",
            "a bucket knows no users: no credential is ever sent to it",
        ));
    }
    if origin.is_private() && !route.serve_private {
        return Err(bad(
            "serve_private",
            "false",
            "the origin is a private bucket (every r2 origin is): set serve_private = true to \
             serve its objects to every client on this route",
        ));
    }
    route.credentials.clear();
    Ok(())
}
