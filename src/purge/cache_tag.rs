//! The `Cache-Tag` a stored entry carries, so that a zone purge by tag
//! (Cloudflare's purge API, `{"tags": [...]}`) reaches every Cache API entry
//! stored under one of its purge names, in every data centre and for every
//! variant of a URL (a purge by URL, `files`, reaches only the plain entry).
//!
//! One tag per purge name ([`cache_tag`]); the zone purge of a name asks for
//! the same tag, so the put side and the purge side never disagree.

use super::generations::GenName;

/// Longest `Cache-Tag` value Cloudflare accepts on a response (16 KB,
/// <https://developers.cloudflare.com/cache/how-to/purge-cache/purge-by-tags/>).
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// Longest single tag Cloudflare accepts (1,024 characters).
pub const MAX_TAG_BYTES: usize = 1024;
/// Prefix of the tags edgecache derives from URL and prefix names.
pub const DERIVED_PREFIX: &str = "ec-";

/// The tag for purge name `name`:
/// - `tag:<t>` → `t` itself (lowercase, as the name keeps it), so a purge by
///   that tag from any tool reaches the entry; `None` when Cloudflare would
///   refuse it (empty, over [`MAX_TAG_BYTES`], a comma, space or control
///   character);
/// - `url:…` and `prefix:…` → `ec-<id>` ([`GenName::mark_id`]: a hash, fixed
///   length, safe characters; URLs may be long and hold commas);
/// - `all` → `None` (`purge_everything` reaches every entry).
pub fn cache_tag(name: &GenName) -> Option<String> {
    let text = name.as_str();
    if let Some(tag) = text.strip_prefix("tag:") {
        let ok = !tag.is_empty()
            && tag.len() <= MAX_TAG_BYTES
            && !tag
                .bytes()
                .any(|b| b == b',' || b == b' ' || b.is_ascii_control());
        return ok.then(|| tag.to_string());
    }
    if text.starts_with("url:") || text.starts_with("prefix:") {
        return Some(format!("{DERIVED_PREFIX}{}", name.mark_id()));
    }
    None
}

/// The `Cache-Tag` header value for an entry with purge names `names`: their
/// tags, deduplicated, comma-separated, in order, stopping before the value
/// would pass [`MAX_HEADER_BYTES`] (a tag left out only means a zone purge by
/// it misses this entry: the purge marks still hold it). `None` when no name
/// has a tag.
pub fn header(names: &[GenName]) -> Option<String> {
    let mut out = String::new();
    let mut seen = std::collections::HashSet::new();
    for tag in names.iter().filter_map(cache_tag) {
        if !seen.insert(tag.clone()) {
            continue;
        }
        let extra = tag.len() + usize::from(!out.is_empty());
        if out.len() + extra > MAX_HEADER_BYTES {
            break;
        }
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(&tag);
    }
    (!out.is_empty()).then_some(out)
}
