//! `ConfigError`: every way the `EDGECACHE` var can be wrong, naming the place
//! (route, field) and the bad value. Bad config fails at load, before any request.

use super::duration::DurationError;
use super::pattern_error::PatternError;
use super::shape::ShapeError;
use std::fmt;

/// Where in the config an error sits: top level, a section, or a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    Top,
    /// `limits` or `purge`.
    Section(&'static str),
    /// A route, by name when it has a usable one, else by index.
    Route(String),
    RouteIndex(usize),
    /// A named origin (`origins.NAME`).
    Origin(String),
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Top => Ok(()),
            Place::Section(s) => write!(f, "{s}: "),
            Place::Route(n) => write!(f, "route `{n}`: "),
            Place::RouteIndex(i) => write!(f, "routes[{i}]: "),
            Place::Origin(n) => write!(f, "origin `{n}`: "),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// The wrong shape: unknown field, wrong type, missing required field, or
    /// not JSON at all; `error` names the field path inside `place`.
    Shape {
        place: Place,
        error: Box<ShapeError>,
    },
    /// wrangler.toml is not valid TOML (the CLI adds the line and column).
    Toml {
        message: String,
    },
    /// The TOML file has no `vars.EDGECACHE` (or `env.NAME.vars.EDGECACHE`).
    MissingVar {
        table: String,
    },
    /// A table near the one edgecache reads, most likely a misspelling of it:
    /// `[vars.EDGECACHES]`, `[var.EDGECACHE]`. `table` is where it sits.
    UnknownTable {
        table: String,
        name: String,
        suggestion: String,
    },
    BadDuration {
        place: Place,
        field: String,
        error: DurationError,
    },
    BadOrigin {
        value: String,
        reason: &'static str,
    },
    BadUrl {
        place: Place,
        field: &'static str,
        value: String,
        reason: &'static str,
    },
    BadRouteName {
        name: String,
    },
    DuplicateRoute {
        name: String,
    },
    /// `route` can never match: `shadowed_by` (earlier) matches all its paths.
    UnreachableRoute {
        route: String,
        pattern: String,
        shadowed_by: String,
    },
    BadPath {
        route: String,
        value: String,
        reason: PatternError,
    },
    BadHeaderName {
        place: Place,
        field: &'static str,
        value: String,
    },
    /// A header that lets a client rewrite the origin's view of the request.
    ForbiddenHeader {
        field: &'static str,
        value: String,
    },
    /// `vary` names a credential header; per-user keying is `per_user`'s job.
    CredentialInVary {
        route: String,
        value: String,
    },
    /// `vary` names a header not in `forward_headers` (the origin would never see it).
    VaryNotForwarded {
        route: String,
        value: String,
    },
    BadStatus {
        route: String,
        value: String,
    },
    BadCredential {
        route: String,
        value: String,
    },
    ClampRange {
        route: String,
        param: String,
        min: i64,
        max: i64,
    },
    AllowAndDeny {
        route: String,
    },
    /// `defaults` / `clamp` / `lowercase` names a param the filter removes.
    ExcludedParam {
        route: String,
        field: &'static str,
        param: String,
    },
    BadParamName {
        place: Place,
        field: &'static str,
        value: String,
    },
    BadTag {
        route: String,
        value: String,
        reason: &'static str,
    },
    /// A tag template's `{name}` is not a path param of the route.
    UnknownTagParam {
        route: String,
        template: String,
        param: String,
    },
    BadLimit {
        field: &'static str,
        value: u64,
    },
    BadValue {
        place: Place,
        field: &'static str,
        value: String,
        reason: &'static str,
    },
}

impl fmt::Display for ConfigError {
    /// Three message groups, each passing what it does not know to the next:
    /// `fmt_config` → `fmt_field` → `fmt_rules` (→ the Debug form, for a
    /// variant added without a message).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_config(f)
    }
}

