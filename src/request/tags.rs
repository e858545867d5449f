//! A route's tag templates (`course:{pk}`) expanded from the path a request
//! matched.

use crate::config::Route;
use std::borrow::Cow;

/// The route's tags with `{name}` expanded from the params `path` matched
/// (`,` escaped). One left-to-right pass per template; the same as replacing
/// each `{name}` in turn, since canonical path segments never hold `{` or `}`
/// (the URL parser escapes them), so a substituted value cannot form or break
/// another placeholder. Borrowed when there is nothing to expand.
pub(super) fn expand_tags<'c>(route: &'c Route, path: &str) -> Cow<'c, [String]> {
    let templates = &route.tags;
    if !route.path.has_params() || !templates.iter().any(|t| has_byte(t, b'{')) {
        return Cow::Borrowed(templates);
    }
    // The param whose name, then `}`, starts `after` (first in pattern order),
    // with its value: matched again on `path` rather than collected, so the
    // usual one placeholder per template costs no allocation.
    let param_at = |after: &str| {
        let mut hit = None;
        let matched = route.path.matches_with(path, |name, value| {
            if hit.is_none() && after.strip_prefix(name).is_some_and(|r| r.starts_with('}')) {
                hit = Some((name, value));
            }
        });
        hit.filter(|_| matched)
    };
    let expand = |t: &String| {
        if !has_byte(t, b'{') {
            return t.clone();
        }
        let mut s = String::with_capacity(t.len() + 16);
        let mut rest = t.as_str();
        while let Some(open) = rest.bytes().position(|b| b == b'{') {
            s.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            match param_at(after) {
                Some((name, value)) => {
                    // `,` separates tags in `Cache-Tag`; canonical segments may hold one.
                    if has_byte(value, b',') {
                        s.push_str(&value.replace(',', "%2C"));
                    } else {
                        s.push_str(value);
                    }
                    rest = &after[name.len() + 1..];
                }
                None => {
                    s.push('{');
                    rest = after;
                }
            }
        }
        s.push_str(rest);
        s
    };
    Cow::Owned(templates.iter().map(expand).collect())
}

/// `s.contains(b as char)` for an ASCII `b`, as a plain loop: tag templates
/// and path segments are a few bytes, too short for `memchr` to pay off.
fn has_byte(s: &str, b: u8) -> bool {
    s.bytes().any(|c| c == b)
}
