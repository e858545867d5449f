//! Names edgecache reserves on the wire. A client can send any of them; each
//! place that reads a request or a stored entry must treat them as ours.

/// Path prefix of the worker's own endpoints (`purge`, `explain`): never
/// forwarded to the origin, never cached.
pub const RESERVED_PREFIX: &str = "/__edgecache/";

/// The query parameter that carries the variant part of a key. An incoming
/// one is always dropped (a client must not forge a variant), and no route
/// may name it in its query rules.
pub const VARIANT_PARAM: &str = "__edgecache";

/// Prefix of every internal header on stored entries (`flow::entry`).
/// HAZARD: such headers must be stripped before a response leaves the worker.
pub const INTERNAL_PREFIX: &str = "x-edgecache-";
