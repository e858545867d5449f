//! Reading the config from `wrangler.toml` (native only: the CLI; the worker
//! receives the var already parsed), with errors that point at the line.
//!
//! Wrangler does not inherit `[vars]` into `[env.NAME]`: an environment must
//! declare its own `[env.NAME.vars.EDGECACHE]`, so we never fall back to the
//! top-level table when an environment is named.

use super::error::ConfigError;
use super::location::Step;
use super::model::Config;
use super::shape::closest;
use std::fmt;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// The var edgecache reads.
const VAR: &str = "EDGECACHE";

/// A line and column of wrangler.toml (both from 1), and that line's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineCol {
    pub line: usize,
    pub column: usize,
    pub text: String,
}

impl LineCol {
    /// The position of byte `offset` in `text`.
    pub fn at(text: &str, offset: usize) -> LineCol {
        let offset = offset.min(text.len());
        let before = text.get(..offset).unwrap_or("");
        let start = before.rfind('\n').map_or(0, |i| i + 1);
        let end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        LineCol {
            line: before.matches('\n').count() + 1,
            column: before[start..].chars().count() + 1,
            text: text[start..end].trim_end_matches('\r').to_string(),
        }
    }
}

/// A config error with where it sits in the file, when that is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WranglerError {
    pub error: ConfigError,
    pub at: Option<Box<LineCol>>,
}

impl fmt::Display for WranglerError {
    /// `LINE:COL: message` (the caller puts the file name in front).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.at {
            Some(p) => write!(f, "{}:{}: {}", p.line, p.column, self.error),
            None => write!(f, "{}", self.error),
        }
    }
}

/// A parsed wrangler.toml and the environment to read (`None`: the top level).
pub struct WranglerFile<'t> {
    text: &'t str,
    pub(super) doc: toml::Table,
    pub(super) env: Option<String>,
}

