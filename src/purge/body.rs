//! The purge webhook's body and its limits (the receipt is in `receipt.rs`).
//!
//! Body (JSON object, every field optional, at least one non-empty or `true`):
//! `{"tags": [...], "urls": [...], "prefixes": [...], "everything": false, "soft": false}`.
//! `soft: true` marks what matches stale instead of gone (`purge::record`).
//! Unknown fields are refused, and every error names the field (`field `tagz` is unknown`,
//! `tags[3]: ...`). The body must already have passed [`crate::purge::signature::verify`].
//!
//! Limits are constants below; the glue enforces [`MAX_BODY_BYTES`] (413) before any HMAC
//! work, and [`parse_purge_body`] checks it again.

use serde_json::Value;
use std::fmt;

/// Largest accepted webhook body (64 KiB). Checked by the glue before verification.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Most tags in one call.
pub const MAX_TAGS: usize = 500;
/// Longest tag, in bytes.
pub const MAX_TAG_BYTES: usize = 1024;
/// Most URLs in one call.
pub const MAX_URLS: usize = 500;
/// Longest URL or URL prefix, in bytes.
pub const MAX_URL_BYTES: usize = 8192;
/// Most prefixes in one call.
pub const MAX_PREFIXES: usize = 100;
/// Most tags + urls + prefixes together in one call. Each item is one Workers KV write,
/// and a Worker invocation may make at most 1,000 KV operations
/// (<https://developers.cloudflare.com/kv/platform/limits/>); 900 leaves room for the
/// receipt read and write.
pub const MAX_ITEMS: usize = 900;
/// Most items in one soft purge: each is a KV read and a write (the read keeps the
/// name's last hard purge, see `purge::record`), within the same 1,000 operations.
pub const MAX_SOFT_ITEMS: usize = 450;
/// Deepest prefix, in path segments. A request checks one prefix generation per segment
/// boundary of its path, up to this depth (see [`crate::purge::generations`]), so a deeper prefix
/// could never be reached and is refused.
pub const MAX_PREFIX_DEPTH: usize = 32;

/// A validated purge request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PurgeRequest {
    /// Tags as given (deduplicated, order kept).
    pub tags: Vec<String>,
    /// Absolute http(s) URLs as given (deduplicated, order kept). The glue maps them to
    /// key URLs (the key module's normalization) before use.
    pub urls: Vec<String>,
    pub prefixes: Vec<Prefix>,
    pub everything: bool,
    /// Mark matching entries stale instead of gone (`"soft": true`).
    pub soft: bool,
}

/// A path prefix, optionally bound to a host.
///
/// Prefixes match at path-segment boundaries: `/api/courses` covers `/api/courses`,
/// `/api/courses/`, `/api/courses/12/` and `/api/courses?page=2`, but not
/// `/api/courses-archive`. A trailing `/` is dropped (`/api/courses/` means the same as
/// `/api/courses`), so the prefix also covers the collection URL itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prefix {
    /// As received, for the receipt.
    pub raw: String,
    /// Lower-case `host[:port]` when the prefix was a full URL; `None` for a `/path` prefix,
    /// which applies to the host the webhook was received on.
    pub host: Option<String>,
    /// `/` or `/seg/seg` — no trailing slash, no empty, `.` or `..` segments, no query.
    pub path: String,
}

impl Prefix {
    /// The host this prefix applies to.
    pub(crate) fn host_or<'a>(&'a self, default_host: &'a str) -> &'a str {
        self.host.as_deref().unwrap_or(default_host)
    }
}

/// Why a webhook body was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PurgeBodyError {
    /// Larger than [`MAX_BODY_BYTES`].
    TooLarge { len: usize },
    /// Not JSON at all (serde_json's message).
    NotJson(String),
    /// JSON, but not an object.
    NotObject,
    /// A top-level field we do not know.
    UnknownField(String),
    /// A field (`tags`, `tags[3]`, `everything`) has the wrong JSON type.
    WrongType {
        field: String,
        expected: &'static str,
    },
    /// More items than a limit allows.
    TooMany {
        field: &'static str,
        got: usize,
        max: usize,
    },
    /// One item is invalid; `field` is e.g. `urls[2]`.
    Invalid { field: String, reason: String },
    /// Nothing to purge: every list empty and `everything` not true.
    Empty,
}

impl PurgeBodyError {
    /// The one place a body error becomes an HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            PurgeBodyError::TooLarge { .. } => 413,
            _ => 400,
        }
    }
}

