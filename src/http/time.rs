//! Instants as Unix time: [`UnixSecs`] and [`UnixMillis`].
//!
//! Every instant that crosses a function boundary in the core is one of these,
//! so an instant cannot be passed where a duration is expected, nor seconds
//! where milliseconds are (purge times are milliseconds, freshness is seconds:
//! mixing them up would make every entry look fetched long after any purge).
//! Durations stay plain `u64` (seconds, as `config::Secs`, unless a name says
//! `_ms`).
//!
//! Nothing here reads a clock: the glue reads `Date.now()` and hands the core
//! these values (`SystemTime::now()` panics on `wasm32-unknown-unknown`).
//! Arithmetic saturates: a clock that reads earlier than a stored instant gives
//! an age of 0, never a panic or a wrap.
//!
//! Both serialize as the bare number (`serde(transparent)`, and `Display`), so
//! stored formats and JSON are the same as for a plain `u64`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Seconds since the Unix epoch.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct UnixSecs(pub u64);

/// Milliseconds since the Unix epoch.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct UnixMillis(pub u64);

impl UnixSecs {
    /// Seconds from `earlier` to `self`; 0 if `earlier` is later.
    pub fn saturating_sub(self, earlier: UnixSecs) -> u64 {
        self.0.saturating_sub(earlier.0)
    }

    /// `secs` seconds after `self` (the last instant there is, on overflow).
    pub fn saturating_add(self, secs: u64) -> UnixSecs {
        UnixSecs(self.0.saturating_add(secs))
    }

    /// The same instant in milliseconds (saturating).
    pub fn to_millis(self) -> UnixMillis {
        UnixMillis(self.0.saturating_mul(1000))
    }
}

impl UnixMillis {
    /// Milliseconds from `earlier` to `self`; 0 if `earlier` is later.
    pub fn saturating_sub(self, earlier: UnixMillis) -> u64 {
        self.0.saturating_sub(earlier.0)
    }

    /// `ms` milliseconds after `self` (the last instant there is, on overflow).
    pub fn saturating_add(self, ms: u64) -> UnixMillis {
        UnixMillis(self.0.saturating_add(ms))
    }

    /// The second this instant falls in (rounded down).
    pub fn to_secs(self) -> UnixSecs {
        UnixSecs(self.0 / 1000)
    }
}

impl fmt::Display for UnixSecs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Display for UnixMillis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}
