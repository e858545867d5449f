//! Validated configuration: the types every other module reads.
//!
//! `Config::from_json` (`config/parse.rs`, routes in `config/route.rs`) turns the
//! `EDGECACHE` var (a JSON object: wrangler turns `[vars.EDGECACHE]` into one)
//! into these types, validating every field with errors that name the route and
//! field (`config/error.rs`); it never panics. The worker does this once per
//! isolate; `edgecache check` runs the same code on wrangler.toml.
//!
//! Files, lowest first (none imports this facade, nor a higher one):
//! `duration`, `query_rules`, `pattern_error` → `pattern` → `defaults` → `model` → `shape` → `error` →
//! `fields` → `lifetime` → `route` → `parse` → `location` (→ `wrangler` → `production` → `production_purge`, native only).

mod defaults;
pub mod duration;
mod error;
mod fields;
mod lifetime;
mod location;
mod model;
mod observability;
pub mod origins;
mod parse;
pub mod pattern;
mod pattern_error;
#[cfg(not(target_arch = "wasm32"))]
mod production;
#[cfg(not(target_arch = "wasm32"))]
mod production_purge;
pub mod query_rules;
mod route;
mod route_origin;
mod shape;
#[cfg(not(target_arch = "wasm32"))]
mod wrangler;

pub use defaults::{
    BUFFERED_COPY_LIMIT, CREDENTIAL_HEADERS, DEFAULT_API_BASE, DEFAULT_CLOCK_SKEW,
    DEFAULT_CREDENTIALS, DEFAULT_FORWARD_HEADERS, DEFAULT_KEEP, DEFAULT_TAG_HEADERS,
    DEFAULT_TRACKING_PARAMS, FAST_READ_TIMEOUT_MS, FORBIDDEN_FORWARD_HEADERS, MAX_ENTRY_LIFETIME,
    MAX_KEEP, MAX_MEMORY_AGE, MAX_MEMORY_BYTES,
};
pub use duration::Secs;
pub use error::{ConfigError, Place};
pub use location::Step;
pub use model::{
    Config, Credential, Limits, MemorySettings, ObservabilitySettings, PurgeSettings, Route,
    RouteKind, TtlMode, ZonePlan,
};
pub use origins::{AddressStyle, Origin, R2Origin, S3Origin};
pub use pattern::{parse_pattern, Converter, PathPattern, PathSegment};
pub use pattern_error::PatternError;
#[cfg(not(target_arch = "wasm32"))]
pub use production::{needed_secrets, Finding, SecretNeed, KV_BINDING, SECRETS};
pub use query_rules::{ParamFilter, QueryRules};
pub use shape::{ShapeError, ShapeProblem};
#[cfg(not(target_arch = "wasm32"))]
pub use wrangler::{load_wrangler_toml, wrangler_var_json, LineCol, WranglerError, WranglerFile};
