//! edgecache: an edge cache for APIs and their media, on Cloudflare Workers.
//!
//! Everything outside `glue` is a pure core: no `worker` types, no clock, no I/O.
//! Time enters as a value (`now`, seconds since the Unix epoch). The wasm glue
//! (compiled only for `wasm32`) converts runtime types, calls one core function
//! and maps the result to a response.

pub mod config;
pub mod duration;
pub mod explain;
pub mod headers;
pub mod key;
pub mod query;
pub mod routes;
pub mod variant;

#[cfg(target_arch = "wasm32")]
mod glue;
