//! Route path patterns: parsing, matching, and the "is this route reachable?" check.
//!
//! Patterns: literal segments, `:param` segments (one non-empty segment), and a
//! trailing `*` segment (`/media/*`: the rest of the path, zero or more characters
//! after `/media/`). Matching runs on the *canonical* path produced by the key
//! module (see `docs/keys.md`), never on the raw request path.
//!
//! The trailing slash is significant, as in Django's URL resolver: `/api/courses/`
//! and `/api/courses` are different paths (Django redirects one to the other with
//! `APPEND_SLASH`; that redirect is not the list).

use super::pattern_error::PatternError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSegment {
    Literal(String),
    /// `:name` — matches one non-empty segment (Django's `str`).
    Param(String),
    /// `:name(int)`, `:name(slug)`, `:name(uuid)` — one segment that Django's
    /// converter of that name accepts.
    Typed(String, Converter),
}

/// Django's path converters (`django.urls.converters`), so a route matches what
/// the view's URL pattern matches. A segment the converter refuses matches no
/// route: it passes through uncached, and Django answers it (404).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Converter {
    /// `[0-9]+`; the view gets `int(value)`, so `01` and `1` are one resource:
    /// keys, tags and the origin request use the canonical `1`.
    Int,
    /// `[-a-zA-Z0-9_]+`.
    Slug,
    /// Lower-case `8-4-4-4-12` hex, as Django's `uuid` converter.
    Uuid,
}

impl Converter {
    fn parse(name: &str) -> Option<Converter> {
        match name {
            "int" => Some(Converter::Int),
            "slug" => Some(Converter::Slug),
            "uuid" => Some(Converter::Uuid),
            _ => None,
        }
    }

    /// Whether the converter accepts a (canonical) segment.
    pub fn accepts(self, seg: &str) -> bool {
        let b = seg.as_bytes();
        match self {
            Converter::Int => !b.is_empty() && b.iter().all(u8::is_ascii_digit),
            Converter::Slug => {
                !b.is_empty()
                    && b.iter()
                        .all(|c| c.is_ascii_alphanumeric() || b"-_".contains(c))
            }
            Converter::Uuid => {
                b.len() == 36
                    && b.iter().enumerate().all(|(i, c)| match i {
                        8 | 13 | 18 | 23 => *c == b'-',
                        _ => c.is_ascii_digit() || (b'a'..=b'f').contains(c),
                    })
            }
        }
    }

    /// The value as the view sees it, written back: an `int` without leading
    /// zeros (`007` → `7`, `000` → `0`); `None` when the segment is canonical.
    fn canonical(self, seg: &str) -> Option<&str> {
        match self {
            Converter::Int if seg.len() > 1 && seg.starts_with('0') => {
                let t = seg.trim_start_matches('0');
                Some(if t.is_empty() { "0" } else { t })
            }
            _ => None,
        }
    }
}

/// `/api/courses/:pk/` → segments [Literal("api"), Literal("courses"), Param("pk")],
/// trailing_slash = true, wildcard = false. `/media/*` → [Literal("media")], wildcard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathPattern {
    pub source: String,
    pub segments: Vec<PathSegment>,
    pub trailing_slash: bool,
    pub wildcard: bool,
}

/// Path parameters captured by a match, in pattern order: `(name, value)`.
/// Values are canonical path segments (percent-encoded as in the key).
pub type Params = Vec<(String, String)>;

