//! Shape errors (unknown field, missing field, wrong type) in the words of the
//! config, not of serde: the field path, what was expected and what was given,
//! and the likely fix (`did you mean `ttl`?`, `write it without quotes`).
//!
//! serde's messages have a fixed form (`serde::de::Error`'s provided methods):
//! `unknown field `x`, expected ...`, `missing field `x``, `invalid type: U,
//! expected E`, `invalid value: U, expected E`. Anything else is kept verbatim.

use std::fmt;

/// What is wrong with the shape of one value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShapeProblem {
    /// `field` is not one of `expected` (a typo, or a field of another table);
    /// `suggestion` is the closest of them, if one is close.
    UnknownField {
        field: String,
        expected: Vec<String>,
        suggestion: Option<String>,
    },
    MissingField {
        field: String,
    },
    /// A value of the wrong type: `expected` and `got` in the config's words,
    /// and a hint (` (write 5 without quotes)`) or "".
    WrongType {
        expected: String,
        got: String,
        hint: String,
    },
    /// Any other serde message (unknown variant, wrong length, bad JSON), verbatim.
    Other(String),
}

/// A shape error at `path` (dotted, `query.clamp.perpage[1]`; empty at the top
/// of the table being read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeError {
    pub path: String,
    pub problem: ShapeProblem,
}

impl ShapeError {
    /// From serde's message and the path `serde_path_to_error` tracked. In
    /// the worker (wasm32) serde's message is kept as it is: the rewording
    /// is for `edgecache check`, and would cost Wasm size.
    pub(super) fn new(path: &str, message: &str) -> ShapeError {
        let path = if path == "." { "" } else { path };
        #[cfg(not(target_arch = "wasm32"))]
        let problem = parse_message(message);
        #[cfg(target_arch = "wasm32")]
        let problem = ShapeProblem::Other(message.to_string());
        // For an unknown field the path ends with the unknown name itself.
        let path = match &problem {
            ShapeProblem::UnknownField { .. } => parent(path),
            _ => path,
        };
        ShapeError {
            path: path.to_string(),
            problem,
        }
    }

    /// A message with no path (bad JSON text).
    pub(super) fn other(message: String) -> ShapeError {
        ShapeError {
            path: String::new(),
            problem: ShapeProblem::Other(message),
        }
    }
}

fn parent(path: &str) -> &str {
    match path.rfind(['.', '[']) {
        Some(i) => &path[..i],
        None => "",
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn parse_message(m: &str) -> ShapeProblem {
    if let Some(rest) = m.strip_prefix("unknown field `") {
        if let Some((field, tail)) = rest.split_once('`') {
            let expected: Vec<String> = tail
                .split('`')
                .skip(1)
                .step_by(2)
                .map(String::from)
                .collect();
            let names: Vec<&str> = expected.iter().map(String::as_str).collect();
            return ShapeProblem::UnknownField {
                field: field.to_string(),
                suggestion: closest(field, &names).map(String::from),
                expected,
            };
        }
    }
    if let Some(field) = m
        .strip_prefix("missing field `")
        .and_then(|r| r.strip_suffix('`'))
    {
        return ShapeProblem::MissingField {
            field: field.to_string(),
        };
    }
    let body = m
        .strip_prefix("invalid type: ")
        .or_else(|| m.strip_prefix("invalid value: "));
    if let Some((got, expected)) = body.and_then(|b| b.rsplit_once(", expected ")) {
        let (expected, got) = (expected_words(expected), got_words(got));
        return ShapeProblem::WrongType {
            hint: unquote_hint(&expected, &got).unwrap_or_default(),
            expected,
            got,
        };
    }
    ShapeProblem::Other(m.to_string())
}

#[cfg(not(target_arch = "wasm32"))]
/// serde's `expected` text in the config's words.
fn expected_words(e: &str) -> String {
    match e {
        "u64" | "u32" | "usize" => "a whole number (no quotes)".into(),
        "i64" | "i32" => "an integer (no quotes)".into(),
        "a boolean" => "a boolean (true or false, no quotes)".into(),
        "a sequence" => "a list".into(),
        "a map" => "a table".into(),
        e if e.starts_with("struct ") => "a table".into(),
        e if e.starts_with("an array of length ") => {
            format!("a list of {}", e.trim_start_matches("an array of length "))
        }
        e => e.to_string(),
    }
}

#[cfg(not(target_arch = "wasm32"))]
/// serde's `Unexpected` text (`string "x"`, ``integer `1` ``) in the config's words.
fn got_words(g: &str) -> String {
    let unquote = |s: &str| s.trim_matches('`').to_string();
    if let Some(s) = g.strip_prefix("string ") {
        return format!("the string {s}");
    }
    for prefix in ["integer ", "floating point "] {
        if let Some(n) = g.strip_prefix(prefix) {
            return format!("the number {}", unquote(n));
        }
    }
    match g {
        "sequence" => "a list".into(),
        "map" => "a table".into(),
        g => g
            .strip_prefix("boolean ")
            .map_or_else(|| g.to_string(), unquote),
    }
}

#[cfg(not(target_arch = "wasm32"))]
/// The candidate closest to `word` (case-insensitive edit distance at most 2,
/// or one contains the other), for a `did you mean` hint.
pub(crate) fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let w = word.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| (edit_distance(&w, &c.to_ascii_lowercase()), *c))
        .filter(|(d, c)| *d <= 2 || (w.len() >= 4 && c.to_ascii_lowercase().contains(&w)))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(not(target_arch = "wasm32"))]
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(not(target_arch = "wasm32"))]
/// A value given as a quoted string that would be right without the quotes.
fn unquote_hint(expected: &str, got: &str) -> Option<String> {
    let inner = got.strip_prefix("the string \"")?.strip_suffix('"')?;
    let fits = match expected {
        e if e.starts_with("a boolean") => inner == "true" || inner == "false",
        e if e.starts_with("a whole number") => inner.parse::<u64>().is_ok(),
        e if e.starts_with("an integer") => inner.parse::<i64>().is_ok(),
        _ => false,
    };
    fits.then(|| format!(" (write {inner} without quotes)"))
}

impl fmt::Display for ShapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.path.is_empty() {
            write!(f, "field `{}`: ", self.path)?;
        }
        match &self.problem {
            ShapeProblem::UnknownField {
                field,
                expected,
                suggestion,
            } => match suggestion {
                Some(c) => write!(f, "unknown field `{field}`; did you mean `{c}`?"),
                None if expected.is_empty() => write!(f, "unknown field `{field}`"),
                None => write!(
                    f,
                    "unknown field `{field}`, expected one of `{}`",
                    expected.join("`, `")
                ),
            },
            ShapeProblem::MissingField { field } => write!(f, "missing field `{field}`"),
            ShapeProblem::WrongType {
                expected,
                got,
                hint,
            } => write!(f, "expected {expected}, got {got}{hint}"),
            ShapeProblem::Other(m) => f.write_str(m),
        }
    }
}
