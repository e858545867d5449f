//! HTTP building blocks with no knowledge of edgecache's config: a header
//! list, the request method, `Cache-Control`, HTTP dates, `Cache-Status`,
//! connection-specific fields, reserved names, text primitives and Unix-time
//! instants. The bottom layer: it imports nothing else from the crate.

pub mod cache_control;
pub mod cache_status;
pub mod date;
pub mod fields;
pub mod headers;
pub mod method;
pub mod request_cc;
pub mod reserved;
pub mod targeted;
pub mod text;
pub mod time;