/// Parses a route path pattern; the error says which rule it breaks (its text
/// is the tail of `ConfigError::BadPath`'s message).
pub fn parse_pattern(source: &str) -> Result<PathPattern, PatternError> {
    let Some(rest) = source.strip_prefix('/') else {
        return Err(PatternError::NoLeadingSlash);
    };
    let mut pattern = PathPattern {
        source: source.to_string(),
        segments: Vec::new(),
        trailing_slash: false,
        wildcard: false,
    };
    if rest.is_empty() {
        // "/" — the root, which Django spells with a trailing slash.
        pattern.trailing_slash = true;
        return Ok(pattern);
    }
    let (body, wildcard, trailing) = if rest == "*" {
        ("", true, false)
    } else if let Some(b) = rest.strip_suffix("/*") {
        (b, true, false)
    } else if let Some(b) = rest.strip_suffix('/') {
        (b, false, true)
    } else {
        (rest, false, false)
    };
    pattern.wildcard = wildcard;
    pattern.trailing_slash = trailing;
    if body.is_empty() && wildcard {
        return Ok(pattern);
    }
    for seg in body.split('/') {
        if seg.is_empty() {
            return Err(PatternError::EmptySegment);
        }
        if seg == "." || seg == ".." {
            return Err(PatternError::DotSegment);
        }
        if seg.contains('*') {
            return Err(PatternError::MisplacedWildcard);
        }
        if let Some(spec) = seg.strip_prefix(':') {
            let (name, conv) = match spec.strip_suffix(')').and_then(|s| s.split_once('(')) {
                Some((name, conv)) => (
                    name,
                    Some(Converter::parse(conv).ok_or(PatternError::UnknownConverter)?),
                ),
                None => (spec, None),
            };
            if name.is_empty() {
                return Err(PatternError::EmptyParamName);
            }
            let mut chars = name.chars();
            let first_ok = chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
            if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(PatternError::BadParamName);
            }
            if pattern.param_names().any(|p| p == name) {
                return Err(PatternError::DuplicateParam);
            }
            pattern.segments.push(match conv {
                Some(c) => PathSegment::Typed(name.to_string(), c),
                None => PathSegment::Param(name.to_string()),
            });
        } else {
            if !seg.bytes().all(is_literal_byte) {
                return Err(PatternError::BadLiteral);
            }
            pattern.segments.push(PathSegment::Literal(seg.to_string()));
        }
    }
    Ok(pattern)
}

/// Bytes that appear literally in a canonical path segment and are safe in a
/// pattern. Percent-escapes are refused: a literal must be written the way the
/// canonical path spells it, and `%` invites double-decoding mistakes.
fn is_literal_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~!$&'()+,=@:".contains(&b)
}

fn segment_matches(pat: &PathSegment, seg: &str) -> bool {
    match pat {
        PathSegment::Literal(l) => l == seg,
        PathSegment::Param(_) => !seg.is_empty(),
        PathSegment::Typed(_, c) => c.accepts(seg),
    }
}

/// True when every segment `later` matches, `earlier` matches too.
fn segment_covers(earlier: &PathSegment, later: &PathSegment) -> bool {
    use PathSegment::{Literal, Param, Typed};
    match (earlier, later) {
        (Param(_), _) => true,
        (Literal(x), Literal(y)) => x == y,
        (Typed(_, c), Literal(y)) => c.accepts(y),
        (Typed(_, a), Typed(_, b)) => a == b || (*a == Converter::Slug && *b == Converter::Int),
        (Literal(_) | Typed(..), Param(_)) | (Literal(_), Typed(..)) => false,
    }
}

/// `s.split_once('/')` as a plain byte loop: every route is tried on every
/// request, and the paths are short (the char searcher's setup costs more).
fn split_slash(s: &str) -> Option<(&str, &str)> {
    let i = s.bytes().position(|b| b == b'/')?;
    Some((s.get(..i)?, s.get(i + 1..)?))
}

