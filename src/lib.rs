//! edgecache: an edge cache for APIs and their media, on Cloudflare Workers.
//!
//! Everything outside `glue` is a pure core: no `worker` types, no clock, no I/O.
//! Time enters as a value (`now`, seconds since the Unix epoch). The wasm glue
//! (compiled only for `wasm32`) converts runtime types, calls one core function
//! and maps the result to a response.

pub mod cache_control;
pub mod cache_status;
pub mod conditional;
pub mod config;
pub mod delivery;
pub mod duration;
pub mod explain;
pub mod flow;
pub mod freshness;
pub mod generations;
pub mod headers;
pub mod httpdate;
pub mod key;
pub mod memory;
pub mod policy;
pub mod purge;
pub mod query;
pub mod range;
pub mod refresh;
pub mod request_policy;
pub mod routes;
pub mod signature;
pub mod simulate;
pub mod variant;
pub mod webhook;
pub mod zone_purge;

#[cfg(target_arch = "wasm32")]
mod glue;
