//! `Cache-Status` (RFC 9211) values, built with a typed builder.
//!
//! Output is a single list member for this cache, parameters in a fixed order:
//! `hit`, `fwd`, `fwd-status`, `stored`, `collapsed`, `ttl`, `key`, `detail`.
//! Example: `edgecache; fwd=miss; stored; ttl=900`.

use std::fmt;

/// The cache name in every value (RFC 9211 §2).
pub const CACHE_NAME: &str = "edgecache";

/// Why the request went forward (RFC 9211 §2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fwd {
    Bypass,
    Method,
    UriMiss,
    VaryMiss,
    Miss,
    Request,
    Stale,
    Partial,
}

impl Fwd {
    pub fn as_str(&self) -> &'static str {
        match self {
            Fwd::Bypass => "bypass",
            Fwd::Method => "method",
            Fwd::UriMiss => "uri-miss",
            Fwd::VaryMiss => "vary-miss",
            Fwd::Miss => "miss",
            Fwd::Request => "request",
            Fwd::Stale => "stale",
            Fwd::Partial => "partial",
        }
    }
}

/// One `Cache-Status` member. Start from [`CacheStatus::hit`] or
/// [`CacheStatus::forward`]; `Display` renders it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheStatus {
    hit: bool,
    fwd: Option<Fwd>,
    fwd_status: Option<u16>,
    stored: bool,
    collapsed: bool,
    ttl: Option<i64>,
    key: Option<String>,
    detail: Option<String>,
}

impl CacheStatus {
    fn empty() -> Self {
        CacheStatus {
            hit: false,
            fwd: None,
            fwd_status: None,
            stored: false,
            collapsed: false,
            ttl: None,
            key: None,
            detail: None,
        }
    }

    /// Served from cache without going forward (§2.1).
    pub fn hit() -> Self {
        CacheStatus {
            hit: true,
            ..Self::empty()
        }
    }

    /// Went forward to the origin for `reason` (§2.2).
    pub fn forward(reason: Fwd) -> Self {
        CacheStatus {
            fwd: Some(reason),
            ..Self::empty()
        }
    }

    /// Status the origin answered with (§2.3).
    pub fn fwd_status(mut self, status: u16) -> Self {
        self.fwd_status = Some(status);
        self
    }

    /// The response was stored (§2.6).
    pub fn stored(mut self) -> Self {
        self.stored = true;
        self
    }

    /// The request was collapsed with another (§2.7).
    pub fn collapsed(mut self) -> Self {
        self.collapsed = true;
        self
    }

    /// Remaining freshness in seconds; negative when stale (§2.5).
    pub fn ttl(mut self, ttl: i64) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// The cache key (§2.8). Pass `None` unless debug is on: keys can reveal
    /// how requests are normalized, which helps an attacker aim a poisoning.
    pub fn key(mut self, key: Option<&str>) -> Self {
        self.key = key.map(str::to_string);
        self
    }

    /// Implementation-specific detail (§2.9), e.g. a `NotStoredReason::as_str()`.
    /// Rendered as a token when it is one, else as a string.
    pub fn detail(mut self, detail: &str) -> Self {
        self.detail = Some(detail.to_string());
        self
    }
}

impl fmt::Display for CacheStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(CACHE_NAME)?;
        if self.hit {
            f.write_str("; hit")?;
        }
        if let Some(fwd) = self.fwd {
            write!(f, "; fwd={}", fwd.as_str())?;
        }
        if let Some(s) = self.fwd_status {
            write!(f, "; fwd-status={s}")?;
        }
        if self.stored {
            f.write_str("; stored")?;
        }
        if self.collapsed {
            f.write_str("; collapsed")?;
        }
        if let Some(t) = self.ttl {
            write!(f, "; ttl={t}")?;
        }
        if let Some(k) = &self.key {
            write!(f, "; key={}", sf_string(k))?;
        }
        if let Some(d) = &self.detail {
            if is_sf_token(d) {
                write!(f, "; detail={d}")?;
            } else {
                write!(f, "; detail={}", sf_string(d))?;
            }
        }
        Ok(())
    }
}

/// Structured Fields token (RFC 8941 §3.3.4).
fn is_sf_token(s: &str) -> bool {
    let mut b = s.bytes();
    match b.next() {
        Some(c) if c.is_ascii_alphabetic() || c == b'*' => {}
        _ => return false,
    }
    b.all(|c| crate::http::text::is_tchar(c) || c == b':' || c == b'/')
}

/// Structured Fields string (RFC 8941 §3.3.3): `"` and `\` escaped;
/// characters outside printable ASCII (which sf-string cannot carry) dropped.
fn sf_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            _ => {}
        }
    }
    out.push('"');
    out
}
