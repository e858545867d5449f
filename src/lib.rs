//! edgecache: an edge cache for APIs and their media, on Cloudflare Workers.
//!
//! Everything outside `glue` is a pure core: no `worker` types, no clock, no I/O.
//! Time enters as a value (`now`: an `http::time::UnixSecs`, or `UnixMillis`
//! for purge times). The wasm glue (compiled only for `wasm32`) converts
//! runtime types, calls one core function and maps the result to a response.
//!
//! Layers, lowest first (`docs/architecture.md`; `tests/native/layers.rs` enforces it):
//! `http` ← `config` ← `request` | `response` ← `purge` ← `flow` ← `glue`, CLI.
//! A module imports only from its own layer's lower modules and from lower layers.

pub mod config;
pub mod flow;
pub mod http;
pub mod purge;
#[cfg(not(target_arch = "wasm32"))]
pub mod report;
pub mod request;
pub mod response;
#[cfg(not(target_arch = "wasm32"))]
pub mod sim;
#[cfg(not(target_arch = "wasm32"))]
pub mod simulate;

#[cfg(target_arch = "wasm32")]
mod glue;
