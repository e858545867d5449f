//! How the cache's copy of an origin body is written: whole, or streamed
//! through a length guard.

pub use crate::config::BUFFERED_COPY_LIMIT;

/// How the cache's copy of an origin body is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyStrategy {
    /// Read whole (in JS memory, never Wasm) and put only if complete: a
    /// truncated or errored body never reaches the cache.
    Buffered { expected: Option<u64>, limit: u64 },
    /// Too large to hold: stream into `cache.put`, with a guard that errors the
    /// stream on a short body, and delete the entry if it was incomplete. Best
    /// effort: a runtime that commits what it got may briefly hold a partial
    /// entry before the delete lands.
    Streamed { expected: u64 },
}

/// Chooses how to write the cache's copy from the stored `Content-Length`.
/// Unknown length (chunked) is buffered up to the limit; past it, not stored.
pub fn copy_strategy(content_length: Option<u64>) -> CopyStrategy {
    match content_length {
        Some(n) if n > BUFFERED_COPY_LIMIT => CopyStrategy::Streamed { expected: n },
        expected => CopyStrategy::Buffered {
            expected,
            limit: BUFFERED_COPY_LIMIT,
        },
    }
}

/// How writing the cache's copy ended: logged once per copy (the event
/// `cache_store`), since the answer's `Cache-Status` leaves before it is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyOutcome {
    /// The Cache API holds the whole copy.
    Stored,
    /// The body errored or ended short of its `Content-Length` (or passed the
    /// buffered limit without one): nothing is kept.
    Incomplete,
    /// The Cache API refused the put (or the copy could not be made).
    PutFailed,
}

impl CopyOutcome {
    /// The log's token.
    pub fn as_str(&self) -> &'static str {
        match self {
            CopyOutcome::Stored => "stored",
            CopyOutcome::Incomplete => "incomplete",
            CopyOutcome::PutFailed => "put_failed",
        }
    }
}