impl ConfigError {
    /// The top-level, origin and route-shape messages.
    fn fmt_config(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ConfigError::*;
        match self {
            Shape { place, error } => write!(f, "{place}{error}"),
            Toml { message } => write!(f, "TOML syntax: {message}"),
            MissingVar { table } => {
                write!(f, "no `{table}` table (edgecache reads its config from it)")
            }
            UnknownTable {
                table,
                name,
                suggestion,
            } => {
                let what = if table.ends_with("vars") {
                    "var"
                } else {
                    "table"
                };
                let table = if table.is_empty() {
                    "at the top level".to_string()
                } else {
                    format!("in `[{table}]`")
                };
                write!(
                    f,
                    "unknown {what} `{name}` {table}; did you mean `{suggestion}`? \
                     (edgecache reads only `[vars.EDGECACHE]`: it would never see this)"
                )
            }
            BadDuration {
                place,
                field,
                error,
            } => write!(f, "{place}field `{field}`: {error}"),
            BadOrigin { value, reason } => {
                write!(f, "field `origin`: bad origin {value:?}: {reason}")
            }
            BadUrl {
                place,
                field,
                value,
                reason,
            } => {
                write!(f, "{place}field `{field}`: bad URL {value:?}: {reason}")
            }
            BadRouteName { name } => {
                write!(
                    f,
                    "route `{name}`: field `name`: bad name {name:?} (use [a-z0-9_-]+)"
                )
            }
            DuplicateRoute { name } => {
                write!(f, "route `{name}`: field `name`: duplicate route name")
            }
            UnreachableRoute {
                route,
                pattern,
                shadowed_by,
            } => write!(
                f,
                "route `{route}`: field `path`: unreachable route: {pattern:?} is matched first by \
                 route `{shadowed_by}` (order routes from most to least specific)"
            ),
            BadPath {
                route,
                value,
                reason,
            } => {
                write!(
                    f,
                    "route `{route}`: field `path`: bad path pattern {value:?}: {reason}"
                )
            }
            _ => self.fmt_field(f),
        }
    }

    /// The messages about one field (headers, statuses, query rules, tags, limits, values).
    fn fmt_field(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ConfigError::*;
        match self {
            BadHeaderName {
                place,
                field,
                value,
            } => {
                write!(f, "{place}field `{field}`: bad header name {value:?}")
            }
            ForbiddenHeader { field, value } => write!(
                f,
                "field `{field}`: header {value:?} must never be forwarded (it lets a client \
                 change the origin's view of the host, path or method)"
            ),
            CredentialInVary { route, value } => write!(
                f,
                "route `{route}`: field `vary`: {value:?} is a credential; use `per_user = true` \
                 (keys on a keyed hash of the credential)"
            ),
            VaryNotForwarded { route, value } => write!(
                f,
                "route `{route}`: field `vary`: header {value:?} is not in `forward_headers` \
                 (the origin would never see it)"
            ),
            BadStatus { route, value } => write!(
                f,
                "route `{route}`: field `status_ttl`: bad status {value:?} (use 100..=599)"
            ),
            BadCredential { route, value } => write!(
                f,
                "route `{route}`: field `credentials`: bad credential {value:?} \
                 (use \"authorization\" or \"cookie:NAME\")"
            ),
            _ => self.fmt_rules(f),
        }
    }

    /// The messages about query rules, tags, limits and other values.
    fn fmt_rules(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ConfigError::*;
        match self {
            ClampRange {
                route,
                param,
                min,
                max,
            } => write!(
                f,
                "route `{route}`: field `query.clamp`: `{param}`: min {min} > max {max}"
            ),
            AllowAndDeny { route } => write!(
                f,
                "route `{route}`: field `query`: `allow` and `deny` are mutually exclusive"
            ),
            ExcludedParam {
                route,
                field,
                param,
            } => write!(
                f,
                "route `{route}`: field `query.{field}`: param `{param}` is removed by the \
                 allow/deny list"
            ),
            BadParamName {
                place,
                field,
                value,
            } => {
                write!(f, "{place}field `{field}`: bad parameter name {value:?}")
            }
            BadTag {
                route,
                value,
                reason,
            } => {
                write!(
                    f,
                    "route `{route}`: field `tags`: bad tag {value:?}: {reason}"
                )
            }
            UnknownTagParam {
                route,
                template,
                param,
            } => write!(
                f,
                "route `{route}`: field `tags`: {template:?} names `{{{param}}}`, which is not a \
                 path parameter of this route"
            ),
            BadLimit { field, value } => {
                write!(
                    f,
                    "limits: field `{field}`: {value} is out of range (1..=1048576)"
                )
            }
            BadValue {
                place,
                field,
                value,
                reason,
            } => {
                write!(f, "{place}field `{field}`: bad value {value:?}: {reason}")
            }
            _ => write!(f, "{self:?}"),
        }
    }
}
