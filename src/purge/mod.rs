//! Purging, everywhere: the signed webhook (`signature`, `body`, `webhook`),
//! what it writes (`generations`: purge times per name in Workers KV), what it
//! answers (`receipt`), the fast path beside KV (`log`: the writer's log of
//! recent purges; `fastview`: an isolate's view of it), and the optional
//! Cloudflare zone purge (`zone`).
//! Pure: the glue performs the KV writes, deletes and API calls planned here.

pub mod body;
pub mod cache_tag;
pub mod fastview;
pub mod generations;
pub mod log;
pub mod mark;
pub mod memo;
pub mod receipt;
pub mod record;
pub mod signature;
pub mod webhook;
pub mod writer;
pub mod zone;
pub mod zone_queue;
