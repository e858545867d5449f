//! The request flow as pure decisions: what to do with an incoming request, with
//! a stored entry, and with an origin answer. The wasm glue performs the I/O
//! each step names (cache get/put, KV reads, origin fetch) and nothing else.
//!
//! ```text
//! plan() ─► Reserved | Reject | Pass | Lookup
//! Lookup: cache.get(key) ─► on_stored() ─► Serve | Revalidate(serve stale) | Miss | Unverifiable
//!         miss: fetch origin_url with origin_headers ─► on_origin() ─► client headers + optional store
//!         stale with a validator: a conditional fetch ─► 304 ─► revalidate::on_not_modified()
//! ```
//!
//! HAZARD: every header added to stored entries under `x-edgecache-` is internal
//! and must be stripped before a response leaves the worker
//! ([`stored::client_headers`]). The stored format is in [`entry`].

pub mod bucket;
pub mod bucket_read;
pub mod client_cc;
pub mod collapse;
pub mod copies;
pub mod copy;
pub mod entry;
pub mod explain;
pub mod fastpath;
pub mod fetched;
pub mod flight;
pub mod invalidate;
pub mod isolate;
pub mod lookup;
pub mod marks;
pub mod memory;
pub mod miss;
pub mod observe;
pub mod origin;
pub mod pass;
pub mod plan;
pub mod platform;
pub mod purge_request;
pub mod refresh;
pub mod reply;
pub mod revalidate;
pub mod settle;
pub mod stored;
pub mod writer;
pub mod writer_host;
pub mod writer_zone;

pub use copy::{copy_strategy, CopyOutcome, CopyStrategy};
pub use entry::StoredEntry;
pub use origin::{on_origin, uncached_client_headers, FetchStart, OriginDecision, StoredCopy};
pub use plan::{plan, Incoming, Lookup, Plan, Reserved};
pub use stored::{client_headers, on_stored, stale_on_error, StoredDecision};