impl<'t> WranglerFile<'t> {
    /// Parses the TOML (a syntax error carries its line and column) and
    /// refuses a table that looks like a misspelt `[vars.EDGECACHE]`.
    pub fn parse(text: &'t str, env: Option<&str>) -> Result<WranglerFile<'t>, WranglerError> {
        let doc: toml::Table = toml::from_str(text).map_err(|e| WranglerError {
            error: ConfigError::Toml {
                message: e.message().trim_end().to_string(),
            },
            at: e.span().map(|s| Box::new(LineCol::at(text, s.start))),
        })?;
        let file = WranglerFile {
            text,
            doc,
            env: env.map(String::from),
        };
        file.check_table_names()?;
        Ok(file)
    }

    /// `[]` or `["env", NAME]`: where this environment's tables live.
    pub(super) fn root_steps(&self) -> Vec<String> {
        match &self.env {
            None => Vec::new(),
            Some(e) => vec!["env".into(), e.clone()],
        }
    }

    /// The table this environment's keys live in (`None`: no such environment).
    pub(super) fn root(&self) -> Option<&toml::Table> {
        match &self.env {
            None => Some(&self.doc),
            Some(e) => self.doc.get("env")?.as_table()?.get(e)?.as_table(),
        }
    }

    fn check_table_names(&self) -> Result<(), WranglerError> {
        let Some(root) = self.root() else {
            return Ok(());
        };
        let mut at = self.root_steps();
        let here = at.join(".");
        // `[var.EDGECACHE]`: a table holding EDGECACHE under another name.
        for (name, v) in root {
            if name != "vars" && v.as_table().is_some_and(|t| t.contains_key(VAR)) {
                return Err(self.unknown(&at, &here, name, "vars"));
            }
        }
        at.push("vars".into());
        let vars_at = at.join(".");
        for name in root
            .get("vars")
            .and_then(|v| v.as_table())
            .into_iter()
            .flat_map(|t| t.keys())
        {
            if name != VAR && closest(name, &[VAR]).is_some() {
                return Err(self.unknown(&at, &vars_at, name, VAR));
            }
        }
        Ok(())
    }

    fn unknown(&self, at: &[String], table: &str, name: &str, suggestion: &str) -> WranglerError {
        let mut steps: Vec<Step> = at.iter().map(|k| Step::Key(k.clone())).collect();
        steps.push(Step::Key(name.to_string()));
        WranglerError {
            error: ConfigError::UnknownTable {
                table: table.to_string(),
                name: name.to_string(),
                suggestion: suggestion.to_string(),
            },
            at: self.locate(&steps).map(Box::new),
        }
    }

    /// The `EDGECACHE` var as the worker receives it (a JSON value), unvalidated.
    pub fn var_json(&self) -> Result<serde_json::Value, WranglerError> {
        let mut table = self.root_steps();
        table.extend(["vars".to_string(), VAR.to_string()]);
        let var = self
            .root()
            .and_then(|t| t.get("vars"))
            .and_then(|v| v.as_table())
            .and_then(|t| t.get(VAR))
            .ok_or(ConfigError::MissingVar {
                table: table.join("."),
            })
            .map_err(|error| WranglerError { error, at: None })?;
        serde_json::to_value(var).map_err(|e| WranglerError {
            error: ConfigError::Toml {
                message: e.to_string(),
            },
            at: None,
        })
    }

    /// Validates the var with `Config::from_json`; an error points at the
    /// line of the bad value (or of its table, for a missing field).
    pub fn config(&self) -> Result<Config, WranglerError> {
        Config::from_json(&self.var_json()?).map_err(|error| {
            let mut steps: Vec<Step> = self.root_steps().into_iter().map(Step::Key).collect();
            steps.extend([Step::Key("vars".into()), Step::Key(VAR.into())]);
            steps.extend(error.steps());
            let at = self.locate(&steps).map(Box::new);
            WranglerError { error, at }
        })
    }

    /// The line of the deepest key of `steps` present in the file.
    pub fn locate(&self, steps: &[Step]) -> Option<LineCol> {
        let doc = DeTable::parse(self.text).ok()?;
        let mut span = None;
        let mut table: Option<&DeTable> = Some(doc.get_ref());
        let mut array: Option<&[Spanned<DeValue>]> = None;
        for step in steps {
            let next = match (step, table, array) {
                (Step::Key(k), Some(t), _) => t
                    .iter()
                    .find(|(key, _)| key.get_ref().as_ref() == k.as_str())
                    .map(|(key, v)| (v, Some(key.span()))),
                (Step::Index(i), _, Some(a)) => a.get(*i).map(|v| (v, None)),
                (Step::RouteNamed(n), _, Some(a)) => a
                    .iter()
                    .rev()
                    .find(|v| route_named(v, n))
                    .map(|v| (v, None)),
                _ => None,
            };
            let Some((value, key_span)) = next else {
                break;
            };
            span = key_span.or_else(|| Some(value.span()));
            (table, array) = match value.get_ref() {
                DeValue::Table(t) => (Some(t), None),
                DeValue::Array(a) => (None, Some(a.as_ref())),
                _ => (None, None),
            };
        }
        span.map(|s| LineCol::at(self.text, s.start))
    }
}

fn route_named(v: &Spanned<DeValue>, name: &str) -> bool {
    match v.get_ref() {
        DeValue::Table(t) => t.iter().any(|(k, v)| {
            k.get_ref().as_ref() == "name"
                && matches!(v.get_ref(), DeValue::String(s) if s.as_ref() == name)
        }),
        _ => false,
    }
}

/// Parses wrangler.toml text and validates `vars.EDGECACHE` (or, with `env`,
/// `env.<env>.vars.EDGECACHE`) with `Config::from_json`.
pub fn load_wrangler_toml(text: &str, env: Option<&str>) -> Result<Config, ConfigError> {
    WranglerFile::parse(text, env)
        .and_then(|f| f.config())
        .map_err(|e| e.error)
}

/// The `EDGECACHE` var as the worker receives it (a JSON value), unvalidated.
pub fn wrangler_var_json(text: &str, env: Option<&str>) -> Result<serde_json::Value, ConfigError> {
    WranglerFile::parse(text, env)
        .and_then(|f| f.var_json())
        .map_err(|e| e.error)
}
