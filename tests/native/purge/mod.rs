//! `purge`: webhook bodies, signatures and size, purge records, generations and
//! marks, the writer and its log, zone purges.

mod body;
mod cache_tag;
mod generations;
mod log;
mod log_order;
mod marks;
mod no_resurrection;
mod prefix_hosts;
mod record;
mod signature;
mod webhook_size;
mod writer;
mod zone;
mod zone_queue;
