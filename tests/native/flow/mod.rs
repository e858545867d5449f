//! `flow`: the request sequence and the decisions along it (store, revalidate,
//! collapse, memory tier, buckets, invalidation, the log line).

mod after_fetch;
mod buckets;
mod cache_tag_put;
mod client_cache_control;
mod collapse;
mod compressed;
mod copy_strategy;
mod fastpath;
mod memory_tier;
mod observe;
mod refresh_gate;
mod revalidate;
mod sequence;
mod store;
mod tag_headers;
mod unsafe_invalidation;
mod writer;
