//! The request method (RFC 9110 §9), as the client sent it.
//!
//! Method names are case-sensitive (RFC 9110 §9.1): `get` is not `GET` but an
//! unknown method, kept as [`Method::Other`] and treated as unsafe. HAZARD:
//! matching methods case-insensitively would let `get` be served from (or fill)
//! the cache while an origin that routes on the exact name sees another method.
//! Parsing never fails and never rewrites: [`Method::as_str`] gives back exactly
//! what was sent, so a pass-through forwards the method unchanged.

use std::fmt;

/// A request method. The names RFC 9110 §9.3 defines (plus `PATCH`, RFC 5789)
/// have a variant each; any other string is [`Method::Other`], as sent.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Patch,
    Delete,
    Options,
    Trace,
    Connect,
    /// Any other method (`PROPFIND`, `PURGE`, `QUERY`, `get`...), exactly as sent.
    Other(String),
}

impl Method {
    /// The method named by `s`, compared case-sensitively. Never fails: a name
    /// that is not one of the known ones (including a known one in another
    /// case) is [`Method::Other`].
    pub fn parse(s: &str) -> Method {
        match s {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            "OPTIONS" => Method::Options,
            "TRACE" => Method::Trace,
            "CONNECT" => Method::Connect,
            other => Method::Other(other.to_string()),
        }
    }

    /// The method as sent.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
            Method::Trace => "TRACE",
            Method::Connect => "CONNECT",
            Method::Other(s) => s,
        }
    }

    /// Safe (RFC 9110 §9.2.1): GET, HEAD, OPTIONS and TRACE. Every other method,
    /// unknown ones included, is unsafe: a successful answer to it invalidates
    /// stored responses for its target (RFC 9111 §4.4).
    pub fn is_safe(&self) -> bool {
        matches!(
            self,
            Method::Get | Method::Head | Method::Options | Method::Trace
        )
    }

    /// GET or HEAD: the only methods this cache answers from, or stores for.
    /// HEAD shares GET's key (its answer is GET's without the body).
    pub fn is_get_or_head(&self) -> bool {
        matches!(self, Method::Get | Method::Head)
    }
}

impl From<&str> for Method {
    fn from(s: &str) -> Method {
        Method::parse(s)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
