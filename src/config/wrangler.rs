//! Reading the config from `wrangler.toml` (native only: the CLI; the worker
//! receives the var already parsed).
//!
//! Wrangler does not inherit `[vars]` into `[env.NAME]`: an environment must
//! declare its own `[env.NAME.vars.EDGECACHE]`, so we never fall back to the
//! top-level table when an environment is named.

use super::error::{ConfigError, Place};
use super::model::Config;

/// Parses wrangler.toml text and validates `vars.EDGECACHE` (or, with `env`,
/// `env.<env>.vars.EDGECACHE`) with `Config::from_json`.
pub fn load_wrangler_toml(text: &str, env: Option<&str>) -> Result<Config, ConfigError> {
    Config::from_json(&wrangler_var_json(text, env)?)
}

/// The `EDGECACHE` var as the worker receives it (a JSON value), unvalidated.
pub fn wrangler_var_json(text: &str, env: Option<&str>) -> Result<serde_json::Value, ConfigError> {
    let doc: toml::Table = toml::from_str(text).map_err(|e| ConfigError::Shape {
        place: Place::Top,
        message: format!("wrangler.toml: {}", e.message()),
    })?;
    let (table_name, root) = match env {
        None => ("vars.EDGECACHE".to_string(), Some(&doc)),
        Some(e) => (
            format!("env.{e}.vars.EDGECACHE"),
            doc.get("env")
                .and_then(|v| v.as_table())
                .and_then(|t| t.get(e))
                .and_then(|v| v.as_table()),
        ),
    };
    let var = root
        .and_then(|t| t.get("vars"))
        .and_then(|v| v.as_table())
        .and_then(|t| t.get("EDGECACHE"))
        .ok_or(ConfigError::MissingVar { table: table_name })?;
    serde_json::to_value(var).map_err(|e| ConfigError::Shape {
        place: Place::Top,
        message: e.to_string(),
    })
}
