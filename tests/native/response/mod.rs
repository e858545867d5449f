//! `response`: what is stored (`decide_store`), freshness and age,
//! revalidation, conditional requests, ranges, delivery.

mod age;
mod conditional;
mod delivery;
mod freshness;
mod range;
mod revalidation;
mod store_policy;
mod store_rfc;
