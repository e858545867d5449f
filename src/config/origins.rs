//! Named origins (`[vars.EDGECACHE.origins.NAME]`): where a route's misses go.
//!
//! The top-level `origin` stays the default (every route without `origin =`
//! uses it, so configs written before named origins keep working). A named
//! origin is one of:
//! - `http`: any HTTP(S) host, as the default origin;
//! - `s3`: an S3-compatible bucket (AWS S3, R2's S3 API, GCS's XML API,
//!   MinIO, B2) reached over HTTP, path- or virtual-host-style, public or
//!   `private` (each request then signed with SigV4: `request::sigv4`, keys
//!   from the secrets [`S3Origin::secret_names`]);
//! - `r2`: an R2 bucket binding, read without an HTTP hop.
//!
//! HAZARD: a private bucket's objects become public the moment a route
//! caches them for everyone, so a route on a private origin (every `r2`
//! origin is one: a binding needs no credentials) must say `serve_private =
//! true` (checked in `config::route`).

use super::error::{ConfigError, Place};
use super::fields::from_value;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// Longest origin name (it becomes part of secret names).
const MAX_NAME: usize = 32;
/// S3's limit on a key (and so on a prefix), in UTF-8 bytes.
pub const MAX_OBJECT_KEY_BYTES: usize = 1024;

#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    Http(url::Url),
    S3(S3Origin),
    R2(R2Origin),
}

impl Origin {
    /// A bucket (only GET and HEAD reach it; its internals are never relayed).
    pub fn is_bucket(&self) -> bool {
        !matches!(self, Origin::Http(_))
    }

    /// Its objects are not public: a route serving them must say so.
    pub fn is_private(&self) -> bool {
        match self {
            Origin::Http(_) => false,
            Origin::S3(s) => s.private,
            Origin::R2(_) => true,
        }
    }

    /// The object key prefix of a bucket (`""` for `http`).
    pub fn prefix(&self) -> &str {
        match self {
            Origin::Http(_) => "",
            Origin::S3(s) => &s.prefix,
            Origin::R2(r) => &r.prefix,
        }
    }
}

/// How the bucket is named in the URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressStyle {
    /// `https://BUCKET.endpoint-host/KEY` (AWS's default).
    Virtual,
    /// `https://endpoint-host/BUCKET/KEY` (MinIO, moto, R2's S3 API, GCS).
    Path,
}

#[derive(Debug, Clone, PartialEq)]
pub struct S3Origin {
    /// The origin's name (secret names derive from it).
    pub name: String,
    /// Scheme, host and port, e.g. `https://s3.eu-west-1.amazonaws.com`.
    pub endpoint: url::Url,
    /// SigV4 region (`auto` for R2 and GCS).
    pub region: String,
    pub bucket: String,
    /// Prepended to every object key (`media/`).
    pub prefix: String,
    pub style: AddressStyle,
    /// Requests are signed; objects served only on routes with `serve_private`.
    pub private: bool,
}

