//! `Cache-Status` (RFC 9211) values, built with a typed builder.
//!
//! Output is a single list member for this cache, parameters in a fixed order:
//! `hit`, `fwd`, `fwd-status`, `stored`, `collapsed`, `ttl`, `key`, `detail`.
//! Example: `edgecache; fwd=miss; fwd-status=200; ttl=900`.

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

/// Why, in one token, for `Cache-Status: detail=` (RFC 9211 §2.9). Each
/// variant renders as a stable snake_case token ([`Detail::as_str`]); logs,
/// tests and operators match on them, so never rename one.
///
/// The reasons of higher layers (why a response was not stored, why a request
/// bypassed the cache) are enums of their own that this layer cannot name; they
/// enter as [`Detail::Reason`] through their `From` conversions
/// (`response::store::NotStoredReason`, `request::key::BypassReason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// The request broke a size limit (URL, params, headers) and was refused.
    Limits,
    /// The request could not be keyed (bad URL, per-user route without a secret).
    BadRequest,
    /// No route matches: passed through.
    NoRoute,
    /// A GET with a body: passed through (the body is not in the key).
    RequestBody,
    /// The stored entry was purged since it was fetched.
    Purged,
    /// The stored entry is past its TTL (and any stale window that applies).
    Expired,
    /// Served stale while a background refresh runs (RFC 5861 §3).
    StaleWhileRevalidate,
    /// The stored entry was purged soft since it was fetched: stale, served
    /// only inside its stale windows while it revalidates.
    SoftPurged,
    /// Served from the isolate's memory tier.
    Memory,
    /// A collapsed miss's follower: answered from what the one origin request
    /// for its key stored (`flow::collapse`).
    Collapsed,
    /// The stored entry's internal headers are missing or garbled.
    UnreadableEntry,
    /// Purge generations could not be read: nothing stored is served (fail safe).
    GenerationsUnavailable,
    /// Served under the KV bound only: this isolate's view of the purge log is
    /// older than the fast bound and the writer could not be read (backing off).
    FastPathUnreachable,
    /// Served under the KV bound only: part of the purge log was dropped
    /// before this isolate read it.
    FastPathGap,
    /// The origin answered 5xx.
    OriginError,
    /// The origin could not be reached.
    OriginUnreachable,
    /// The origin did not answer in time.
    OriginTimeout,
    /// The origin answered with a status no HTTP response may carry on
    /// (outside 200..=599: the Fetch API refuses to build it).
    OriginInvalid,
    /// The body is larger than the Cache API stores.
    TooLarge,
    /// The response carries more tags than an entry may be stamped with.
    TooManyTags,
    /// The worker's configuration is invalid.
    ConfigInvalid,
    /// An unknown path under the reserved prefix.
    ReservedPath,
    /// The explain endpoint.
    Explain,
    /// The purge webhook.
    Purge,
    /// A reason token from a higher layer (see the type's docs). Rendered as a
    /// token when it is one, else as a string.
    Reason(&'static str),
}

impl Detail {
    /// The stable token.
    pub fn as_str(&self) -> &'static str {
        match self {
            Detail::Limits => "limits",
            Detail::BadRequest => "bad_request",
            Detail::NoRoute => "no_route",
            Detail::RequestBody => "request_body",
            Detail::Purged => "purged",
            Detail::FastPathUnreachable => "fast_path_unreachable",
            Detail::FastPathGap => "fast_path_gap",
            Detail::Expired => "expired",
            Detail::StaleWhileRevalidate => "stale_while_revalidate",
            Detail::SoftPurged => "soft_purged",
            Detail::Memory => "memory",
            Detail::Collapsed => "collapsed",
            Detail::UnreadableEntry => "unreadable_entry",
            Detail::GenerationsUnavailable => "generations_unavailable",
            Detail::OriginError => "origin_error",
            Detail::OriginUnreachable => "origin_unreachable",
            Detail::OriginTimeout => "origin_timeout",
            Detail::OriginInvalid => "origin_invalid",
            Detail::TooLarge => "too_large",
            Detail::TooManyTags => "too_many_tags",
            Detail::ConfigInvalid => "config_invalid",
            Detail::ReservedPath => "reserved_path",
            Detail::Explain => "explain",
            Detail::Purge => "purge",
            Detail::Reason(token) => token,
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
    detail: Option<Detail>,
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

    /// The response was stored (§2.6): only for a copy known to be in the
    /// cache when the field is written. A miss's copy is written after its
    /// answer leaves, so `flow::origin` never claims it.
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

    /// Implementation-specific detail (§2.9); a later call replaces an earlier one.
    pub fn detail(mut self, detail: Detail) -> Self {
        self.detail = Some(detail);
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
        if let Some(d) = self.detail.as_ref().map(Detail::as_str) {
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
