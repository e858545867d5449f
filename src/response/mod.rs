//! The response side: may an origin answer be stored and for how long
//! (`store`), its age on arrival (`age`), how fresh a stored one is (`freshness`), and how it is delivered
//! (`delivery`: conditional requests, byte ranges, `coding`: a coded body for
//! each client). Never imports `request`.

pub mod age;
pub mod bucket;
pub mod coding;
pub mod conditional;
pub mod delivery;
pub mod freshness;
pub mod media_type;
pub mod range;
pub mod revalidation;
pub mod store;
