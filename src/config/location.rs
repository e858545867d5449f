//! Where in the `EDGECACHE` table an error sits, as a path of keys, so the CLI
//! can point at the line of wrangler.toml (`config/wrangler.rs`). The worker
//! never needs it: its config is JSON with no lines.

use super::error::{ConfigError, Place};
use super::shape::ShapeProblem;

/// One step into the table: a key, or a route found by its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Index(usize),
    /// The last route named so (a duplicate is the later one).
    RouteNamed(String),
}

fn place_steps(place: &Place) -> Vec<Step> {
    match place {
        Place::Top => Vec::new(),
        Place::Section(s) => vec![Step::Key((*s).to_string())],
        Place::Route(n) => vec![Step::Key("routes".into()), Step::RouteNamed(n.clone())],
        Place::RouteIndex(i) => vec![Step::Key("routes".into()), Step::Index(*i)],
        Place::Origin(n) => vec![Step::Key("origins".into()), Step::Key(n.clone())],
    }
}

/// `query.clamp.perpage[1]` → keys `query`, `clamp`, `perpage`, index 1.
fn dotted(path: &str) -> Vec<Step> {
    let mut out = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let mut pieces = part.split('[');
        if let Some(key) = pieces.next().filter(|k| !k.is_empty()) {
            out.push(Step::Key(key.to_string()));
        }
        for idx in pieces {
            if let Ok(i) = idx.trim_end_matches(']').parse() {
                out.push(Step::Index(i));
            }
        }
    }
    out
}

fn route(name: &str, field: &str) -> Vec<Step> {
    let mut s = place_steps(&Place::Route(name.to_string()));
    s.extend(dotted(field));
    s
}

impl ConfigError {
    /// The path of the bad value inside the `EDGECACHE` table, as deep as it is
    /// known (a missing field points at its table). Empty for errors outside it.
    pub fn steps(&self) -> Vec<Step> {
        use ConfigError::*;
        let at = |place: &Place, field: &str| {
            let mut s = place_steps(place);
            s.extend(dotted(field));
            s
        };
        match self {
            Shape { place, error } => {
                let mut s = at(place, &error.path);
                if let ShapeProblem::UnknownField { field, .. } = &error.problem {
                    s.push(Step::Key(field.clone()));
                }
                s
            }
            Toml { .. } | MissingVar { .. } | UnknownTable { .. } => Vec::new(),
            BadDuration { place, field, .. } => at(place, field),
            BadOrigin { .. } => at(&Place::Top, "origin"),
            ForbiddenHeader { field, .. } => at(&Place::Top, field),
            BadUrl { place, field, .. }
            | BadHeaderName { place, field, .. }
            | BadParamName { place, field, .. }
            | BadValue { place, field, .. } => at(place, field),
            BadLimit { field, .. } => at(&Place::Section("limits"), field),
            BadRouteName { name } | DuplicateRoute { name } => route(name, "name"),
            UnreachableRoute { route: r, .. } | BadPath { route: r, .. } => route(r, "path"),
            CredentialInVary { route: r, .. } | VaryNotForwarded { route: r, .. } => {
                route(r, "vary")
            }
            BadStatus { route: r, value } => route(r, &format!("status_ttl.{value}")),
            BadCredential { route: r, .. } => route(r, "credentials"),
            ClampRange {
                route: r, param, ..
            } => route(r, &format!("query.clamp.{param}")),
            AllowAndDeny { route: r } => route(r, "query.deny"),
            ExcludedParam {
                route: r,
                field,
                param,
            } => route(r, &format!("query.{field}.{param}")),
            BadTag { route: r, .. } | UnknownTagParam { route: r, .. } => route(r, "tags"),
        }
    }
}
