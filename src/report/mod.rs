//! `edgecache report`: what the cache did, from the worker's own log lines
//! (`flow::observe`, schema in `docs/observability.md`) or from the Analytics
//! Engine SQL API's rows: per route, requests, hit ratio (memory / cache),
//! origin offload, stale served, origin latency percentiles, bytes served from
//! the edge, the keys that missed most and why, and the purges. `html` draws
//! the same as a self-contained page of SVG charts.
//!
//! Pure: input is text (or the SQL API's JSON) the CLI read; output is text.

pub mod html;
pub mod read;
pub mod sql;
pub mod stats;
pub mod text;

pub use read::{read_lines, Lines};
pub use stats::{summarize, Report, RouteStats};