impl PathPattern {
    /// What a wildcard pattern's `*` matched in `path` (the path after the
    /// pattern's segments and their `/`); `None` when the pattern has no `*`
    /// or does not match. `/media/*` on `/media/a/b.jpg` → `a/b.jpg`.
    pub fn wildcard_rest<'p>(&self, path: &'p str) -> Option<&'p str> {
        if !self.wildcard || !self.matches_with(path, |_, _| ()) {
            return None;
        }
        let mut rest = path.strip_prefix('/')?;
        for _ in &self.segments {
            rest = rest.split_once('/')?.1;
        }
        Some(rest)
    }

    /// Matches a canonical path (starting with `/`); returns captured params.
    pub fn matches(&self, path: &str) -> Option<Params> {
        let mut params = Params::new();
        self.matches_with(path, |name, value| {
            params.push((name.to_string(), value.to_string()))
        })
        .then_some(params)
    }

    /// [`PathPattern::matches`] without allocating: hands each captured
    /// `(name, value)` to `capture`, in pattern order. Captures may be handed
    /// over before a later segment fails, so use them only when this returns true.
    pub(crate) fn matches_with<'s, 'p>(
        &'s self,
        path: &'p str,
        mut capture: impl FnMut(&'s str, &'p str),
    ) -> bool {
        let Some(mut rest) = path.strip_prefix('/') else {
            return false;
        };
        let mut segment = |pat: &'s PathSegment, seg: &'p str| {
            if !segment_matches(pat, seg) {
                return false;
            }
            if let PathSegment::Param(name) | PathSegment::Typed(name, _) = pat {
                capture(name, seg);
            }
            true
        };
        if self.wildcard {
            // Every prefix segment must be followed by "/": `/media/*` matches
            // `/media/` and `/media/a/b`, never `/media` or `/mediafoo`.
            for pat in &self.segments {
                let Some((seg, after)) = split_slash(rest) else {
                    return false;
                };
                if !segment(pat, seg) {
                    return false;
                }
                rest = after;
            }
            return true;
        }
        if rest.is_empty() {
            return self.segments.is_empty() && self.trailing_slash;
        }
        let mut body = match (self.trailing_slash, rest.strip_suffix('/')) {
            (true, Some(b)) => b,
            (false, None) => rest,
            _ => return false,
        };
        // `self.segments` may be empty only for "/" (handled above).
        let Some((last, init)) = self.segments.split_last() else {
            return false;
        };
        for pat in init {
            let Some((seg, after)) = split_slash(body) else {
                return false;
            };
            if !segment(pat, seg) {
                return false;
            }
            body = after;
        }
        !body.contains('/') && segment(last, body)
    }

    /// True when every path this pattern matches is also matched by `earlier`,
    /// so a route with this pattern placed after `earlier` can never be reached.
    pub fn is_covered_by(&self, earlier: &PathPattern) -> bool {
        let seg_covered = segment_covers;
        let n = earlier.segments.len();
        if earlier.wildcard {
            // Paths of `self` must all start with earlier's prefix followed by "/".
            let long_enough = if self.wildcard {
                self.segments.len() >= n
            } else {
                self.segments.len() > n || (self.segments.len() == n && self.trailing_slash)
            };
            return long_enough
                && earlier
                    .segments
                    .iter()
                    .zip(&self.segments)
                    .all(|(a, b)| seg_covered(a, b));
        }
        !self.wildcard
            && self.trailing_slash == earlier.trailing_slash
            && self.segments.len() == n
            && earlier
                .segments
                .iter()
                .zip(&self.segments)
                .all(|(a, b)| seg_covered(a, b))
    }

    /// True when the pattern has a `:param` segment.
    pub(crate) fn has_params(&self) -> bool {
        self.param_names().next().is_some()
    }

    /// Names of the `:param` segments, in order.
    pub(crate) fn param_names(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|s| match s {
            PathSegment::Param(p) | PathSegment::Typed(p, _) => Some(p.as_str()),
            PathSegment::Literal(_) => None,
        })
    }

    /// `path` (which this pattern matches) with each typed value written as
    /// the view reads it (`/api/courses/007/` → `/api/courses/7/` under
    /// `:pk(int)`): one resource, one key, one tag. Borrowed when nothing
    /// changes (every pattern without `(int)`).
    pub(crate) fn canonical_values<'p>(&self, path: &'p str) -> std::borrow::Cow<'p, str> {
        use std::borrow::Cow;
        if !self
            .segments
            .iter()
            .any(|s| matches!(s, PathSegment::Typed(_, Converter::Int)))
        {
            return Cow::Borrowed(path);
        }
        let mut out: Option<String> = None;
        let mut rest = path.get(1..).unwrap_or("");
        let mut at = 1;
        for pat in &self.segments {
            let seg = rest.split('/').next().unwrap_or("");
            if let PathSegment::Typed(_, c) = pat {
                if let Some(v) = c.canonical(seg) {
                    let o = out.get_or_insert_with(|| path.get(..at).unwrap_or("").to_string());
                    o.push_str(v);
                } else if let Some(o) = out.as_mut() {
                    o.push_str(seg);
                }
            } else if let Some(o) = out.as_mut() {
                o.push_str(seg);
            }
            at += seg.len();
            rest = rest.get(seg.len()..).unwrap_or("");
            if let Some(r) = rest.strip_prefix('/') {
                if let Some(o) = out.as_mut() {
                    o.push('/');
                }
                at += 1;
                rest = r;
            } else {
                break;
            }
        }
        match out {
            Some(mut o) => {
                o.push_str(rest);
                Cow::Owned(o)
            }
            None => Cow::Borrowed(path),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> PathPattern {
        match parse_pattern(s) {
            Ok(p) => p,
            Err(e) => panic!("{s}: {e}"),
        }
    }

    #[test]
    fn literal_pattern_respects_trailing_slash() {
        assert!(p("/api/courses/").matches("/api/courses/").is_some());
        assert!(p("/api/courses/").matches("/api/courses").is_none());
        assert!(p("/api/courses").matches("/api/courses/").is_none());
        assert!(p("/api/courses/").matches("/api/courses/x/").is_none());
    }

    #[test]
    fn param_matches_one_non_empty_segment() {
        let pat = p("/api/courses/:pk/");
        assert_eq!(
            pat.matches("/api/courses/42/"),
            Some(vec![("pk".into(), "42".into())])
        );
        assert!(pat.matches("/api/courses//").is_none());
        assert!(pat.matches("/api/courses/4/2/").is_none());
    }

    #[test]
    fn wildcard_matches_rest_after_prefix_slash() {
        let pat = p("/media/*");
        assert!(pat.matches("/media/").is_some());
        assert!(pat.matches("/media/a/b.jpg").is_some());
        assert!(pat.matches("/media").is_none());
        assert!(pat.matches("/mediafoo").is_none());
        assert!(p("/*").matches("/").is_some());
    }

    #[test]
    fn root_matches_only_root() {
        assert!(p("/").matches("/").is_some());
        assert!(p("/").matches("/a").is_none());
    }

    #[test]
    fn coverage_detects_shadowed_routes() {
        assert!(p("/api/courses/").is_covered_by(&p("/api/*")));
        assert!(p("/api/courses/").is_covered_by(&p("/api/courses/")));
        assert!(p("/api/courses/x/").is_covered_by(&p("/api/courses/:pk/")));
        assert!(p("/api/*").is_covered_by(&p("/*")));
        assert!(p("/api/").is_covered_by(&p("/api/*")));
        assert!(!p("/api").is_covered_by(&p("/api/*")));
        assert!(!p("/api/courses/:pk/").is_covered_by(&p("/api/courses/featured/")));
        assert!(!p("/*").is_covered_by(&p("/api/*")));
        assert!(!p("/api/courses").is_covered_by(&p("/api/courses/")));
    }

    #[test]
    fn rejects_bad_patterns_with_their_reason() {
        use super::PatternError::*;
        for (bad, why) in [
            ("", NoLeadingSlash),
            ("api/", NoLeadingSlash),
            ("/a//b", EmptySegment),
            ("/a/../b", DotSegment),
            ("/a/*/b", MisplacedWildcard),
            ("/a*", MisplacedWildcard),
            ("/:/", EmptyParamName),
            ("/:1x/", BadParamName),
            ("/:pk(float)/", UnknownConverter),
            ("/a%20b", BadLiteral),
            ("/a;b", BadLiteral),
            ("/:x/:x/", DuplicateParam),
        ] {
            assert_eq!(parse_pattern(bad).err(), Some(why), "{bad:?}");
        }
    }
}
