//! Request-side decisions on a cacheable route: which headers reach the
//! origin, request size limits, and media-type armor against cache deception.

use crate::config::Limits;
use crate::headers::Headers;

/// Hop-by-hop fields (RFC 9110 §7.6.1) plus `proxy-authorization`, which is
/// meant for the next proxy (us), never the origin.
pub const HOP_BY_HOP: &[&str] = &[
    "connection",
    "proxy-connection",
    "keep-alive",
    "te",
    "transfer-encoding",
    "upgrade",
    "trailer",
    "proxy-authorization",
];

/// Headers that rewrite how the origin sees the request (host, scheme, path,
/// method) but are not part of the cache key. Forwarding any of them lets one
/// client make the origin produce a response that is then stored under a key
/// every other client shares: cache poisoning. They never pass, even if a
/// config allow-lists them.
pub const POISONING_HEADERS: &[&str] = &[
    "x-forwarded-host",
    "x-forwarded-scheme",
    "x-forwarded-proto",
    "x-forwarded-port",
    "x-host",
    "forwarded",
    "x-original-url",
    "x-rewrite-url",
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
];

/// The headers sent to the origin on a cacheable route: only names in `allow`
/// (case-insensitive), never hop-by-hop fields, never names the client listed
/// in `Connection` (RFC 9110 §7.6.1), never [`POISONING_HEADERS`].
///
/// Hazard: every forwarded header that can change the response must also be
/// in the cache key (`route.vary`); this function cannot check that.
pub fn forwarded_headers(incoming: &Headers, allow: &[String]) -> Headers {
    let nominated = connection_nominated(incoming);
    incoming
        .iter()
        .filter(|(name, _)| {
            allow.iter().any(|a| a.eq_ignore_ascii_case(name))
                && !HOP_BY_HOP.contains(name)
                && !POISONING_HEADERS.contains(name)
                && !nominated.iter().any(|n| n == name)
        })
        .collect()
}

/// The field names a message's `Connection` header lists (lower-case): they
/// are hop-by-hop for that message (RFC 9110 §7.6.1).
pub fn connection_nominated(headers: &Headers) -> Vec<String> {
    headers
        .get_all("connection")
        .flat_map(|v| v.split(','))
        .map(|n| n.trim().to_ascii_lowercase())
        .filter(|n| !n.is_empty())
        .collect()
}

/// A request refused before any cache or origin work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LimitViolation {
    /// 414 URI Too Long (RFC 9110 §15.5.15).
    UriTooLong { len: usize, max: usize },
    /// 400: more query parameters than a key is built from.
    TooManyParams { count: usize, max: usize },
    /// 431 Request Header Fields Too Large (RFC 6585 §5): total size.
    HeadersTooLarge { bytes: usize, max: usize },
    /// 431: too many fields.
    TooManyHeaders { count: usize, max: usize },
}

impl LimitViolation {
    /// The HTTP status to answer with. The one place these map to a status.
    pub fn status(&self) -> u16 {
        match self {
            LimitViolation::UriTooLong { .. } => 414,
            LimitViolation::TooManyParams { .. } => 400,
            LimitViolation::HeadersTooLarge { .. } | LimitViolation::TooManyHeaders { .. } => 431,
        }
    }

    /// A short, client-safe message.
    pub fn message(&self) -> &'static str {
        match self {
            LimitViolation::UriTooLong { .. } => "URI too long",
            LimitViolation::TooManyParams { .. } => "too many query parameters",
            LimitViolation::HeadersTooLarge { .. } => "request header fields too large",
            LimitViolation::TooManyHeaders { .. } => "too many request header fields",
        }
    }
}

/// Checks request size limits, in this order: URL length, query parameter
/// count, header count, header bytes (each field counted as
/// `name.len() + value.len() + 4` for `": "` and CRLF, as on the wire).
pub fn check_limits(
    url_len: usize,
    query_param_count: usize,
    headers: &Headers,
    limits: &Limits,
) -> Result<(), LimitViolation> {
    if url_len > limits.max_url_bytes {
        return Err(LimitViolation::UriTooLong {
            len: url_len,
            max: limits.max_url_bytes,
        });
    }
    if query_param_count > limits.max_query_params {
        return Err(LimitViolation::TooManyParams {
            count: query_param_count,
            max: limits.max_query_params,
        });
    }
    check_header_limits(headers, limits)
}