impl fmt::Display for PurgeBodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PurgeBodyError::TooLarge { len } => {
                write!(f, "body is {len} bytes; at most {MAX_BODY_BYTES} allowed")
            }
            PurgeBodyError::NotJson(e) => write!(f, "body is not JSON: {e}"),
            PurgeBodyError::NotObject => f.write_str("body must be a JSON object"),
            PurgeBodyError::UnknownField(name) => write!(f, "field `{name}` is unknown"),
            PurgeBodyError::WrongType { field, expected } => {
                write!(f, "{field}: expected {expected}")
            }
            PurgeBodyError::TooMany { field, got, max } => {
                write!(f, "{field}: {got} items; at most {max} allowed")
            }
            PurgeBodyError::Invalid { field, reason } => write!(f, "{field}: {reason}"),
            PurgeBodyError::Empty => f.write_str(
                "nothing to purge: give tags, urls or prefixes, or set everything to true",
            ),
        }
    }
}

impl std::error::Error for PurgeBodyError {}

/// Parses and validates a (verified) webhook body.
pub fn parse_purge_body(bytes: &[u8]) -> Result<PurgeRequest, PurgeBodyError> {
    if bytes.len() > MAX_BODY_BYTES {
        return Err(PurgeBodyError::TooLarge { len: bytes.len() });
    }
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| PurgeBodyError::NotJson(e.to_string()))?;
    let Value::Object(map) = value else {
        return Err(PurgeBodyError::NotObject);
    };
    let mut req = PurgeRequest::default();
    let mut total = 0;
    for (key, val) in &map {
        match key.as_str() {
            "tags" => {
                let items = string_list("tags", val, MAX_TAGS)?;
                total += items.len();
                for (i, t) in items.iter().enumerate() {
                    check_tag(t).map_err(|reason| invalid("tags", i, reason))?;
                }
                req.tags = dedup(items);
            }
            "urls" => {
                let items = string_list("urls", val, MAX_URLS)?;
                total += items.len();
                for (i, u) in items.iter().enumerate() {
                    check_url(u).map_err(|reason| invalid("urls", i, reason))?;
                }
                req.urls = dedup(items);
            }
            "prefixes" => {
                let items = string_list("prefixes", val, MAX_PREFIXES)?;
                total += items.len();
                let mut out: Vec<Prefix> = Vec::with_capacity(items.len());
                for (i, p) in items.iter().enumerate() {
                    let prefix =
                        parse_prefix(p).map_err(|reason| invalid("prefixes", i, reason))?;
                    if !out
                        .iter()
                        .any(|o| o.host == prefix.host && o.path == prefix.path)
                    {
                        out.push(prefix);
                    }
                }
                req.prefixes = out;
            }
            "everything" => req.everything = flag("everything", val)?,
            "soft" => req.soft = flag("soft", val)?,
            other => return Err(PurgeBodyError::UnknownField(other.to_string())),
        }
    }
    let (field, max) = if req.soft {
        ("tags + urls + prefixes of a soft purge", MAX_SOFT_ITEMS)
    } else {
        ("tags + urls + prefixes", MAX_ITEMS)
    };
    if total > max {
        return Err(PurgeBodyError::TooMany {
            field,
            got: total,
            max,
        });
    }
    if !req.everything && req.tags.is_empty() && req.urls.is_empty() && req.prefixes.is_empty() {
        return Err(PurgeBodyError::Empty);
    }
    Ok(req)
}

/// A `true`/`false` field (`null` = false).
fn flag(field: &str, val: &Value) -> Result<bool, PurgeBodyError> {
    match val {
        Value::Bool(b) => Ok(*b),
        Value::Null => Ok(false),
        _ => Err(PurgeBodyError::WrongType {
            field: field.into(),
            expected: "true or false",
        }),
    }
}

fn invalid(field: &str, i: usize, reason: String) -> PurgeBodyError {
    PurgeBodyError::Invalid {
        field: format!("{field}[{i}]"),
        reason,
    }
}

fn string_list(
    field: &'static str,
    val: &Value,
    max: usize,
) -> Result<Vec<String>, PurgeBodyError> {
    let arr = match val {
        Value::Null => return Ok(Vec::new()),
        Value::Array(a) => a,
        _ => {
            return Err(PurgeBodyError::WrongType {
                field: field.into(),
                expected: "an array of strings",
            })
        }
    };
    if arr.len() > max {
        return Err(PurgeBodyError::TooMany {
            field,
            got: arr.len(),
            max,
        });
    }
    arr.iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::String(s) => Ok(s.clone()),
            _ => Err(PurgeBodyError::WrongType {
                field: format!("{field}[{i}]"),
                expected: "a string",
            }),
        })
        .collect()
}

fn dedup(items: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    items
        .into_iter()
        .filter(|s| seen.insert(s.clone()))
        .collect()
}

