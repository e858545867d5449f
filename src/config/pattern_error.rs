//! Why a route path pattern is invalid (`config::pattern::parse_pattern`); its
//! text is the tail of `ConfigError::BadPath`'s message.

use std::fmt;

/// Why `parse_pattern` refused a pattern: one variant per rule, so a caller (or
/// a test) can tell the reasons apart without reading the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternError {
    /// The pattern does not start with `/`.
    NoLeadingSlash,
    /// Two slashes in a row (`/a//b`).
    EmptySegment,
    /// A `.` or `..` segment, which the URL parser resolves before routing.
    DotSegment,
    /// `*` anywhere but as the whole last segment.
    MisplacedWildcard,
    /// `:name(conv)` with a converter other than `int`, `slug` or `uuid`.
    UnknownConverter,
    /// `:` with no name after it.
    EmptyParamName,
    /// A parameter name outside `[A-Za-z_][A-Za-z0-9_]*`.
    BadParamName,
    /// The same parameter name twice in one pattern.
    DuplicateParam,
    /// A literal segment with a byte a canonical path never holds there.
    BadLiteral,
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PatternError::NoLeadingSlash => "must start with \"/\"",
            PatternError::EmptySegment => "empty segment (\"//\")",
            PatternError::DotSegment => {
                "\".\" and \"..\" segments never reach a route (the URL parser resolves them)"
            }
            PatternError::MisplacedWildcard => {
                "\"*\" is only allowed as the whole last segment, as in \"/media/*\""
            }
            PatternError::UnknownConverter => {
                "unknown converter: use :name, :name(int), :name(slug) or :name(uuid)"
            }
            PatternError::EmptyParamName => "empty parameter name after \":\"",
            PatternError::BadParamName => "parameter names are [A-Za-z_][A-Za-z0-9_]*",
            PatternError::DuplicateParam => "parameter name used twice",
            PatternError::BadLiteral => {
                "literal segments may use only letters, digits and -._~!$&'()+,=@: \
                 (no %, ;, ?, #, spaces)"
            }
        })
    }
}