/// The header half of [`check_limits`] (count, then total bytes with 4 bytes
/// of framing per field), shared with the key function.
pub fn check_header_limits(headers: &Headers, limits: &Limits) -> Result<(), LimitViolation> {
    if headers.len() > limits.max_headers {
        return Err(LimitViolation::TooManyHeaders {
            count: headers.len(),
            max: limits.max_headers,
        });
    }
    let bytes = headers.iter().fold(0usize, |acc, (n, v)| {
        acc.saturating_add(n.len() + v.len() + 4)
    });
    if bytes > limits.max_header_bytes {
        return Err(LimitViolation::HeadersTooLarge {
            bytes,
            max: limits.max_header_bytes,
        });
    }
    Ok(())
}

/// Whether a media response's `Content-Type` agrees with its path extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeCheck {
    Agrees,
    /// Known extension, other (or missing) media type: `/avatar.png` answered
    /// with `text/html` is the web cache deception pattern.
    Mismatch {
        ext: String,
        content_type: Option<String>,
    },
    /// The last path segment has no extension.
    NoExtension,
    /// An extension not in [`MEDIA_TYPES`] (includes `html`, `php`, and any
    /// extension carrying `;` or `%` tricks): never vouched for.
    UnknownExtension {
        ext: String,
    },
}

/// Extension → acceptable media types. HTML is deliberately absent: a media
/// route never stores HTML, the usual payload of cache deception.
pub const MEDIA_TYPES: &[(&str, &[&str])] = &[
    ("png", &["image/png"]),
    ("jpg", &["image/jpeg"]),
    ("jpeg", &["image/jpeg"]),
    ("gif", &["image/gif"]),
    ("webp", &["image/webp"]),
    ("avif", &["image/avif"]),
    ("svg", &["image/svg+xml"]),
    ("ico", &["image/x-icon", "image/vnd.microsoft.icon"]),
    ("css", &["text/css"]),
    ("js", &["text/javascript", "application/javascript"]),
    ("mjs", &["text/javascript", "application/javascript"]),
    ("json", &["application/json"]),
    ("map", &["application/json"]),
    ("pdf", &["application/pdf"]),
    ("mp4", &["video/mp4"]),
    ("webm", &["video/webm", "audio/webm"]),
    ("mp3", &["audio/mpeg"]),
    ("ogg", &["audio/ogg", "video/ogg", "application/ogg"]),
    ("wav", &["audio/wav", "audio/x-wav"]),
    ("woff", &["font/woff", "application/font-woff"]),
    ("woff2", &["font/woff2"]),
    ("ttf", &["font/ttf"]),
    ("otf", &["font/otf"]),
    ("txt", &["text/plain"]),
    ("csv", &["text/csv"]),
    ("bin", &["application/octet-stream"]),
    ("zip", &["application/zip"]),
    ("wasm", &["application/wasm"]),
];

/// Cache-deception armor for media routes: the extension of the last path
/// segment must map to the response's media type (parameters such as
/// `; charset=utf-8` ignored, comparison case-insensitive).
///
/// Only media routes use this. An API route is never made cacheable (or
/// uncacheable) by what its path ends with.
pub fn media_type_agrees(path: &str, content_type: Option<&str>) -> TypeCheck {
    let last = path.rsplit('/').next().unwrap_or("");
    let ext = match last.rsplit_once('.') {
        Some((_, ext)) if !ext.is_empty() => ext.to_ascii_lowercase(),
        _ => return TypeCheck::NoExtension,
    };
    let Some((_, types)) = MEDIA_TYPES.iter().find(|(e, _)| *e == ext) else {
        return TypeCheck::UnknownExtension { ext };
    };
    let essence = content_type.map(|ct| {
        ct.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    });
    match essence {
        Some(ref e) if types.contains(&e.as_str()) => TypeCheck::Agrees,
        _ => TypeCheck::Mismatch {
            ext,
            content_type: content_type.map(str::to_string),
        },
    }
}