/// Tags: 1..=1024 bytes of printable ASCII `!`..=`~`, no comma. Spaces and commas are the
/// separators of `Cache-Tag`/`Surrogate-Key` headers (and Cloudflare refuses spaces in
/// cache tags), so a tag containing one could never have been attached to a response.
/// Tags compare case-insensitively, as Cloudflare's do.
pub fn check_tag(t: &str) -> Result<(), String> {
    if t.is_empty() {
        return Err("tag is empty".into());
    }
    if t.len() > MAX_TAG_BYTES {
        return Err(format!(
            "tag is {} bytes; at most {MAX_TAG_BYTES} allowed",
            t.len()
        ));
    }
    if let Some(c) = t.chars().find(|&c| !('!'..='~').contains(&c) || c == ',') {
        return Err(format!(
            "character {c:?} (U+{:04X}) is not allowed in a tag",
            c as u32
        ));
    }
    Ok(())
}

fn check_url(u: &str) -> Result<url::Url, String> {
    if u.len() > MAX_URL_BYTES {
        return Err(format!(
            "URL is {} bytes; at most {MAX_URL_BYTES} allowed",
            u.len()
        ));
    }
    let parsed = url::Url::parse(u).map_err(|e| format!("not an absolute URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!("scheme `{}` is not http or https", parsed.scheme()));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err("URL has no host".into());
    }
    if parsed.fragment().is_some() {
        return Err("URL has a fragment".into());
    }
    Ok(parsed)
}

/// A prefix is `/path` (this host) or an absolute http(s) URL (its host and path are
/// taken; a query or fragment is refused).
fn parse_prefix(p: &str) -> Result<Prefix, String> {
    let (host, path) = if p.starts_with('/') {
        if p.len() > MAX_URL_BYTES {
            return Err(format!(
                "prefix is {} bytes; at most {MAX_URL_BYTES} allowed",
                p.len()
            ));
        }
        if let Some(c) = p.chars().find(|&c| !('!'..='~').contains(&c)) {
            return Err(format!(
                "character {c:?} (U+{:04X}) is not allowed in a prefix",
                c as u32
            ));
        }
        if p.contains(['?', '#']) {
            return Err("a prefix cannot have a query or fragment".into());
        }
        (None, p.to_string())
    } else if p.starts_with("http://") || p.starts_with("https://") {
        let url = check_url(p)?;
        if url.query().is_some() {
            return Err("a prefix cannot have a query".into());
        }
        let host = crate::request::key::key_host(&url).ok_or("URL has no host")?;
        (Some(host), url.path().to_string())
    } else {
        return Err("a prefix must start with `/` or be an absolute http(s) URL".into());
    };
    // Segments are checked as written (so `/api/../x` is refused, not resolved), then the
    // path is spelled as request paths are: the URL parser, then `key::canonical_path`.
    // Requests check prefix names built from their canonical path, so a prefix spelled
    // otherwise (`/api/%63ourses`, `/a{b}`) would silently purge nothing (found by
    // fuzzing). One that no canonical path can have (`;`, a bad `%`, an escaped `/`) is
    // refused.
    segment_depth(&path)?;
    let canonical = canonical_prefix_path(&path).ok_or_else(|| {
        "a prefix with `;`, a bad `%` escape, or an escaped `/`, `\\`, `;`, `#`, `?`, `.` \
         or control byte never matches a cached path"
            .to_string()
    })?;
    segment_depth(&canonical)?;
    let trimmed = canonical.trim_end_matches('/');
    Ok(Prefix {
        raw: p.to_string(),
        host,
        path: if trimmed.is_empty() {
            "/".to_string()
        } else {
            trimmed.to_string()
        },
    })
}

/// The canonical spelling of a request path (see `docs/keys.md`), or `None` when no
/// request with this path is ever keyed.
fn canonical_prefix_path(path: &str) -> Option<String> {
    let mut url = url::Url::parse("https://prefix.invalid/").ok()?;
    url.set_path(path);
    crate::request::key::canonical_path(url.path())
}

/// Depth in segments (a trailing `/` ignored); empty, `.` and `..` segments are refused.
fn segment_depth(path: &str) -> Result<usize, String> {
    let mut depth = 0;
    for seg in path.trim_end_matches('/').split('/').skip(1) {
        match seg {
            "" => return Err("a prefix cannot contain an empty segment (`//`)".into()),
            "." | ".." => return Err("a prefix cannot contain `.` or `..` segments".into()),
            _ => depth += 1,
        }
    }
    if depth > MAX_PREFIX_DEPTH {
        return Err(format!(
            "prefix has {depth} segments; at most {MAX_PREFIX_DEPTH} allowed"
        ));
    }
    Ok(depth)
}
