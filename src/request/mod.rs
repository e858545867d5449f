//! The request side: size limits, the query and path canonical forms, the
//! cache key with its variant dimensions, and what is forwarded to the origin.
//! Never imports `response` (and `response` never imports it).

pub mod canonical;
pub mod explain;
pub mod forward;
pub mod key;
pub mod limits;
pub mod object_key;
pub mod query;
pub mod s3;
pub mod sigv4;
mod tags;
pub mod variant;