impl S3Origin {
    /// The secrets holding the access key pair:
    /// `EDGECACHE_S3_<NAME>_ACCESS_KEY_ID`, `EDGECACHE_S3_<NAME>_SECRET_ACCESS_KEY`
    /// (name upper-cased). Set with `wrangler secret put`, never in `[vars]`.
    pub fn secret_names(&self) -> [String; 2] {
        let n = self.name.to_ascii_uppercase();
        [
            format!("EDGECACHE_S3_{n}_ACCESS_KEY_ID"),
            format!("EDGECACHE_S3_{n}_SECRET_ACCESS_KEY"),
        ]
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct R2Origin {
    /// The `[[r2_buckets]]` binding name.
    pub binding: String,
    pub prefix: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOrigin {
    kind: String,
    url: Option<String>,
    endpoint: Option<String>,
    region: Option<String>,
    bucket: Option<String>,
    prefix: Option<String>,
    style: Option<String>,
    #[serde(default)]
    private: bool,
    binding: Option<String>,
}

/// `origins`: name → origin. Names are `[a-z][a-z0-9_]*`; `default` is the
/// top-level `origin` and cannot be redefined.
pub(super) fn parse_origins(v: Option<Value>) -> Result<BTreeMap<String, Origin>, ConfigError> {
    let mut out = BTreeMap::new();
    let Some(v) = v else { return Ok(out) };
    let table: BTreeMap<String, Value> = from_value(Place::Section("origins"), v)?;
    for (name, raw) in table {
        let good = name.len() <= MAX_NAME
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !good || name == "default" {
            return Err(ConfigError::BadValue {
                place: Place::Section("origins"),
                field: "name",
                value: name,
                reason: "an origin name is a-z, 0-9 and _, starts with a letter, at most 32 \
                         characters, and is not `default` (the top-level origin)",
            });
        }
        let place = Place::Origin(name.clone());
        let raw: RawOrigin = from_value(place.clone(), raw)?;
        let origin = parse_one(&name, raw, &place)?;
        out.insert(name, origin);
    }
    Ok(out)
}

fn bad(place: &Place, field: &'static str, value: &str, reason: &'static str) -> ConfigError {
    ConfigError::BadValue {
        place: place.clone(),
        field,
        value: value.to_string(),
        reason,
    }
}

fn required(place: &Place, field: &'static str, v: Option<String>) -> Result<String, ConfigError> {
    v.ok_or_else(|| bad(place, field, "", "required"))
}

/// A field of another kind of origin, given: an error, not ignored.
fn unused(
    place: &Place,
    fields: &[(&'static str, &Option<String>)],
    reason: &'static str,
) -> Result<(), ConfigError> {
    match fields.iter().find_map(|(f, v)| Some((*f, v.as_ref()?))) {
        Some((f, v)) => Err(bad(place, f, v, reason)),
        None => Ok(()),
    }
}

fn parse_one(name: &str, raw: RawOrigin, place: &Place) -> Result<Origin, ConfigError> {
    match raw.kind.as_str() {
        "http" => {
            let others = [
                ("endpoint", &raw.endpoint),
                ("bucket", &raw.bucket),
                ("binding", &raw.binding),
                ("prefix", &raw.prefix),
                ("style", &raw.style),
                ("region", &raw.region),
            ];
            unused(place, &others, "not for kind = \"http\" (a `url` only)")?;
            let url = required(place, "url", raw.url)?;
            let parsed = parse_origin_url(&url).map_err(|_| {
                let why = "http(s) scheme, host and port only, e.g. https://api.example.com";
                bad(place, "url", &url, why)
            })?;
            Ok(Origin::Http(parsed))
        }
        "s3" => parse_s3(name, raw, place),
        "r2" => {
            let others = [
                ("url", &raw.url),
                ("endpoint", &raw.endpoint),
                ("bucket", &raw.bucket),
                ("style", &raw.style),
                ("region", &raw.region),
            ];
            unused(
                place,
                &others,
                "not for kind = \"r2\" (it reads its `binding`)",
            )?;
            let binding = required(place, "binding", raw.binding)?;
            let ok = binding.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && binding
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !ok {
                return Err(bad(
                    place,
                    "binding",
                    &binding,
                    "a binding name: letters, digits, _",
                ));
            }
            Ok(Origin::R2(R2Origin {
                binding,
                prefix: parse_prefix(raw.prefix, place)?,
            }))
        }
        other => Err(bad(place, "kind", other, "one of \"http\", \"s3\", \"r2\"")),
    }
}

fn parse_s3(name: &str, raw: RawOrigin, place: &Place) -> Result<Origin, ConfigError> {
    let others = [("url", &raw.url), ("binding", &raw.binding)];
    unused(
        place,
        &others,
        "not for kind = \"s3\" (`endpoint` and `bucket`)",
    )?;
    let endpoint = required(place, "endpoint", raw.endpoint)?;
    let endpoint = parse_origin_url(&endpoint).map_err(|_| {
        let why = "scheme, host and port only, e.g. https://s3.eu-west-1.amazonaws.com";
        bad(place, "endpoint", &endpoint, why)
    })?;
    let bucket = required(place, "bucket", raw.bucket)?;
    if !valid_bucket(&bucket) {
        let why = "3 to 63 characters: a-z, 0-9, `.`, `-`, `_`";
        return Err(bad(place, "bucket", &bucket, why));
    }
    let region = raw.region.unwrap_or_else(|| "us-east-1".to_string());
    if region.is_empty()
        || !region
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        let why = "letters, digits and `-` (e.g. eu-west-1, auto)";
        return Err(bad(place, "region", &region, why));
    }
    let style = match raw.style.as_deref() {
        None | Some("virtual") => AddressStyle::Virtual,
        Some("path") => AddressStyle::Path,
        Some(o) => return Err(bad(place, "style", o, "\"virtual\" or \"path\"")),
    };
    if style == AddressStyle::Virtual && bucket.contains('.') && endpoint.scheme() == "https" {
        let why = "a bucket name with `.` breaks the TLS certificate of virtual-host style: \
                   use style = \"path\"";
        return Err(bad(place, "style", "virtual", why));
    }
    Ok(Origin::S3(S3Origin {
        name: name.to_string(),
        endpoint,
        region,
        bucket,
        prefix: parse_prefix(raw.prefix, place)?,
        style,
        private: raw.private,
    }))
}

/// S3's bucket naming rules, loosely: what can appear in a host label or a path.
fn valid_bucket(b: &str) -> bool {
    (3..=63).contains(&b.len())
        && b.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b".-_".contains(&c))
        && !b.starts_with(['.', '-'])
}

/// A key prefix: no leading `/`, no `.`/`..` segment, no control character.
fn parse_prefix(p: Option<String>, place: &Place) -> Result<String, ConfigError> {
    let p = p.unwrap_or_default();
    let dot = p.split('/').any(|s| s == "." || s == "..");
    if p.starts_with('/') || dot || p.chars().any(char::is_control) || p.len() > 512 {
        return Err(ConfigError::BadValue {
            place: place.clone(),
            field: "prefix",
            value: p,
            reason: "an object key prefix such as \"media/\": no leading `/`, no `.` or `..` \
                     segment, no control character, at most 512 bytes",
        });
    }
    Ok(p)
}

/// The top-level `origin` and an `http` origin's `url`: scheme, host, port.
pub(super) fn parse_origin_url(s: &str) -> Result<url::Url, ConfigError> {
    let bad = |reason| ConfigError::BadOrigin {
        value: s.to_string(),
        reason,
    };
    let u = url::Url::parse(s).map_err(|_| bad("not an absolute URL"))?;
    if u.scheme() != "http" && u.scheme() != "https" {
        return Err(bad("scheme must be http or https"));
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err(bad("no host"));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(bad("no user info allowed"));
    }
    if u.path() != "/" || u.query().is_some() || u.fragment().is_some() {
        return Err(bad("no path, query or fragment allowed"));
    }
    Ok(u)
}
