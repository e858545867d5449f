//! `request`: cache keys, what is forwarded to the origin and the request
//! limits, the SigV4 signer.

mod forwarding_and_limits;
mod keys;
mod sigv4;
